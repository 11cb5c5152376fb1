"""Every write of ratings: order scores, seller ratings, their history, and the refresh loops.

Scores are computed from the state of the order, never accumulated from event payloads, so handling
an event twice, late or out of order gives the same result, and the nightly full recompute gives
exactly what the incremental path gave.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Prefetch

from core import clock, outbox
from marketplace.models import BuyerMessage, Chargeback, GuaranteeClaim, Order, Refund, Seller
from ratings import sql
from ratings.constants import (
    FULL_RECOMPUTE_SLICES,
    MIN_MATURE_ORDERS,
    REFRESH_BATCH_SIZE,
    SELLERS_BY_INDEX_MAX,
    WEIGHTING_VERSION,
    WINDOW,
)
from ratings.models import OrderScore
from ratings.scoring import OrderFacts, band_for
from ratings.selectors import rate_metrics_from_counts

logger = logging.getLogger(__name__)


def orders_mark_dirty(orders: Sequence[tuple[int, int]]) -> None:
    """Coalesce: any number of marks of one order leave one row until the next refresh."""
    if not orders:
        return
    order_ids, seller_ids = zip(*orders, strict=True)
    with connection.cursor() as cursor:
        cursor.execute(
            sql.MARK_DIRTY.format(orders="unnest(%s::bigint[], %s::bigint[])"),
            [list(order_ids), list(seller_ids)],
        )


def facts_for(order_ids: Sequence[int]) -> list[tuple[Order, OrderFacts]]:
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


@transaction.atomic
def seller_ratings_refresh(
    seller_ids: Sequence[int] | None, *, now: datetime, rewrite: bool = False
) -> int:
    """Aggregate the sellers' scores (every seller when None) and recompute their rate metrics,
    set-based, so that a recompute of every seller is one statement. Only the ratings that changed
    are written, with today's history row when the score or band moved, unless ``rewrite`` (the
    weekly audit rewrites all, so that a changed target or window reaches every stored metric).
    Account health hears of the sellers whose metrics changed. Returns how many ratings were
    written."""
    ids = None if seller_ids is None else sorted(set(seller_ids))
    # One seller stage at a time: two refreshes that scored orders of the same seller at once
    # would each aggregate without the other's uncommitted scores, and the last to commit would
    # leave a rating that misses some. The lock is held to the commit, and each statement after it
    # reads what the refresh before it committed.
    sql.seller_stage_lock()
    # Past a few thousand sellers, looking each one up by index costs more than aggregating
    # everyone (measured on 10,000 sellers: 1,000 by index 0.08-0.10 s, 3,000 0.20-0.24 s, 6,300
    # 0.43-0.45 s; all of them 0.32-0.46 s).
    read = None if ids is None or len(ids) > SELLERS_BY_INDEX_MAX else ids
    candidates = sql.rating_candidates(
        read, rewrite=rewrite, version=WEIGHTING_VERSION, min_mature=MIN_MATURE_ORDERS
    )
    if read is None and ids is not None:
        wanted = set(ids)
        candidates = [row for row in candidates if row[0] in wanted]
    rows, history = [], ([], [], [])
    for seller_id, average, scored, mature, *rest in candidates:
        counts, is_stored = tuple(rest[:8]), rest[8]
        # Stored: score, band, scored, mature, weighting version, metric counts.
        stored = (*rest[9:14], tuple(rest[14] or ()))
        is_rated = mature >= MIN_MATURE_ORDERS and average is not None
        score = round(average, 2) if is_rated else None
        band = band_for(score) if is_rated else ""
        fresh = (score, band, scored, mature, WEIGHTING_VERSION, counts)
        if is_stored and not rewrite and stored == fresh:
            continue
        if not is_stored or (score, band) != stored[:2]:
            history[0].append(seller_id)
            history[1].append(score)
            history[2].append(band)
        rows.append(
            {
                "seller_id": seller_id,
                "score": score,
                "band": band,
                "scored_orders": scored,
                "mature_orders": mature,
                "metrics": rate_metrics_from_counts(seller_id, now, counts).as_json(),
                "metric_counts": counts,
            }
        )
    if not rows:
        return 0
    if sql.seller_ratings_store(now, rows, history, version=WEIGHTING_VERSION):
        outbox.wake_relay_on_commit()
    return len(rows)


def orders_mark_due(now: datetime) -> None:
    """Queue the orders whose score, or whose place in the window and the rate metrics, time alone
    has changed by ``now`` (OrderScore.rescore_at and recount_at); rescoring one moves both past
    ``now``, or drops its score when it left the window."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ratings_dirtyorder (order_id, seller_id, marked_at)"
            " SELECT order_id, seller_id, now() FROM ratings_orderscore"
            " WHERE rescore_at <= %(now)s OR recount_at <= %(now)s"
            " ON CONFLICT (order_id) DO NOTHING",
            {"now": now},
        )


