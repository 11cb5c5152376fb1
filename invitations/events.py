"""Reactions of invitations to kernel events."""

from __future__ import annotations

from core import outbox
from core.models import OutboxEvent
from invitations import services


@outbox.register("order.cancelled")
def take_back_units_of_a_cancelled_invitation_order(event: OutboxEvent) -> None:
    """A cancelled invitation order's units go back to the drop for a further round."""
    services.invitation_order_cancelled(event.payload["order_id"])
