"""Account health reacts to violations, rate metrics and deliveries through the outbox.

Violation and delivery events come in batches: a stream of them costs a few statements per batch,
so the score keeps up with thousands of events a second."""

from __future__ import annotations

from account_health import services
from core import outbox
from core.models import OutboxEvent
from ratings.selectors import stored_rate_metrics

_CAUSES = {"violation.opened": "violation_opened", "violation.resolved": "violation_resolved"}


@outbox.register_batch("violation.opened", "violation.resolved")
def apply_violation_points(events: list[OutboxEvent]) -> None:
    services.apply_violation_events(
        [(event.payload["violation_id"], _CAUSES[event.topic]) for event in events]
    )


@outbox.register_batch("ratings.metrics_changed")
def sync_metric_violations(events: list[OutboxEvent]) -> None:
    # The sync reads the metrics ratings stored last (at least as new as the event, which is written
    # with them), so several events of one seller in a batch need one sync, not one each; and it
    # agrees with the metrics the seller is shown.
    seller_ids = list(dict.fromkeys(event.payload["seller_id"] for event in events))
    services.metric_violations_sync_many(stored_rate_metrics(seller_ids))


@outbox.register_batch("order.delivered")
def count_clean_orders(events: list[OutboxEvent]) -> None:
    services.clean_orders_delivered([event.payload["seller_id"] for event in events])
