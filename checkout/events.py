"""Reactions of checkout to outbox events."""

from __future__ import annotations

from datetime import timedelta

from core import clock, outbox
from core.email import email_queue
from core.models import OutboxEvent
from marketplace.models import Order

# A confirmation that arrives days late (an outbox backlog, imported history) confuses more than it
# helps; the order page shows the order either way.
CONFIRMATION_MAX_AGE = timedelta(days=1)


@outbox.register("order.placed")
def send_order_confirmation(event: OutboxEvent) -> None:
    """The buyer's confirmation e-mail, in the buyer's language."""
    order = (
        Order.objects.select_related("buyer", "seller")
        .prefetch_related("lines")
        .filter(pk=event.payload["order_id"])
        .first()
    )
    if order is None or order.placed_at < clock.now() - CONFIRMATION_MAX_AGE:
        return
    email_queue(
        to=order.buyer.email,
        template="order_placed",
        context={"order": order, "lines": list(order.lines.all())},
        language=order.buyer.language,
    )
