"""Reads of ratings: rate metrics (also read by account health), the rating, traces, history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, F, Q, QuerySet

from core import clock
from marketplace.models import Order
from ratings.constants import (
    CANCELLATION_WINDOW,
    HALF_LIFE_DAYS,
    LATE_SHIPMENT_WINDOW,
    NEGATIVE_FEEDBACK_MAX_STARS,
    ORDER_DEFECT_WINDOW,
    TARGETS,
    VALID_TRACKING_WINDOW,
    WINDOW,
)
from ratings.models import OrderScore, RatingHistory, SellerRating


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int
    window_days: int

    @property
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


def seller_rate_metrics(seller_id: int, *, now: datetime | None = None) -> RateMetrics:
    now = now or clock.now()
    orders = Order.objects.filter(seller_id=seller_id).exclude(
        status="cancelled", cancelled_by__in=["buyer", "platform"]
    )
    counts = orders.aggregate(
        defect_total=Count("pk", filter=Q(placed_at__gte=now - ORDER_DEFECT_WINDOW)),
        defects=Count(
            "pk",
            filter=Q(placed_at__gte=now - ORDER_DEFECT_WINDOW)
            & (
                Q(feedback__rating__lte=NEGATIVE_FEEDBACK_MAX_STARS)
                | Q(claim__isnull=False)
                | Q(chargebacks__is_seller_fault=True)
            ),
            distinct=True,
        ),
        cancel_total=Count("pk", filter=Q(placed_at__gte=now - CANCELLATION_WINDOW), distinct=True),
        cancelled=Count(
            "pk",
            filter=Q(placed_at__gte=now - CANCELLATION_WINDOW, status="cancelled"),
            distinct=True,
        ),
        late_total=Count(
            "pk",
            filter=Q(ship_by__gte=(now - LATE_SHIPMENT_WINDOW).date(), ship_by__lt=now.date())
            & ~Q(status="cancelled"),
            distinct=True,
        ),
        late=Count(
            "pk",
            filter=Q(ship_by__gte=(now - LATE_SHIPMENT_WINDOW).date(), ship_by__lt=now.date())
            & ~Q(status="cancelled")
            & (Q(shipped_at__isnull=True) | Q(shipped_at__date__gt=F("ship_by"))),
            distinct=True,
        ),
        tracked_total=Count(
            "pk", filter=Q(shipped_at__gte=now - VALID_TRACKING_WINDOW), distinct=True
        ),
        tracked=Count(
            "pk",
            filter=Q(shipped_at__gte=now - VALID_TRACKING_WINDOW, has_valid_tracking=True),
            distinct=True,
        ),
    )
    return RateMetrics(
        seller_id=seller_id,
        computed_at=now,
        order_defect=Rate(counts["defects"], counts["defect_total"], ORDER_DEFECT_WINDOW.days),
        cancellation=Rate(counts["cancelled"], counts["cancel_total"], CANCELLATION_WINDOW.days),
        late_shipment=Rate(counts["late"], counts["late_total"], LATE_SHIPMENT_WINDOW.days),
        valid_tracking=Rate(counts["tracked"], counts["tracked_total"], VALID_TRACKING_WINDOW.days),
    )


def weighted_average(seller_id: int, *, now: datetime) -> tuple[float | None, int, int]:
    """(time-weighted score, scored orders, mature orders) over the window, in double precision."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT SUM(score * w) / NULLIF(SUM(w), 0), COUNT(*), COUNT(*) FILTER (WHERE is_mature)"
            " FROM (SELECT score, is_mature,"
            "  power(0.5, date_part('epoch', %s::timestamptz - placed_at) / 86400.0 / %s) AS w"
            "  FROM ratings_orderscore WHERE seller_id = %s AND score IS NOT NULL"
            "  AND placed_at > %s) AS scored",
            [now, HALF_LIFE_DAYS, seller_id, now - WINDOW],
        )
        average, scored, mature = cursor.fetchone()
    return (float(average) if average is not None else None), scored, mature


def seller_rating(seller_id: int) -> SellerRating | None:
    return SellerRating.objects.filter(seller_id=seller_id).first()


def seller_history(
    seller_id: int, *, days: int = 365, now: datetime | None = None
) -> QuerySet[RatingHistory]:
    now = now or clock.now()
    return RatingHistory.objects.filter(
        seller_id=seller_id, day__gte=(now - timedelta(days=days)).date()
    ).order_by("day")


def seller_order_scores(seller_id: int, *, worst_first: bool = True) -> QuerySet[OrderScore]:
    scores = OrderScore.objects.filter(seller_id=seller_id, score__isnull=False)
    return scores.order_by("score", "-placed_at") if worst_first else scores.order_by("-placed_at")


def seller_order_score(seller_id: int, order_id: int) -> OrderScore | None:
    return OrderScore.objects.filter(seller_id=seller_id, order_id=order_id).first()
