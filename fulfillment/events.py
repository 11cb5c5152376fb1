"""Reactions of fulfillment to outbox events. Each runs once per event (the relay records it)."""

from __future__ import annotations

from core import outbox
from core.email import email_queue
from core.models import OutboxEvent
from fulfillment import services
from marketplace.models import Offer, Seller


@outbox.register("order.placed")
def allocate_warehouse_stock(event: OutboxEvent) -> None:
    """Platform-fulfilled units leave a warehouse's stock; idempotent per order."""
    services.warehouse_stock_allocate(event.payload["order_id"])


@outbox.register("order.cancelled")
def release_warehouse_stock(event: OutboxEvent) -> None:
    services.warehouse_stock_release(event.payload["order_id"])


@outbox.register("shippability.coverage_lost")
def tell_seller_about_lost_coverage(event: OutboxEvent) -> None:
    """The seller learns from us, not from customers, that a change made regions unbuyable."""
    seller = Seller.objects.select_related("owner").filter(pk=event.payload["seller_id"]).first()
    if seller is None:
        return
    titles = dict(
        Offer.objects.filter(pk__in=[row["offer_id"] for row in event.payload["offers"]])
        .select_related("product")
        .values_list("pk", "product__title")
    )
    email_queue(
        to=seller.owner.email,
        template="shippability_coverage_lost",
        context={
            "seller": seller,
            "trigger": event.payload["trigger"],
            "offers": [
                {**row, "title": titles.get(row["offer_id"], row["offer_id"])}
                for row in event.payload["offers"]
            ],
        },
        language=seller.owner.language,
    )
