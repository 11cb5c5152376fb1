from __future__ import annotations

from rest_framework import serializers

from checkout.services import MAX_LINES, MAX_QUANTITY
from core.api.serializers import MoneyOutput, StrictInput


class CartLineInput(StrictInput):
    offer_id = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)


class CheckoutInput(StrictInput):
    address_id = serializers.IntegerField(min_value=1)
    lines = CartLineInput(many=True, allow_empty=False, max_length=MAX_LINES)
    coupon_code = serializers.CharField(max_length=64, required=False, allow_blank=True)


class StaffOrderInput(StrictInput):
    buyer_id = serializers.IntegerField(min_value=1)
    address_id = serializers.IntegerField(min_value=1)
    lines = CartLineInput(many=True, allow_empty=False, max_length=MAX_LINES)
    override_reason = serializers.CharField(max_length=2000)


class CartInput(StrictInput):
    address_id = serializers.IntegerField(min_value=1)
    lines = CartLineInput(many=True, allow_empty=False, max_length=MAX_LINES)
    coupon_code = serializers.CharField(max_length=64, required=False, allow_blank=True)


class PlacedOrderOutput(serializers.Serializer):
    id = serializers.IntegerField()
    seller_id = serializers.IntegerField()
    status = serializers.CharField()
    subtotal = MoneyOutput()
    discount_total = MoneyOutput()
    total = MoneyOutput()
    ship_by = serializers.DateField()
    promised_delivery_earliest = serializers.DateField(allow_null=True)
    promised_delivery_latest = serializers.DateField(allow_null=True)


class CheckoutOutput(serializers.Serializer):
    checkout_reference = serializers.UUIDField()
    orders = PlacedOrderOutput(many=True)


class PromisedWindowOutput(serializers.Serializer):
    earliest = serializers.DateField()
    latest = serializers.DateField()


class OfferShippabilityOutput(serializers.Serializer):
    shippable = serializers.BooleanField()
    fulfilled_by = serializers.CharField()
    reason_code = serializers.CharField()
    message = serializers.CharField()
    ships_from = serializers.CharField(allow_null=True)
    delivery_window = PromisedWindowOutput(allow_null=True)


class MyDropRequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()
    state_label = serializers.CharField()
    requested_at = serializers.DateTimeField()
    invitation_expires_at = serializers.DateTimeField(allow_null=True)
    reason_category = serializers.CharField(allow_null=True)
    screened_out_reason = serializers.CharField(allow_null=True)
    appeal_url = serializers.CharField(allow_null=True)
    appeal_status = serializers.CharField(allow_null=True)


class InvitationBlockOutput(serializers.Serializer):
    drop_id = serializers.IntegerField()
    status = serializers.CharField()
    available_by_invitation = serializers.BooleanField()
    is_high_demand = serializers.BooleanField()
    notice = serializers.CharField()
    notices = serializers.ListField(child=serializers.CharField())
    request_opens_at = serializers.DateTimeField()
    request_closes_at = serializers.DateTimeField()
    is_open = serializers.BooleanField()
    eligible_countries = serializers.ListField(child=serializers.CharField())
    purchase_window_hours = serializers.IntegerField()
    can_request = serializers.BooleanField()
    my_request = MyDropRequestOutput(allow_null=True)


class ProductOfferOutput(serializers.Serializer):
    id = serializers.IntegerField()
    seller_id = serializers.IntegerField()
    seller_name = serializers.CharField()
    price = MoneyOutput()
    in_stock = serializers.BooleanField()
    fulfilment_channel = serializers.CharField()
    handling_days = serializers.IntegerField()
    requires_invitation = serializers.BooleanField()
    shippability = OfferShippabilityOutput(
        allow_null=True, help_text="For the signed-in shopper's default address; null otherwise."
    )
    invitation = InvitationBlockOutput(
        allow_null=True, help_text="For offers sold by invitation only (drops)."
    )


class ProductCategoryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    path = serializers.CharField()


class ProductPageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    brand = serializers.CharField()
    category = ProductCategoryOutput()
    is_hazardous = serializers.BooleanField()
    offers = ProductOfferOutput(many=True)


class CartLineOutput(serializers.Serializer):
    offer_id = serializers.IntegerField()
    product_title = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = MoneyOutput()
    line_total = MoneyOutput()
    discount = MoneyOutput()
    in_stock = serializers.BooleanField()
    requires_invitation = serializers.BooleanField()
    problems = serializers.ListField(child=serializers.CharField())
    shippability = OfferShippabilityOutput()


class CartCouponOutput(serializers.Serializer):
    code = serializers.CharField()
    applies = serializers.BooleanField()
    error_code = serializers.CharField(allow_null=True)
    detail = serializers.CharField(allow_null=True)
    discount = MoneyOutput(allow_null=True)


class CartOutput(serializers.Serializer):
    address_id = serializers.IntegerField()
    lines = CartLineOutput(many=True)
    coupon = CartCouponOutput(allow_null=True)
    totals = MoneyOutput(many=True)
    is_purchasable = serializers.BooleanField()
    quoted_at = serializers.DateTimeField()
