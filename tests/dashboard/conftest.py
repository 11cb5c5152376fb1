from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.models import OutboxEvent
from marketplace.models import BuyerMessage, Offer, Order
from tests.factories import OfferFactory
from tests.marketplace.helpers import place_order

# A Wednesday: two business days before it are plain weekdays, so ship-by dates are easy to read.
NOW = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)


@pytest.fixture
def seller_client(client, seller):
    client.force_login(seller.owner)
    return client


@pytest.fixture
def order(shopper, seller):
    return place_order(shopper, OfferFactory(seller=seller, stock=5), 2)


def snapshot(order: Order) -> dict:
    """Everything a refused write must leave alone: the order, its stock, messages, events."""
    return {
        "order": Order.objects.filter(pk=order.pk).values().get(),
        "stock": list(
            Offer.objects.filter(pk__in=order.lines.values("offer_id")).values_list("pk", "stock")
        ),
        "messages": list(BuyerMessage.objects.filter(order=order).values().order_by("pk")),
        "events": OutboxEvent.objects.count(),
    }
