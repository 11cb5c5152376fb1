"""The cart: what a purchase of these lines to this address would cost, before placing it.

Nothing is written here except what capabilities count (refused shippability checks); the same rules
as checkout answer, so what the cart says is what checkout will do.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from checkout import errors
from checkout.services import CartLine, _load_offers, _merge_lines
from core import clock
from core.errors import DomainError
from core.money import quantize
from fulfillment import services as fulfillment
from marketplace.models import Address, User
from promotions import services as promotions


def cart_quote(
    buyer: User,
    *,
    lines: Sequence[CartLine],
    address_id: int,
    coupon_code: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Lines with prices and what stands in the way of buying each; totals per currency."""
    now = now or clock.now()
    merged = _merge_lines(lines)
    address = Address.objects.filter(owner=buyer, pk=address_id).first()
    if address is None:
        raise errors.CheckoutAddressNotFound()
    offers = _load_offers(merged)
    coupon_block, line_discounts = _coupon(buyer, coupon_code, merged, offers, now)
    rows: list[dict[str, Any]] = []
    totals: dict[str, Decimal] = {}
    for line in merged:
        offer = offers[line.offer_id]
        gross = quantize(offer.price * line.quantity, offer.currency)
        discount = line_discounts.get(offer.pk, Decimal(0))
        totals[offer.currency] = totals.get(offer.currency, Decimal(0)) + gross - discount
        decision = fulfillment.shippability(offer, address, now=now)
        problems = [] if offer.stock >= line.quantity else ["out_of_stock"]
        if not decision.is_shippable:
            fulfillment.refusal_record(
                offer, decision=decision, address=address, quantity=line.quantity, now=now
            )
            if decision.reason_code not in problems:
                problems.append(decision.reason_code)
        rows.append(
            {
                "offer_id": offer.pk,
                "product_title": offer.product.title,
                "quantity": line.quantity,
                "unit_price": {"amount": str(offer.price), "currency": offer.currency},
                "line_total": {"amount": str(gross), "currency": offer.currency},
                "discount": {"amount": str(discount), "currency": offer.currency},
                "in_stock": offer.stock >= line.quantity,
                "requires_invitation": offer.requires_invitation,
                "problems": problems,
                "shippability": fulfillment.shippability_json(decision, with_trace=False),
            }
        )
    return {
        "address_id": address.pk,
        "lines": rows,
        "coupon": coupon_block,
        "totals": [
            {"amount": str(quantize(amount, currency)), "currency": currency}
            for currency, amount in sorted(totals.items())
        ],
        "is_purchasable": all(not row["problems"] for row in rows),
        "quoted_at": now,
    }


def _coupon(
    buyer: User,
    code: str | None,
    merged: list[CartLine],
    offers: dict[int, Any],
    now: datetime,
) -> tuple[dict[str, Any] | None, dict[int, Decimal]]:
    """The coupon as checkout would apply it, or why it would not."""
    if not code:
        return None, {}
    try:
        quote = promotions.coupon_quote(
            buyer,
            code=code,
            lines=[(offers[line.offer_id], line.quantity) for line in merged],
            now=now,
        )
    except DomainError as error:
        return (
            {
                "code": code,
                "applies": False,
                "error_code": error.code,
                "detail": error.detail,
                "discount": None,
            },
            {},
        )
    return (
        {
            "code": quote.code,
            "applies": True,
            "error_code": None,
            "detail": None,
            "discount": {"amount": str(quote.discount), "currency": quote.currency},
        },
        quote.line_discounts,
    )
