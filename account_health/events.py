"""Account health reacts to violations, rate metrics and deliveries through the outbox."""

from __future__ import annotations

from account_health import services
from core import outbox
from core.models import OutboxEvent
from ratings.selectors import seller_rate_metrics


@outbox.register("violation.opened")
def take_points(event: OutboxEvent) -> None:
    services.apply_violation_event(event.payload["violation_id"], cause="violation_opened")


@outbox.register("violation.resolved")
def give_points_back(event: OutboxEvent) -> None:
    services.apply_violation_event(event.payload["violation_id"], cause="violation_resolved")


@outbox.register("ratings.metrics_changed")
def sync_metric_violations(event: OutboxEvent) -> None:
    seller_id = event.payload["seller_id"]
    services.metric_violations_sync(seller_id, seller_rate_metrics(seller_id))


@outbox.register("order.delivered")
def count_clean_order(event: OutboxEvent) -> None:
    services.clean_order_delivered(event.payload["seller_id"])
