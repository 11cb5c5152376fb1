"""Reactions of promotions to kernel events."""

from __future__ import annotations

from core import outbox
from core.models import OutboxEvent
from promotions import services


@outbox.register("order.cancelled")
def give_coupon_use_back(event: OutboxEvent) -> None:
    services.redemption_reverse_for_order(event.payload["order_id"])
