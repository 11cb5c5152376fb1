from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from marketplace.models import Offer


class OfferForm(forms.Form):
    """One row of the offers table. Its inputs sit in table cells and name their form by id."""

    # The service checks the business bounds; the form only turns text into numbers.
    price = forms.DecimalField(
        label=_("Price"),
        max_digits=12,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01"}),
    )
    stock = forms.IntegerField(
        label=_("Stock"), max_value=1_000_000, widget=forms.NumberInput(attrs={"min": "0"})
    )
    is_active = forms.BooleanField(label=_("Active"), required=False)

    def __init__(self, *args: Any, offer_id: int, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", False)  # one table holds many of these forms: no duplicate ids
        super().__init__(*args, **kwargs)
        self.html_id = f"offer-{offer_id}"
        for field in self.fields.values():
            field.widget.attrs.update({"form": self.html_id, "aria-label": field.label})

    @classmethod
    def for_offer(cls, offer: Offer) -> OfferForm:
        initial = {"price": offer.price, "stock": offer.stock, "is_active": offer.is_active}
        return cls(initial=initial, offer_id=offer.pk)
