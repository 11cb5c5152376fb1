"""Orders: the same services as the seller API, behind forms."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from dashboard.access import seller_required
from dashboard.orders.forms import CancelForm, OrderFilterForm, ReplyForm, ShipForm
from marketplace import selectors, services
from marketplace.choices import CancelledBy

PAGE_SIZE = 25


@seller_required
def order_list(request: HttpRequest) -> HttpResponse:
    filters = OrderFilterForm(request.GET or None)
    status = filters.cleaned_data["status"] if filters.is_valid() else None
    orders = selectors.seller_orders(request.seller, status=status or None)  # type: ignore[attr-defined]
    page = Paginator(orders.select_related("buyer"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "dashboard/orders/list.html", {"page": page, "filters": filters})


def _detail(request: HttpRequest, order_id: int, **forms: object) -> HttpResponse:
    order = selectors.seller_order(request.seller, order_id)  # type: ignore[attr-defined]
    if order is None:
        raise Http404
    context = {
        "order": order,
        "ship_form": forms.get("ship_form") or ShipForm(),
        "cancel_form": forms.get("cancel_form") or CancelForm(),
        "reply_form": forms.get("reply_form") or ReplyForm(),
    }
    status = 400 if forms else 200
    return render(request, "dashboard/orders/detail.html", context, status=status)


@seller_required
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    return _detail(request, order_id)


@seller_required
@require_POST
def order_ship(request: HttpRequest, order_id: int) -> HttpResponse:
    form = ShipForm(request.POST)
    if form.is_valid():
        try:
            services.order_ship(request.seller, order_id=order_id, **form.cleaned_data)  # type: ignore[attr-defined]
        except DomainError as error:
            if error.status == 404:
                raise Http404 from error
            form.add_error(None, error.detail)
            for field, problems in error.fields.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        else:
            messages.success(request, _("Order %(id)s is marked as shipped.") % {"id": order_id})
            return redirect("dashboard:order", order_id=order_id)
    return _detail(request, order_id, ship_form=form)


@seller_required
@require_POST
def order_cancel(request: HttpRequest, order_id: int) -> HttpResponse:
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            services.order_cancel(
                order_id,
                by=CancelledBy.SELLER,
                actor=request.user,  # type: ignore[arg-type]
                reason=form.cleaned_data["reason"],
            )
        except DomainError as error:
            if error.status == 404:
                raise Http404 from error
            form.add_error(None, error.detail)
        else:
            messages.success(request, _("Order %(id)s is cancelled.") % {"id": order_id})
            return redirect("dashboard:order", order_id=order_id)
    return _detail(request, order_id, cancel_form=form)


@seller_required
@require_POST
def message_reply(request: HttpRequest, order_id: int) -> HttpResponse:
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            services.message_reply(
                request.seller,  # type: ignore[attr-defined]
                message_id=form.cleaned_data["message_id"],
                body=form.cleaned_data["body"],
            )
        except DomainError as error:
            if error.status == 404:
                raise Http404 from error
            form.add_error(None, error.detail)
        else:
            messages.success(request, _("Your reply was sent."))
            return redirect("dashboard:order", order_id=order_id)
    return _detail(request, order_id, reply_form=form)
