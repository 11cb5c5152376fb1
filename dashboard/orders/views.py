"""Orders: the same services as the seller API, behind forms."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core import clock
from core.errors import DomainError
from dashboard.access import seller_required
from dashboard.constants import ORDERS_PAGE_SIZE
from dashboard.forms import add_domain_error
from dashboard.orders import selectors as dashboard_selectors
from dashboard.orders.forms import CancelForm, OrderFilterForm, ReplyForm, ShipForm
from marketplace import selectors, services
from marketplace.choices import CancelledBy


@seller_required
def order_list(request: HttpRequest) -> HttpResponse:
    filters = OrderFilterForm(request.GET)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    today = timezone.localdate(clock.now())
    orders = dashboard_selectors.order_list(
        request.seller,  # type: ignore[attr-defined]
        today=today,
        status=chosen.get("status") or None,
        is_overdue=chosen.get("overdue", False),
        is_awaiting_reply=chosen.get("awaiting_reply", False),
    )
    page = Paginator(orders, ORDERS_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"page": page, "filters": filters, "query": query.urlencode(), "today": today}
    return render(request, "dashboard/orders/list.html", context)


def _detail(
    request: HttpRequest,
    order_id: int,
    *,
    failed: forms.Form | None = None,
    status: int = 200,
) -> HttpResponse:
    """The order page; after a refused form, that form again with its errors and input."""
    order = selectors.seller_order(request.seller, order_id)  # type: ignore[attr-defined]
    if order is None:
        raise Http404
    context = {
        "order": order,
        "ship_form": failed if isinstance(failed, ShipForm) else ShipForm(),
        "cancel_form": failed if isinstance(failed, CancelForm) else CancelForm(),
        "reply_form": failed if isinstance(failed, ReplyForm) else None,
        "failed_reply_id": (
            failed.cleaned_data.get("message_id") if isinstance(failed, ReplyForm) else None
        ),
        # Refusals that belong to no field go on top of the page: the form that caused them may
        # no longer be shown (an order shipped in another tab has no ship form any more).
        "page_errors": list(failed.non_field_errors()) if failed is not None else [],
    }
    return render(request, "dashboard/orders/detail.html", context, status=status)


@seller_required
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    return _detail(request, order_id)


@seller_required
@require_POST
def order_ship(request: HttpRequest, order_id: int) -> HttpResponse:
    form = ShipForm(request.POST)
    if not form.is_valid():
        return _detail(request, order_id, failed=form, status=400)
    try:
        services.order_ship(request.seller, order_id=order_id, **form.cleaned_data)  # type: ignore[attr-defined]
    except DomainError as error:
        return _detail(request, order_id, failed=form, status=add_domain_error(form, error))
    messages.success(request, _("Order %(id)s is marked as shipped.") % {"id": order_id})
    return redirect("dashboard:order", order_id=order_id)


@seller_required
@require_POST
def order_cancel(request: HttpRequest, order_id: int) -> HttpResponse:
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _detail(request, order_id, failed=form, status=400)
    try:
        services.order_cancel(
            order_id,
            by=CancelledBy.SELLER,
            actor=request.user,  # type: ignore[arg-type]
            reason=form.cleaned_data["reason"],
        )
    except DomainError as error:
        return _detail(request, order_id, failed=form, status=add_domain_error(form, error))
    messages.success(request, _("Order %(id)s is cancelled.") % {"id": order_id})
    return redirect("dashboard:order", order_id=order_id)


@seller_required
@require_POST
def message_reply(request: HttpRequest, order_id: int) -> HttpResponse:
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return _detail(request, order_id, failed=form, status=400)
    try:
        message = services.message_reply(
            request.seller,  # type: ignore[attr-defined]
            message_id=form.cleaned_data["message_id"],
            body=form.cleaned_data["body"],
        )
    except DomainError as error:
        return _detail(request, order_id, failed=form, status=add_domain_error(form, error))
    messages.success(request, _("Your reply was sent."))
    # The message's own order, not the address's: the service checked the message, not the URL.
    return redirect("dashboard:order", order_id=message.order_id)
