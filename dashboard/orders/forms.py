from __future__ import annotations

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from marketplace.choices import OrderStatus
from marketplace.validation import CARRIERS, OTHER_CARRIER

CARRIER_NAMES = {
    "dhl": "DHL",
    "dpd": "DPD",
    "fedex": "FedEx",
    "gls": "GLS",
    "hermes": "Hermes",
    "royalmail": "Royal Mail",
    "ups": "UPS",
    "usps": "USPS",
}


def carrier_choices() -> list[tuple[str, str | Promise]]:
    return [
        (
            code,
            _("Other carrier") if code == OTHER_CARRIER else CARRIER_NAMES.get(code, code.upper()),
        )
        for code in CARRIERS
    ]


class ShipForm(forms.Form):
    carrier = forms.ChoiceField(label=_("Carrier"), choices=carrier_choices)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=60)


class CancelForm(forms.Form):
    # A seller's cancellation counts against their rating: the reason is kept on the order and in
    # its event, for support and for a later appeal.
    reason = forms.CharField(label=_("Reason"), max_length=300)


class ReplyForm(forms.Form):
    message_id = forms.IntegerField(widget=forms.HiddenInput)
    body = forms.CharField(
        label=_("Reply"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )


class OrderFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *OrderStatus.choices]
    )
    overdue = forms.BooleanField(label=_("Past their ship-by date"), required=False)
    awaiting_reply = forms.BooleanField(label=_("Awaiting a reply"), required=False)
