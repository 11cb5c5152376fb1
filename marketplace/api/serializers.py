from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from core.api.serializers import StrictInput
from core.money import quantize
from marketplace.choices import CancelledBy
from marketplace.models import Address, BuyerMessage, Category, Offer, Order, OrderLine, Product
from marketplace.validation import CARRIERS


class MoneySerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)
    currency = serializers.CharField()


def money(amount: Any, currency: str) -> dict[str, str]:
    return {"amount": str(quantize(amount, currency)), "currency": currency}


# --- Accounts -------------------------------------------------------------------------------------


class RegisterInput(StrictInput):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(min_length=10, max_length=128, write_only=True)
    full_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    language = serializers.ChoiceField(
        choices=[code for code, _name in settings.LANGUAGES], required=False, default="en"
    )


class LoginInput(StrictInput):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True)


class TokenOutput(serializers.Serializer):
    token = serializers.CharField()
    user_id = serializers.IntegerField()
    email = serializers.EmailField()
    is_seller = serializers.BooleanField()


class MeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    language = serializers.CharField()
    date_joined = serializers.DateTimeField()
    is_seller = serializers.BooleanField()


# --- Catalogue ------------------------------------------------------------------------------------


class CategoryOutput(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "slug", "path", "parent"]


class ProductListOutput(serializers.ModelSerializer):
    category = serializers.CharField(source="category.path")

    class Meta:
        model = Product
        fields = ["id", "title", "brand", "category", "is_hazardous"]


class OfferOutput(serializers.Serializer):
    id = serializers.IntegerField()
    seller_id = serializers.IntegerField()
    seller_name = serializers.CharField(source="seller.display_name")
    price = serializers.SerializerMethodField()
    in_stock = serializers.SerializerMethodField()
    fulfilment_channel = serializers.CharField()
    handling_days = serializers.IntegerField()
    requires_invitation = serializers.BooleanField()

    def get_price(self, offer: Offer) -> dict[str, str]:
        return money(offer.price, offer.currency)

    def get_in_stock(self, offer: Offer) -> bool:
        return offer.stock > 0


# --- Addresses ------------------------------------------------------------------------------------


class AddressInput(StrictInput):
    name = serializers.CharField(max_length=150)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=16)
    country = serializers.CharField(min_length=2, max_length=2)
    is_po_box = serializers.BooleanField(required=False)
    is_default = serializers.BooleanField(required=False)


class AddressPatchInput(AddressInput):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class AddressOutput(serializers.ModelSerializer):
    class Meta:
        model = Address
        fields = [
            "id",
            "name",
            "line1",
            "line2",
            "city",
            "region",
            "postal_code",
            "country",
            "is_po_box",
            "is_default",
            "created_at",
        ]


# --- Orders ---------------------------------------------------------------------------------------


class OrderLineOutput(serializers.ModelSerializer):
    unit_price = serializers.SerializerMethodField()
    line_total = serializers.SerializerMethodField()
    discount = serializers.SerializerMethodField()

    class Meta:
        model = OrderLine
        fields = ["offer_id", "product_title", "quantity", "unit_price", "discount", "line_total"]

    def get_unit_price(self, line: OrderLine) -> dict[str, str]:
        return money(line.unit_price, line.order.currency)

    def get_line_total(self, line: OrderLine) -> dict[str, str]:
        return money(line.line_total, line.order.currency)

    def get_discount(self, line: OrderLine) -> dict[str, str]:
        return money(line.discount, line.order.currency)


class MessageOutput(serializers.ModelSerializer):
    class Meta:
        model = BuyerMessage
        fields = ["id", "body", "sent_at", "reply_body", "replied_at"]


class OrderOutput(serializers.ModelSerializer):
    seller_name = serializers.CharField(source="seller.display_name")
    subtotal = serializers.SerializerMethodField()
    discount_total = serializers.SerializerMethodField()
    total = serializers.SerializerMethodField()
    lines = OrderLineOutput(many=True)
    messages = MessageOutput(many=True)
    shipping_address = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "checkout_reference",
            "status",
            "seller_id",
            "seller_name",
            "subtotal",
            "discount_total",
            "total",
            "placed_at",
            "ship_by",
            "promised_delivery_earliest",
            "promised_delivery_latest",
            "fulfilment_channel",
            "shipped_at",
            "carrier",
            "tracking_number",
            "delivered_at",
            "cancelled_at",
            "cancelled_by",
            "lines",
            "messages",
            "shipping_address",
        ]

    def get_subtotal(self, order: Order) -> dict[str, str]:
        return money(order.subtotal, order.currency)

    def get_discount_total(self, order: Order) -> dict[str, str]:
        return money(order.discount_total, order.currency)

    def get_total(self, order: Order) -> dict[str, str]:
        return money(order.total, order.currency)

    def get_shipping_address(self, order: Order) -> dict[str, str]:
        return {
            "name": order.ship_name,
            "line1": order.ship_line1,
            "line2": order.ship_line2,
            "city": order.ship_city,
            "region": order.ship_region,
            "postal_code": order.ship_postal_code,
            "country": order.ship_country,
        }


class MessageInput(StrictInput):
    body = serializers.CharField(max_length=4000)


class FeedbackInput(StrictInput):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class FeedbackOutput(serializers.Serializer):
    order_id = serializers.IntegerField()
    rating = serializers.IntegerField()
    comment = serializers.CharField()
    left_at = serializers.DateTimeField()


class ClaimInput(StrictInput):
    reason = serializers.CharField(max_length=2000)


class ClaimOutput(serializers.Serializer):
    order_id = serializers.IntegerField()
    status = serializers.CharField()
    filed_at = serializers.DateTimeField()


# --- Seller ---------------------------------------------------------------------------------------


class SellerOfferOutput(serializers.ModelSerializer):
    product_title = serializers.CharField(source="product.title")
    price = serializers.SerializerMethodField()

    class Meta:
        model = Offer
        fields = [
            "id",
            "product_id",
            "product_title",
            "price",
            "stock",
            "fulfilment_channel",
            "handling_days",
            "requires_invitation",
            "is_active",
            "updated_at",
        ]

    def get_price(self, offer: Offer) -> dict[str, str]:
        return money(offer.price, offer.currency)


class SellerOfferPatchInput(StrictInput):
    price = serializers.DecimalField(max_digits=12, decimal_places=2, required=False)
    stock = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000)
    is_active = serializers.BooleanField(required=False)
    handling_days = serializers.IntegerField(required=False, min_value=0, max_value=30)


class ShipInput(StrictInput):
    carrier = serializers.ChoiceField(choices=CARRIERS)
    tracking_number = serializers.CharField(max_length=60)


class CancelInput(StrictInput):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ReplyInput(StrictInput):
    body = serializers.CharField(max_length=4000)


CANCELLERS = CancelledBy.values
