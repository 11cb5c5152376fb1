from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from core.errors import DomainError
from dashboard.access import seller_required
from marketplace import selectors, services

PAGE_SIZE = 50


class OfferForm(forms.Form):
    price = forms.DecimalField(label=_lazy("Price"), max_digits=12, decimal_places=2, min_value=0)
    stock = forms.IntegerField(label=_lazy("Stock"), min_value=0, max_value=1_000_000)
    is_active = forms.BooleanField(label=_lazy("Active"), required=False)


@seller_required
def offer_list(request: HttpRequest) -> HttpResponse:
    offers = selectors.seller_offers(request.seller)  # type: ignore[attr-defined]
    page = Paginator(offers, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "dashboard/offers/list.html", {"page": page})


@seller_required
@require_POST
def offer_update(request: HttpRequest, offer_id: int) -> HttpResponse:
    form = OfferForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("Offer %(id)s was not changed: check the values.") % {"id": offer_id}
        )
        return redirect("dashboard:offers")
    try:
        services.offer_update(request.seller, offer_id=offer_id, **form.cleaned_data)  # type: ignore[attr-defined]
    except DomainError as error:
        if error.status == 404:
            raise Http404 from error
        messages.error(request, error.detail)
    else:
        messages.success(request, _("Offer %(id)s is saved.") % {"id": offer_id})
    return redirect("dashboard:offers")
