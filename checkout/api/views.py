from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from checkout import cart, services, storefront
from checkout.api import serializers as s
from core.api.permissions import IsStaffWithPermission
from core.errors import NotFound
from core.idempotency import complete_in_transaction, idempotent
from core.money import quantize
from fulfillment.services import OverrideRequest
from marketplace.models import Order, User

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="Unique per user and purchase; a retry with the same key replays the first answer.",
)


def _money(amount: Any, currency: str) -> dict[str, str]:
    return {"amount": str(quantize(amount, currency)), "currency": currency}


def _placed(order: Order) -> dict[str, Any]:
    return {
        "id": order.pk,
        "seller_id": order.seller_id,
        "status": order.status,
        "subtotal": _money(order.subtotal, order.currency),
        "discount_total": _money(order.discount_total, order.currency),
        "total": _money(order.total, order.currency),
        "ship_by": order.ship_by,
        "promised_delivery_earliest": order.promised_delivery_earliest,
        "promised_delivery_latest": order.promised_delivery_latest,
    }


def _answer(result: services.CheckoutResult) -> dict[str, Any]:
    body = {
        "checkout_reference": result.checkout_reference,
        "orders": [_placed(order) for order in result.orders],
    }
    return dict(s.CheckoutOutput(body).data)


class CheckoutView(APIView):
    @extend_schema(
        request=s.CheckoutInput,
        responses={201: s.CheckoutOutput},
        parameters=[IDEMPOTENCY_HEADER],
        tags=["checkout"],
        description="Places one order per seller. Error codes: cart_invalid, address_not_found, "
        "offer_not_found, offer_inactive, seller_not_active, invitation_required, out_of_stock, "
        "and the coupon codes coupon_invalid, coupon_not_started, coupon_expired, coupon_used_up, "
        "coupon_min_order_not_met, coupon_category_not_eligible, coupon_budget_exhausted, "
        "campaign_paused.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = s.CheckoutInput(data=request.data)
        data.is_valid(raise_exception=True)

        result = services.checkout_place(
            request.user,
            lines=[
                services.CartLine(line["offer_id"], line["quantity"])
                for line in data.validated_data["lines"]
            ],
            address_id=data.validated_data["address_id"],
            coupon_code=data.validated_data.get("coupon_code") or None,
            in_transaction=lambda placed: complete_in_transaction(
                request, status.HTTP_201_CREATED, _answer(placed)
            ),
        )
        return Response(_answer(result), status=status.HTTP_201_CREATED)


class StaffOrderView(APIView):
    """Staff only: place a shopper's order that shippability refuses, while a confirmed incident
    explains the refusal. The reason is required and audited with the order."""

    permission_classes = [IsStaffWithPermission]
    # Placing an order in a shopper's name is adding an order, whoever's cart it is.
    staff_permission = "marketplace.add_order"

    @extend_schema(
        request=s.StaffOrderInput,
        responses={201: s.CheckoutOutput},
        parameters=[IDEMPOTENCY_HEADER],
        tags=["staff"],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = s.StaffOrderInput(data=request.data)
        data.is_valid(raise_exception=True)
        buyer = User.objects.filter(pk=data.validated_data["buyer_id"], is_active=True).first()
        if buyer is None:
            raise NotFound(code="buyer_not_found")
        result = services.checkout_place(
            buyer,
            lines=[
                services.CartLine(line["offer_id"], line["quantity"])
                for line in data.validated_data["lines"]
            ],
            address_id=data.validated_data["address_id"],
            override=OverrideRequest(
                actor=request.user, reason=data.validated_data["override_reason"]
            ),
            # The answer commits with the orders: a retry after a crash replays, never re-places.
            in_transaction=lambda placed: complete_in_transaction(
                request, status.HTTP_201_CREATED, _answer(placed)
            ),
        )
        return Response(_answer(result), status=status.HTTP_201_CREATED)


class CartQuoteView(APIView):
    @extend_schema(request=s.CartInput, responses={200: s.CartOutput}, tags=["checkout"])
    def post(self, request: Request) -> Response:
        data = s.CartInput(data=request.data)
        data.is_valid(raise_exception=True)
        quote = cart.cart_quote(
            request.user,
            lines=[
                services.CartLine(line["offer_id"], line["quantity"])
                for line in data.validated_data["lines"]
            ],
            address_id=data.validated_data["address_id"],
            coupon_code=data.validated_data.get("coupon_code") or None,
        )
        return Response(s.CartOutput(quote).data)


class ProductDetailView(APIView):
    """Public on purpose: product pages are browsed before signing in."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: s.ProductPageOutput}, tags=["catalogue"])
    def get(self, request: Request, product_id: int) -> Response:
        user = request.user if request.user.is_authenticated else None
        page = storefront.product_page(product_id, user=user)
        if page is None:
            raise NotFound(code="product_not_found")
        # Already JSON-shaped by the storefront; ProductPageOutput documents it. Skipping DRF's
        # nested serializers keeps the hottest page of the shop cheap.
        return Response(page)
