from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import clock
from core.errors import DomainError
from marketplace.models import Offer, User
from promotions import discounts, selectors, services
from promotions.api import serializers as s
from promotions.choices import DiscountType
from promotions.models import CouponHolder

Cart = list[tuple[Offer, int]]


def _customer(request: Request) -> User:
    """The signed-in account; IsAuthenticated (the default) guarantees there is one."""
    return cast(User, request.user)


def _cart(lines: list[tuple[int, int]]) -> Cart:
    # Only what the coupon rules read: the select costs a third less to build and load.
    offers = (
        Offer.objects.select_related("product__category")
        .only("price", "currency", "product__category__path")
        .in_bulk([offer for offer, _ in lines])
    )
    missing = [offer_id for offer_id, _ in lines if offer_id not in offers]
    if missing:
        raise DomainError(
            _("No such offer."), code="offer_not_found", status=404, extra={"offer_id": missing[0]}
        )
    return [(offers[offer_id], quantity) for offer_id, quantity in lines]


class ValidateView(APIView):
    @extend_schema(
        request=s.ValidateInput,
        responses={200: s.ValidateOutput},
        tags=["coupons"],
        description="Checks a code for the signed-in customer and a cart. Error codes: "
        "coupon_invalid, coupon_not_started, coupon_expired, coupon_used_up, "
        "coupon_min_order_not_met (with `missing`), coupon_category_not_eligible, "
        "coupon_budget_exhausted, campaign_paused.",
    )
    def post(self, request: Request) -> Response:
        data = s.ValidateInput(data=request.data)
        data.is_valid(raise_exception=True)
        cart = _cart(
            [(line["offer_id"], line["quantity"]) for line in data.validated_data["lines"]]
        )
        quote = services.coupon_quote(
            _customer(request), code=data.validated_data["code"], lines=cart
        )
        return Response(
            s.ValidateOutput(
                {
                    "code": quote.code,
                    "discount": {"amount": str(quote.discount), "currency": quote.currency},
                    "lines": [
                        {
                            "offer_id": offer_id,
                            "discount": {"amount": str(amount), "currency": quote.currency},
                        }
                        for offer_id, amount in sorted(quote.line_discounts.items())
                    ],
                }
            ).data
        )


def _hint(error: DomainError) -> str:
    """What the customer can do about it, in their language."""
    if error.code == "coupon_min_order_not_met":
        missing = error.extra["missing"]
        return _("Add %(amount)s %(currency)s to use this code.") % missing
    if error.code == "coupon_category_not_eligible":
        return _("No eligible product in the cart.")
    return error.detail


def _parse_cart(raw: list[str]) -> list[tuple[int, int]]:
    lines = []
    for item in raw[:50]:
        offer, _separator, quantity = item.partition(":")
        if not offer.isdigit() or not (quantity or "1").isdigit():
            raise DomainError(
                _("Cart lines are offer_id:quantity."),
                code="validation_error",
                fields={"cart": [_("Use offer_id:quantity, e.g. 12:1.")]},
            )
        lines.append((int(offer), max(1, min(100, int(quantity or 1)))))
    return lines


@extend_schema(
    parameters=[
        OpenApiParameter(
            "cart",
            OpenApiTypes.STR,
            many=True,
            description="offer_id:quantity, repeatable: whether each code applies to this cart.",
        )
    ],
    tags=["coupons"],
)
class WalletView(ListAPIView):
    serializer_class = s.WalletEntryOutput
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[CouponHolder]:
        return selectors.wallet(_customer(self.request))

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        cart_lines = _parse_cart(request.query_params.getlist("cart"))
        cart = _cart(cart_lines) if cart_lines else None
        now = clock.now()
        page = self.paginate_queryset(self.get_queryset())  # one query, whatever the page size
        entries = [self._entry(holder, cart, now) for holder in page or []]
        return self.get_paginated_response(s.WalletEntryOutput(entries, many=True).data)

    def _entry(self, holder: CouponHolder, cart: Cart | None, now: datetime) -> dict[str, Any]:
        coupon, campaign = holder.coupon, holder.coupon.campaign
        applies, error_code, cart_discount, hint = None, None, None, None
        if cart is not None:
            # The same rules as checkout, without the attempt limit: these are the customer's own
            # codes, and looking at them is not guessing.
            try:
                quote = discounts.coupon_evaluate(
                    holder,
                    cart,
                    category_paths=holder.category_paths,  # type: ignore[attr-defined]  # annotated
                    now=now,
                )
                applies = True
                cart_discount = {"amount": str(quote.discount), "currency": quote.currency}
            except DomainError as error:
                applies, error_code, hint = False, error.code, _hint(error)
        discount = (
            f"{campaign.percent.normalize()} %"
            if campaign.discount_type == DiscountType.PERCENT and campaign.percent is not None
            else f"{campaign.fixed_amount} {campaign.currency}"
        )
        return {
            "code": coupon.display_code,
            "campaign": campaign.name,
            "kind": campaign.kind,
            "state": discounts.coupon_state(holder, now=now),
            "uses_left": max(0, holder.max_uses - holder.uses),
            "starts_at": campaign.starts_at,
            "expires_at": campaign.ends_at,
            "discount": discount,
            "min_order_value": {
                "amount": str(campaign.min_order_value),
                "currency": campaign.currency,
            },
            "applies_to_cart": applies,
            "cart_error_code": error_code,
            "cart_discount": cart_discount,
            "cart_hint": hint,
        }
