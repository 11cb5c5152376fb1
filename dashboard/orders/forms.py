from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from marketplace.choices import OrderStatus
from marketplace.validation import CARRIERS


class ShipForm(forms.Form):
    carrier = forms.ChoiceField(label=_("Carrier"), choices=[(c, c.upper()) for c in CARRIERS])
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=60)


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


class ReplyForm(forms.Form):
    message_id = forms.IntegerField(widget=forms.HiddenInput)
    body = forms.CharField(
        label=_("Reply"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )


class OrderFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *OrderStatus.choices]
    )
