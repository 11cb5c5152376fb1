"""Offers: price, stock and whether an offer is on sale, through the seller API's service."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from dashboard.access import seller_required
from dashboard.constants import OFFERS_PAGE_SIZE
from dashboard.forms import add_domain_error
from dashboard.offers.forms import OfferForm
from marketplace import selectors, services


def _list(
    request: HttpRequest, *, failed: OfferForm | None = None, status: int = 200
) -> HttpResponse:
    """The offers table; after a refused save, that row keeps the seller's input and its errors."""
    offers = selectors.seller_offers(request.seller)  # type: ignore[attr-defined]
    page = Paginator(offers, OFFERS_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        (
            offer,
            failed
            if failed and failed.html_id == f"offer-{offer.pk}"
            else OfferForm.for_offer(offer),
        )
        for offer in page
    ]
    return render(
        request, "dashboard/offers/list.html", {"page": page, "rows": rows}, status=status
    )


@seller_required
def offer_list(request: HttpRequest) -> HttpResponse:
    return _list(request)


@seller_required
@require_POST
def offer_update(request: HttpRequest, offer_id: int) -> HttpResponse:
    form = OfferForm(request.POST, offer_id=offer_id)
    if not form.is_valid():
        return _list(request, failed=form, status=400)
    try:
        services.offer_update(request.seller, offer_id=offer_id, **form.cleaned_data)  # type: ignore[attr-defined]
    except DomainError as error:
        status = add_domain_error(form, error)
        return _list(request, failed=form, status=status)
    messages.success(request, _("Offer %(id)s is saved.") % {"id": offer_id})
    # Back to the page the seller was editing, not to the first one.
    page = request.GET.get("page", "")
    url = reverse("dashboard:offers")
    return redirect(f"{url}?page={page}" if page.isdigit() else url)
