"""Every write of ratings: order scores, seller ratings, their history, and the refresh loops.

Scores are computed from the state of the order, never accumulated from event payloads, so handling
an event twice, late or out of order gives the same result, and the nightly full recompute gives
exactly what the incremental path gave.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Prefetch

from core import clock, outbox
from marketplace.models import BuyerMessage, Chargeback, GuaranteeClaim, Order, Refund, Seller
from ratings.constants import (
    FULL_RECOMPUTE_BATCH_SIZE,
    MIN_MATURE_ORDERS,
    REFRESH_BATCH_SIZE,
    WEIGHTING_VERSION,
    WINDOW,
)
from ratings.models import DirtyOrder, OrderScore, RatingHistory, SellerRating
from ratings.scoring import OrderFacts, band_for, score_order
from ratings.selectors import seller_rate_metrics, weighted_average


def order_mark_dirty(order_id: int, seller_id: int) -> None:
    """Coalesce: any number of events of one order leave one row until the next refresh."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ratings_dirtyorder (order_id, seller_id, marked_at) VALUES (%s, %s, now())"
            " ON CONFLICT (order_id) DO UPDATE SET marked_at = now()",
            [order_id, seller_id],
        )


def _facts_for(order_ids: Sequence[int]) -> list[tuple[Order, OrderFacts]]:
    orders = (
        Order.objects.filter(pk__in=list(order_ids))
        .annotate(
            has_claim=Exists(GuaranteeClaim.objects.filter(order=OuterRef("pk"))),
            has_fault_chargeback=Exists(
                Chargeback.objects.filter(order=OuterRef("pk"), is_seller_fault=True)
            ),
            has_refund=Exists(Refund.objects.filter(order=OuterRef("pk"))),
        )
        .select_related("feedback")
        .prefetch_related(Prefetch("messages", queryset=BuyerMessage.objects.order_by("sent_at")))
    )
    result = []
    for order in orders:
        feedback = getattr(order, "feedback", None)
        result.append(
            (
                order,
                OrderFacts(
                    status=order.status,
                    placed_at=order.placed_at,
                    ship_by=order.ship_by,
                    shipped_at=order.shipped_at,
                    has_valid_tracking=order.has_valid_tracking,
                    delivered_at=order.delivered_at,
                    promised_latest=order.promised_delivery_latest,
                    cancelled_by=order.cancelled_by,
                    cancelled_at=order.cancelled_at,
                    message_times=tuple((m.sent_at, m.replied_at) for m in order.messages.all()),
                    feedback_stars=feedback.rating if feedback else None,
                    has_claim=order.has_claim,  # type: ignore[attr-defined]
                    has_seller_fault_chargeback=order.has_fault_chargeback,  # type: ignore[attr-defined]
                    has_refund_or_concession=order.has_refund,  # type: ignore[attr-defined]
                ),
            )
        )
    return result


def order_scores_refresh(order_ids: Sequence[int], *, now: datetime) -> set[int]:
    """Rescore orders; returns the sellers whose rating must follow."""
    rows = []
    sellers = set()
    for order, facts in _facts_for(order_ids):
        result = score_order(facts, now)
        sellers.add(order.seller_id)
        rows.append(
            OrderScore(
                order_id=order.pk,
                seller_id=order.seller_id,
                placed_at=order.placed_at,
                score=result.score,
                counted_problem=result.counted_problem,
                is_perfect=result.is_perfect,
                is_mature=result.is_mature,
                trace=result.trace,
                computed_at=now,
            )
        )
    OrderScore.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["order"],
        update_fields=[
            "seller",
            "placed_at",
            "score",
            "counted_problem",
            "is_perfect",
            "is_mature",
            "trace",
            "computed_at",
        ],
    )
    return sellers


def seller_rating_refresh(seller_id: int, *, now: datetime) -> SellerRating:
    """Aggregate the seller's scores, recompute their rate metrics, keep today's history row."""
    average, scored, mature = weighted_average(seller_id, now=now)
    is_rated = mature >= MIN_MATURE_ORDERS and average is not None
    score = round(average, 2) if is_rated and average is not None else None
    metrics = seller_rate_metrics(seller_id, now=now)
    rating, _ = SellerRating.objects.update_or_create(
        seller_id=seller_id,
        defaults={
            "score": score,
            "band": band_for(score) if is_rated else "",
            "scored_orders": scored,
            "mature_orders": mature,
            "weighting_version": WEIGHTING_VERSION,
            "metrics": metrics.as_json(),
            "computed_at": now,
        },
    )
    RatingHistory.objects.update_or_create(
        seller_id=seller_id, day=now.date(), defaults={"score": score, "band": rating.band}
    )
    outbox.emit("ratings.metrics_changed", {"seller_id": seller_id, "computed_at": now.isoformat()})
    return rating


def refresh_dirty(*, now: datetime | None = None, batch_size: int = REFRESH_BATCH_SIZE) -> int:
    """Rescore every dirty order in batches, then refresh each affected seller once."""
    now = now or clock.now()
    sellers: set[int] = set()
    handled = 0
    while True:
        with transaction.atomic():
            claimed = list(
                DirtyOrder.objects.select_for_update(skip_locked=True)
                .order_by("marked_at")
                .values_list("order_id", "seller_id")[:batch_size]
            )
            if not claimed:
                break
            order_ids = [order_id for order_id, _seller in claimed]
            sellers |= {seller_id for _order, seller_id in claimed}
            order_scores_refresh(order_ids, now=now)
            DirtyOrder.objects.filter(order_id__in=order_ids).delete()
            handled += len(order_ids)
    for seller_id in sorted(sellers):
        with transaction.atomic():
            seller_rating_refresh(seller_id, now=now)
    return handled


def full_recompute(
    *,
    now: datetime | None = None,
    batch_size: int = FULL_RECOMPUTE_BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Every order of the window and every seller, from scratch: the nightly check on the
    incremental path, which must agree with it exactly."""
    now = now or clock.now()
    order_ids = list(
        Order.objects.filter(placed_at__gt=now - WINDOW).order_by("pk").values_list("pk", flat=True)
    )
    seller_ids = list(Seller.objects.order_by("pk").values_list("pk", flat=True))
    total = len(order_ids) + len(seller_ids)
    done = 0
    for start in range(0, len(order_ids), batch_size):
        batch = order_ids[start : start + batch_size]
        with transaction.atomic():
            order_scores_refresh(batch, now=now)
        done += len(batch)
        if progress:
            progress(done, total)
    OrderScore.objects.filter(placed_at__lte=now - WINDOW).delete()
    for seller_id in seller_ids:
        with transaction.atomic():
            seller_rating_refresh(seller_id, now=now)
        done += 1
        if progress:
            progress(done, total)
    return len(order_ids)


def sellers_of(order_ids: Iterable[int]) -> set[int]:
    return set(Order.objects.filter(pk__in=list(order_ids)).values_list("seller_id", flat=True))
