from __future__ import annotations

from rest_framework import serializers

from core.api.serializers import MoneyOutput, StrictInput


class LineInput(StrictInput):
    offer_id = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1, max_value=100)


class ValidateInput(StrictInput):
    code = serializers.CharField(max_length=64)
    # many=True hands max_length to the ListSerializer, which the stubs do not know.
    lines = LineInput(many=True, allow_empty=False, max_length=50)  # type: ignore[call-arg]


class LineDiscountOutput(serializers.Serializer):
    offer_id = serializers.IntegerField()
    discount = MoneyOutput()


class ValidateOutput(serializers.Serializer):
    code = serializers.CharField()
    discount = MoneyOutput()
    lines = LineDiscountOutput(many=True)


class WalletEntryOutput(serializers.Serializer):
    code = serializers.CharField()
    campaign = serializers.CharField()
    kind = serializers.CharField()
    state = serializers.CharField()
    uses_left = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    discount = serializers.CharField(help_text="e.g. '10 %' or '5.00 EUR'")
    min_order_value = MoneyOutput()
    applies_to_cart = serializers.BooleanField(allow_null=True)
    cart_error_code = serializers.CharField(allow_null=True)
    cart_discount = MoneyOutput(allow_null=True)
    cart_hint = serializers.CharField(allow_null=True)
