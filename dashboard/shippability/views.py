"""Shippability for sellers: check an address against an offer, see incidents and coverage."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from dashboard.access import seller_required
from fulfillment import selectors as fulfillment
from fulfillment import services
from marketplace import selectors as marketplace
from marketplace.models import Address
from marketplace.validation import SUPPORTED_COUNTRIES


class CheckForm(forms.Form):
    offer = forms.TypedChoiceField(label=_("Offer"), coerce=int)
    country = forms.ChoiceField(
        label=_("Country"), choices=[(c, c) for c in sorted(SUPPORTED_COUNTRIES)]
    )
    postal_code = forms.CharField(label=_("Postal code"), max_length=16)
    is_po_box = forms.BooleanField(label=_("PO box"), required=False)

    def __init__(self, *args: Any, offers: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offer_field: forms.TypedChoiceField = self.fields["offer"]  # type: ignore[assignment]
        offer_field.choices = [(offer.pk, offer.product.title) for offer in offers]


@seller_required
def shippability_page(request: HttpRequest) -> HttpResponse:
    seller = request.seller  # type: ignore[attr-defined]
    offers = list(marketplace.seller_offers(seller).select_related("seller", "product__category"))
    form = CheckForm(request.GET or None, offers=offers)
    decision = None
    if form.is_valid():
        offer = next(o for o in offers if o.pk == form.cleaned_data["offer"])
        # Any address, not a saved one: only what the decision reads.
        probe = Address(
            country=form.cleaned_data["country"],
            postal_code=form.cleaned_data["postal_code"].strip(),
            is_po_box=form.cleaned_data["is_po_box"],
        )
        decision = services.shippability(offer, probe)
    context = {
        "form": form,
        "decision": decision,
        "incidents": fulfillment.seller_incidents(seller),
        "coverage": fulfillment.seller_coverage(seller),
    }
    return render(request, "dashboard/shippability/page.html", context)


@require_POST
@seller_required
def coverage_check(request: HttpRequest) -> HttpResponse:
    seller = request.seller  # type: ignore[attr-defined]
    services.coverage_check_request(seller, trigger=f"requested by seller {seller.pk}")
    messages.success(
        request, _("The coverage check has started; the table fills in within a few minutes.")
    )
    return redirect("dashboard:shippability")
