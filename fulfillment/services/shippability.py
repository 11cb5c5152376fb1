"""The entry point other apps call for a shippability decision, and its JSON shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core import clock
from fulfillment import rules
from fulfillment.decision import AddressFacts, Decision, OfferFacts, compact_postal, decide
from marketplace.choices import SellerStatus
from marketplace.models import Address, Offer


def offer_facts(offer: Offer) -> OfferFacts:
    """Facts of an offer loaded with ``seller`` and ``product__category``."""
    return OfferFacts(
        offer_id=offer.pk,
        seller_id=offer.seller_id,
        seller_country=offer.seller.country,
        is_seller_active=offer.seller.status == SellerStatus.ACTIVE,
        is_offer_active=offer.is_active and offer.product.is_active,
        stock=offer.stock,
        channel=offer.fulfilment_channel,
        handling_days=offer.handling_days,
        category_path=offer.product.category.path,
        is_hazardous=offer.product.is_hazardous,
        price=offer.price,
        currency=offer.currency,
    )


def address_facts(address: Address) -> AddressFacts:
    return AddressFacts(address.country, address.postal_code, address.is_po_box)


def shippability(offer: Offer, address: Address, *, now: datetime | None = None) -> Decision:
    """The decision for one offer and one address at one moment. Warm: no SQL."""
    now = now or clock.now()
    return decide(offer_facts(offer), address_facts(address), rules.snapshot(), now.date())


def region_of(address: Address | AddressFacts) -> str:
    """Country and the first two characters of the postal code: coarse enough to aggregate."""
    return f"{address.country}-{compact_postal(address.postal_code)[:2]}"


def shippability_json(decision: Decision, *, with_trace: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "shippable": decision.is_shippable,
        "fulfilled_by": decision.fulfilled_by,
        "reason_code": decision.reason_code,
        "message": decision.message,
        "ships_from": decision.ships_from,
        "delivery_window": (
            {"earliest": decision.earliest.isoformat(), "latest": decision.latest.isoformat()}
            if decision.earliest and decision.latest
            else None
        ),
    }
    if with_trace:
        body["trace"] = [
            {"rule": step.rule, "passed": step.passed, "detail": step.detail}
            for step in decision.trace
        ]
    return body
