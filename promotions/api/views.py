from __future__ import annotations

import json
from datetime import datetime
from typing import Any, cast

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from core import clock
from core.api.lean import LeanTokenPost
from core.errors import DomainError
from core.prepared import BIGINT_MAX
from marketplace.models import Offer, User
from promotions import discounts, selectors, services
from promotions.api import serializers as s
from promotions.choices import DiscountType
from promotions.codes import code_normalise
from promotions.discounts import CouponQuote
from promotions.models import CouponHolder

Cart = list[tuple[Offer, int]]


def _customer(request: Request) -> User:
    """The signed-in account; IsAuthenticated (the default) guarantees there is one."""
    return cast(User, request.user)


def _offer_not_found(offer_id: int) -> DomainError:
    return DomainError(
        _("No such offer."), code="offer_not_found", status=404, extra={"offer_id": offer_id}
    )


def _cart(lines: list[tuple[int, int]]) -> Cart:
    # Only what the coupon rules read: the select costs a third less to build and load.
    offers = (
        Offer.objects.select_related("product__category")
        .only("price", "currency", "product__category__path")
        .in_bulk([offer for offer, _ in lines])
    )
    missing = [offer_id for offer_id, _ in lines if offer_id not in offers]
    if missing:
        raise _offer_not_found(missing[0])
    return [(offers[offer_id], quantity) for offer_id, quantity in lines]


def _quote_body(quote: CouponQuote) -> dict[str, Any]:
    return {
        "code": quote.code,
        "discount": {"amount": str(quote.discount), "currency": quote.currency},
        "lines": [
            {"offer_id": offer_id, "discount": {"amount": str(amount), "currency": quote.currency}}
            for offer_id, amount in sorted(quote.line_discounts.items())
        ],
    }


class ValidateView(LeanTokenPost):
    """Validation is what a shopper's app calls on every keystroke of a code and every cart change:
    a token request with plain JSON is answered by :meth:`lean` (core.api.lean), with the token,
    code and cart read in one statement; everything else by DRF's path in :meth:`post`. Both end
    in ``coupon_quote_found``."""

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
        return Response(s.ValidateOutput(_quote_body(quote)).data)

    def lean(
        self, request: HttpRequest, token: str, *args: Any, **kwargs: Any
    ) -> tuple[Any, int] | None:
        parsed = _plain_input(request)
        if parsed is None:
            return None
        code, lines = parsed
        now = clock.now()
        normalised = code_normalise(code)
        read = selectors.validation_read(
            token,
            normalised,
            [offer_id for offer_id, _quantity in lines],
            hour=services.failure_hour(now),
        )
        if read is None or not read.customer.is_active:
            return None  # DRF's token authentication gives the 401 with its own words
        request.user = read.customer  # as DRF's authentication does: middleware and logs see it
        self.check_throttles(request)  # type: ignore[arg-type]  # throttles read user and META
        missing = [offer_id for offer_id, _quantity in lines if offer_id not in read.offers]
        if missing:
            raise _offer_not_found(missing[0])
        quote = services.coupon_quote_found(
            read.customer,
            normalised,
            read.found,
            lines=[(read.offers[offer_id], quantity) for offer_id, quantity in lines],
            now=now,
        )
        return _quote_body(quote), 200


# The limits are the serializer's own, read once.
_INPUT: Any = s.ValidateInput().fields
_LINE: Any = _INPUT["lines"].child.fields
_CODE_MAX_LENGTH: int = _INPUT["code"].max_length
_LINES_MAX: int = _INPUT["lines"].max_length
_QUANTITY_MAX: int = _LINE["quantity"].max_value
_MAX_BODY = 16_384  # fifty lines with generous spacing; a larger body is unusual


def _refuse_constant(name: str) -> None:
    raise ValueError(name)  # NaN and Infinity are not JSON; DRF's parser refuses them too


def _plain_input(request: HttpRequest) -> tuple[str, list[tuple[int, int]]] | None:
    """A JSON body that ``ValidateInput`` accepts as it is: the stripped code and the lines.

    Anything the serializer would refuse, convert or need to look at twice (numbers as strings,
    extra fields, a non-UTF-8 charset, characters outside ASCII in the code) gives None, and DRF
    answers it with its own validation errors.
    """
    if (
        request.content_type != "application/json"
        or (request.content_params or {}).get("charset", "utf-8").lower() not in ("utf-8", "utf8")
        or not 0 < int(request.META.get("CONTENT_LENGTH") or 0) <= _MAX_BODY
    ):
        return None
    try:
        data = json.loads(request.body.decode("utf-8"), parse_constant=_refuse_constant)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.keys() != _INPUT.keys():
        return None
    code, raw_lines = data["code"], data["lines"]
    if not isinstance(code, str) or not isinstance(raw_lines, list):
        return None
    code = code.strip()
    if not code or len(code) > _CODE_MAX_LENGTH or not code.isascii() or "\x00" in code:
        return None
    if not 1 <= len(raw_lines) <= _LINES_MAX:
        return None
    lines = []
    for line in raw_lines:
        if not isinstance(line, dict) or line.keys() != _LINE.keys():
            return None
        offer_id, quantity = line["offer_id"], line["quantity"]
        if type(offer_id) is not int or type(quantity) is not int:  # bool is not a number here
            return None
        if not (
            1 <= offer_id <= BIGINT_MAX  # a larger id: the ORM's offer_not_found
            and 1 <= quantity <= _QUANTITY_MAX
        ):
            return None
        lines.append((offer_id, quantity))
    return code, lines


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
