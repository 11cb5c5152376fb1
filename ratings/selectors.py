"""Reads of ratings: rate metrics (also read by account health), the rating, traces, history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.db.models import QuerySet

from core import clock
from ratings.constants import (
    CANCELLATION_WINDOW,
    LATE_SHIPMENT_WINDOW,
    ORDER_DEFECT_WINDOW,
    TARGETS,
    VALID_TRACKING_WINDOW,
)
from ratings.models import OrderScore, RatingHistory, SellerRating


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int
    window_days: int

    @cached_property
    def value(self) -> Decimal | None:
        if self.denominator == 0:
            return None
        return (Decimal(self.numerator) / Decimal(self.denominator)).quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class RateMetrics:
    """The rate metrics marketplaces publish, each with its counts and window."""

    seller_id: int
    computed_at: datetime
    order_defect: Rate
    cancellation: Rate
    late_shipment: Rate
    valid_tracking: Rate

    @property
    def order_defect_rate(self) -> Decimal | None:
        return self.order_defect.value

    @property
    def cancellation_rate(self) -> Decimal | None:
        return self.cancellation.value

    @property
    def late_shipment_rate(self) -> Decimal | None:
        return self.late_shipment.value

    @property
    def valid_tracking_rate(self) -> Decimal | None:
        return self.valid_tracking.value

    def meets_target(self, name: str) -> bool | None:
        """None when there is nothing to judge (no orders in the window)."""
        value = getattr(self, name)
        if value is None:
            return None
        comparison, target = TARGETS[name]
        return float(value) < target if comparison == "<" else float(value) >= target

    def as_json(self) -> dict[str, Any]:
        rows = {}
        for name, rate in (
            ("order_defect_rate", self.order_defect),
            ("cancellation_rate", self.cancellation),
            ("late_shipment_rate", self.late_shipment),
            ("valid_tracking_rate", self.valid_tracking),
        ):
            comparison, target = TARGETS[name]
            rows[name] = {
                "value": str(rate.value) if rate.value is not None else None,
                "numerator": rate.numerator,
                "denominator": rate.denominator,
                "window_days": rate.window_days,
                "target": f"{comparison} {target}",
                "meets_target": self.meets_target(name),
            }
        return rows


def rate_metrics_from_counts(seller_id: int, now: datetime, counts: Sequence[int]) -> RateMetrics:
    """From the eight counts of ``ratings.sql.SELLER_AGGREGATES``, in its order."""
    return RateMetrics(
        seller_id=seller_id,
        computed_at=now,
        order_defect=Rate(counts[1], counts[0], ORDER_DEFECT_WINDOW.days),
        cancellation=Rate(counts[3], counts[2], CANCELLATION_WINDOW.days),
        late_shipment=Rate(counts[5], counts[4], LATE_SHIPMENT_WINDOW.days),
        valid_tracking=Rate(counts[7], counts[6], VALID_TRACKING_WINDOW.days),
    )


def rate_metrics_for(seller_ids: list[int] | None) -> dict[int, RateMetrics]:
    """The rate metrics of these sellers (every seller when None) from their stored order scores,
    in one statement: where the last refresh counted each order (OrderScore.counted_in)."""
    from ratings import sql

    now = clock.now()
    return {
        row[0]: rate_metrics_from_counts(row[0], now, row[4:])
        for row in sql.seller_aggregates(seller_ids)
    }


def _rate_from_json(row: dict[str, Any]) -> Rate:
    return Rate(row["numerator"], row["denominator"], row["window_days"])


def stored_rate_metrics(seller_ids: list[int]) -> dict[int, RateMetrics]:
    """The rate metrics the last refresh stored with each seller's rating (what the seller sees),
    in one query; sellers not yet refreshed get theirs computed now."""
    stored = {}
    for seller_id, metrics, computed_at in SellerRating.objects.filter(
        seller_id__in=seller_ids
    ).values_list("seller_id", "metrics", "computed_at"):
        stored[seller_id] = RateMetrics(
            seller_id=seller_id,
            computed_at=computed_at,
            order_defect=_rate_from_json(metrics["order_defect_rate"]),
            cancellation=_rate_from_json(metrics["cancellation_rate"]),
            late_shipment=_rate_from_json(metrics["late_shipment_rate"]),
            valid_tracking=_rate_from_json(metrics["valid_tracking_rate"]),
        )
    missing = [seller_id for seller_id in seller_ids if seller_id not in stored]
    if missing:
        stored.update(rate_metrics_for(missing))
    return stored


def seller_rate_metrics(seller_id: int) -> RateMetrics:
    return rate_metrics_for([seller_id])[seller_id]


def seller_rating(seller_id: int) -> SellerRating | None:
    return SellerRating.objects.filter(seller_id=seller_id).first()


@dataclass(frozen=True)
class HistoryDay:
    day: date
    score: float | None
    band: str


def seller_history(
    seller_id: int, *, days: int = 365, now: datetime | None = None
) -> list[HistoryDay]:
    """The seller's rating on each of the last ``days`` days up to today, from the first day it
    was computed. A RatingHistory row is kept only for a day on which the rating moved, so each
    day without one carries the day before it."""
    now = now or clock.now()
    today = now.date()
    first = today - timedelta(days=days)
    rows = RatingHistory.objects.filter(seller_id=seller_id, day__lte=today)
    carried = rows.filter(day__lt=first).order_by("-day").first()
    changes = list(rows.filter(day__gte=first).order_by("day"))
    if carried is not None:
        changes.insert(0, carried)
    result: list[HistoryDay] = []
    for index, row in enumerate(changes):
        until = changes[index + 1].day if index + 1 < len(changes) else today + timedelta(days=1)
        day = max(row.day, first)
        while day < until:
            result.append(HistoryDay(day, row.score, row.band))
            day += timedelta(days=1)
    return result


def seller_order_scores(seller_id: int, *, worst_first: bool = True) -> QuerySet[OrderScore]:
    scores = OrderScore.objects.filter(seller_id=seller_id, score__isnull=False).select_related(
        "order"
    )
    return scores.order_by("score", "-placed_at") if worst_first else scores.order_by("-placed_at")


def seller_order_score(seller_id: int, order_id: int) -> OrderScore | None:
    return (
        OrderScore.objects.filter(seller_id=seller_id, order_id=order_id)
        .select_related("order")
        .first()
    )