def refresh_dirty(
    *,
    now: datetime | None = None,
    batch_size: int = REFRESH_BATCH_SIZE,
    refresh_sellers: bool = True,
) -> int:
    """Rescore every dirty order and every order that time made due, a batch per statement, then
    refresh each affected seller once, in the same transaction as the claim of the dirty rows (a
    crash leaves them dirty). ``refresh_sellers=False`` leaves the sellers to a caller that
    refreshes every seller next."""
    now = now or clock.now()
    orders_mark_due(now)
    handled = 0
    while True:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "DELETE FROM ratings_dirtyorder WHERE order_id IN (SELECT order_id FROM"
                    " ratings_dirtyorder ORDER BY marked_at LIMIT %s FOR UPDATE SKIP LOCKED)"
                    " RETURNING order_id, seller_id",
                    [batch_size],
                )
                claimed = cursor.fetchall()
            if not claimed:
                break
            ids = [order_id for order_id, _ in claimed]
            sql.scores_store(now, "o.id = ANY(%(ids)s)", "t.order_id = ANY(%(ids)s)", {"ids": ids})
            # The scoring passes over orders that left the window; their stored scores go here.
            sql.scores_drop_before(ids, now - WINDOW)
            if refresh_sellers:
                seller_ratings_refresh([seller_id for _, seller_id in claimed], now=now)
            handled += len(claimed)
    return handled


def nightly_recompute(
    *, now: datetime | None = None, progress: Callable[[int, int], None] | None = None
) -> int:
    """The nightly job: rescore what is dirty or due, drop the scores that left the window, and
    recompute every seller's rating and metrics from the scores of the whole window, writing those
    that differ from the stored ones (after the refresh loop, none should). Returns the number of
    sellers. (full_recompute also rederives every score.)"""
    now = now or clock.now()
    sellers = Seller.objects.count()
    rescored = refresh_dirty(now=now, refresh_sellers=False)
    if progress:
        progress(rescored, rescored + sellers)
    with transaction.atomic():
        # Scored orders that left the window were due (recount_at) and went in refresh_dirty.
        OrderScore.objects.filter(score__isnull=True, placed_at__lte=now - WINDOW).delete()
        changed = seller_ratings_refresh(None, now=now)
    if progress:
        progress(rescored + sellers, rescored + sellers)
    logger.info(
        "ratings nightly recompute: %d orders rescored, %d sellers, %d ratings changed",
        rescored,
        sellers,
        changed,
    )
    return sellers


def full_recompute(
    *,
    now: datetime | None = None,
    slices: int = FULL_RECOMPUTE_SLICES,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Every order of the window rederived from its source rows, then every seller: the weekly
    audit of the incremental path, which must agree with it exactly (the scores it had to correct
    are logged: anything but none means an event went missing). Returns the orders scored."""
    now = now or clock.now()
    since = now - WINDOW
    sellers = Seller.objects.count()
    step = (now - since) / slices
    scored = corrected = 0
    for index in range(slices):
        low = since + step * index
        high = now + WINDOW if index == slices - 1 else low + step
        with transaction.atomic():
            count, changed, added = sql.scores_store(
                now,
                "o.placed_at > %(low)s AND o.placed_at <= %(high)s",
                # An order's placed_at never changes; if it did, the insert's ON CONFLICT would
                # still update its row.
                "t.placed_at > %(low)s AND t.placed_at <= %(high)s",
                {"low": low, "high": high},
            )
        scored += count
        corrected += changed + added
        if progress:
            # The number of orders is known only once every slice is scored: estimate it.
            progress(scored, scored * slices // (index + 1) + sellers)
    with transaction.atomic():
        OrderScore.objects.filter(placed_at__lte=since).delete()
        seller_ratings_refresh(None, now=now, rewrite=True)
    if progress:
        progress(scored + sellers, scored + sellers)
    logger.info("ratings full recompute: %d orders scored, %d scores corrected", scored, corrected)
    return scored
