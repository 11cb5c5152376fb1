"""The shopper's view of a product: offers with what each capability says about buying them.

The product page lives here, above the capability apps, because it combines them: the kernel's
offers, the shippability decision for the shopper's default address, and invitation-only drops.
Each capability contributes one function that annotates the offers of the page.
"""

from __future__ import annotations

from typing import Any

from core import clock
from core.money import quantize
from fulfillment import services as fulfillment
from invitations import selectors as drops
from marketplace import selectors
from marketplace.models import Address, Offer, Product, User


def _offer_base(offer: Offer) -> dict[str, Any]:
    return {
        "id": offer.pk,
        "seller_id": offer.seller_id,
        "seller_name": offer.seller.display_name,
        "price": {"amount": str(quantize(offer.price, offer.currency)), "currency": offer.currency},
        "in_stock": offer.stock > 0,
        "fulfilment_channel": offer.fulfilment_channel,
        "handling_days": offer.handling_days,
        "requires_invitation": offer.requires_invitation,
    }


def product_page(product_id: int, *, user: User | None) -> dict[str, Any] | None:
    """Everything the product page shows, or None when the product does not exist."""
    product: Product | None = selectors.product_detail(product_id)
    if product is None:
        return None
    offers = list(product.offers.all())
    address = None
    facts = None
    if user is not None:
        # Token authentication already read the default address in its one statement.
        known = getattr(user, "default_address_facts", "unknown")
        facts = selectors.default_address_facts(user.pk) if known == "unknown" else known
    if facts is not None:
        # Only what the decision reads.
        address = Address(country=facts[0], postal_code=facts[1], is_po_box=facts[2])
    now = clock.now()
    offer_rows = [
        {
            **_offer_base(offer),
            "shippability": _shippability(offer, product, address),
            "invitation": (
                drops.offer_invitation_block(offer.pk, user, now=now)
                if offer.requires_invitation
                else None
            ),
        }
        for offer in offers
    ]
    return {
        "id": product.pk,
        "title": product.title,
        "description": product.description,
        "brand": product.brand,
        "category": {"id": product.category_id, "path": product.category.path},
        "is_hazardous": product.is_hazardous,
        "offers": offer_rows,
    }


def _shippability(offer: Offer, product: Product, address: Address | None) -> dict[str, Any] | None:
    """The decision for the shopper's default address; None when there is no address to judge."""
    if address is None:
        return None
    offer.product = product  # already loaded: the decision needs its category and hazard flag
    return fulfillment.shippability_json(fulfillment.shippability(offer, address), with_trace=False)
