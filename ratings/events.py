"""Order events reach ratings here, a batch at a time: the batch marks its orders dirty in one
statement (an order seen many times leaves one row) and a refresh task, scheduled at most once a
second, rescores them.

The handler is one idempotent SQL statement (an order marked twice is one dirty row, and the
refresh recomputes it from the order's state), so it keeps no outbox delivery rows, and the relay
runs it inside the statement that claims the events: at ten thousand events a second the delivery
rows were a third of the relay's work, and handing the events to Python and back half the rest."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import transaction

from core import outbox
from ratings import sql

logger = logging.getLogger(__name__)
ORDER_TOPICS = (
    "order.placed",
    "order.shipped",
    "order.delivered",
    "order.cancelled",
    "message.sent",
    "message.replied",
    "feedback.left",
    "claim.filed",
    "chargeback.filed",
    "refund.issued",
)
REFRESH_SCHEDULED_KEY = "ratings:refresh-scheduled"
REFRESH_DELAY_SECONDS = 1  # events arriving within a second share one refresh


def _schedule_refresh() -> None:
    from ratings.tasks import refresh_dirty_task

    try:
        if cache.add(REFRESH_SCHEDULED_KEY, "1", timeout=REFRESH_DELAY_SECONDS):
            refresh_dirty_task.apply_async(countdown=REFRESH_DELAY_SECONDS)
    except Exception:
        logger.warning("ratings refresh not scheduled; beat will run it", exc_info=True)


def _refresh_after_commit() -> None:
    transaction.on_commit(_schedule_refresh)


on_order_events = outbox.register_sql(
    *ORDER_TOPICS,
    name=f"{__name__}.on_order_events",
    statement=sql.MARK_EVENTS_DIRTY,
    after=_refresh_after_commit,
)
