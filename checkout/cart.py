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
from core.money import quantize
from marketplace.models import Address, User


def cart_quote(
    buyer: User,
    *,
    lines: Sequence[CartLine],
    address_id: int,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Lines with prices and what stands in the way of buying each; totals per currency."""
    now = now or clock.now()
    merged = _merge_lines(lines)
    address = Address.objects.filter(owner=buyer, pk=address_id).first()
    if address is None:
        raise errors.CheckoutAddressNotFound()
    offers = _load_offers(merged)
    rows: list[dict[str, Any]] = []
    totals: dict[str, Decimal] = {}
    for line in merged:
        offer = offers[line.offer_id]
        gross = quantize(offer.price * line.quantity, offer.currency)
        totals[offer.currency] = totals.get(offer.currency, Decimal(0)) + gross
        rows.append(
            {
                "offer_id": offer.pk,
                "product_title": offer.product.title,
                "quantity": line.quantity,
                "unit_price": {"amount": str(offer.price), "currency": offer.currency},
                "line_total": {"amount": str(gross), "currency": offer.currency},
                "in_stock": offer.stock >= line.quantity,
                "requires_invitation": offer.requires_invitation,
                "problems": [] if offer.stock >= line.quantity else ["out_of_stock"],
            }
        )
    return {
        "address_id": address.pk,
        "lines": rows,
        "totals": [
            {"amount": str(quantize(amount, currency)), "currency": currency}
            for currency, amount in sorted(totals.items())
        ],
        "is_purchasable": all(not row["problems"] for row in rows),
        "quoted_at": now,
    }
