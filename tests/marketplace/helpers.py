from __future__ import annotations

from checkout import services as checkout
from marketplace.models import Offer, Order, User


def place_order(buyer: User, offer: Offer, quantity: int = 1, **kwargs) -> Order:
    result = checkout.checkout_place(
        buyer,
        lines=[checkout.CartLine(offer.pk, quantity)],
        address_id=buyer.addresses.get(is_default=True).pk,
        **kwargs,
    )
    return result.orders[0]
