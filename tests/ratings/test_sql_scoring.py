"""The SQL scorer against the Python reference, for every combination of rules.

Orders are written straight into the tables with a pinned clock, around the German holidays of
spring 2026 (Good Friday 3 April, Easter Monday 6 April, 1 May, Ascension 14 May, Whit Monday
25 May), with each of the 128 combinations of problems and each of the 16 combinations of bonus
conditions aimed at, and the boundaries of every rule (ship-by day, 24 hours, 30 days, 3 business
days) hit on both sides. The SQL must give the Python scorer's score, counted problem, perfect
flag, maturity and whole trace for each one.
"""

from __future__ import annotations

import random
import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection
from django.db.models import F, Q

from core.clock import add_business_days
from marketplace.models import BuyerMessage, Chargeback, Feedback, GuaranteeClaim, Order, Refund
from ratings import selectors, services, sql
from ratings.constants import (
    BONUS_CONDITIONS,
    CANCELLATION_WINDOW,
    COUNTED_IN,
    FIRED_ORDER,
    HALF_LIFE_DAYS,
    LATE_SHIPMENT_WINDOW,
    ORDER_DEFECT_WINDOW,
    VALID_TRACKING_WINDOW,
    WEIGHT_EPOCH,
    WINDOW,
)
from ratings.models import DirtyOrder, OrderScore, RatingHistory, SellerRating
from ratings.scoring import fired_from_mask, met_from_mask, rescore_at, score_order, trace_of

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
FIRST_PLACED = datetime(2026, 3, 20, tzinfo=UTC)


def _at(day, rng):
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(
        seconds=rng.choice([0, 1, 3600 * 12, 86399])
    )


class _Batch:
    """Orders and their related rows, written with a few bulk inserts."""

    def __init__(self, buyer, seller):
        self.buyer, self.seller = buyer, seller
        self.orders: list[Order] = []
        self.related: list[tuple[int, type, dict]] = []

    def order(self, **fields) -> int:
        self.orders.append(
            Order(
                buyer=self.buyer,
                seller=self.seller,
                checkout_reference=uuid.uuid4(),
                currency="EUR",
                subtotal=Decimal("10"),
                total=Decimal("10"),
                ship_name="N",
                ship_line1="Street 1",
                ship_city="Berlin",
                ship_postal_code="10115",
                ship_country="DE",
                **fields,
            )
        )
        return len(self.orders) - 1

    def add(self, index: int, model: type, **fields) -> None:
        self.related.append((index, model, fields))

    def save(self) -> list[int]:
        created = Order.objects.bulk_create(self.orders)
        by_model: dict[type, list] = {}
        for index, model, fields in self.related:
            by_model.setdefault(model, []).append(model(order=created[index], **fields))
        for model, rows in by_model.items():
            model.objects.bulk_create(rows)
        return [order.pk for order in created]


def _aimed_order(batch: _Batch, rng: random.Random, problems: set[str], bonus: int | None):
    """An order meant to fire exactly ``problems`` and, without problems, to meet the bonus
    conditions of mask ``bonus`` (random when None); the scorers decide what it really is."""
    placed = FIRST_PLACED + timedelta(days=rng.randrange(80), seconds=rng.randrange(86400))
    ship_by = add_business_days(placed.date(), rng.choice([0, 1, 2]))
    want = met_from_mask(bonus) if bonus is not None else None
    fast = want[0] if want else rng.random() < 0.6
    tracked = want[1] if want else rng.random() < 0.8
    kept = want[2] if want else rng.random() < 0.7
    refunded = (not want[3]) if want else rng.random() < 0.2

    status, cancelled_by = "delivered", ""
    if "cancelled_by_seller" in problems:
        status, cancelled_by = "cancelled", "seller"
    shipped_day = ship_by - timedelta(days=rng.choice([0, 0, 1]))
    if "late_shipment" in problems:
        shipped_day = ship_by + timedelta(days=rng.choice([1, 2]))
    shipped_at = _at(max(shipped_day, placed.date()), rng)
    if shipped_at < placed:
        shipped_at = placed
    if "late_shipment" in problems and status != "cancelled" and rng.random() < 0.3:
        # Still waiting past its ship-by day: late before it ships.
        status, shipped_at = "placed", None

    business_days = rng.choice([0, 1, 2, 3]) if fast else rng.choice([4, 5, 7])
    delivered_day = add_business_days(placed.date(), business_days)
    if "delivered_late" in problems and business_days == 0:
        delivered_day = add_business_days(placed.date(), 1)
    delivered_at = _at(delivered_day, rng)
    if rng.random() < 0.15:
        # Right at the 30-day maturity boundary, on either side of it.
        delivered_at = NOW - timedelta(days=30) + timedelta(seconds=rng.choice([-1, 0, 1]))
        delivered_day = delivered_at.date()
    if status == "placed" or (status == "delivered" and not fast and rng.random() < 0.1):
        if status == "delivered":
            status = "shipped"
        delivered_at = None

    if "delivered_late" in problems:
        if delivered_at is None:
            delivered_at, status = _at(delivered_day, rng), "delivered"
        promised = delivered_at.date() - timedelta(days=rng.choice([1, 3]))
    elif kept or delivered_at is None:
        promised = (delivered_at.date() if delivered_at else ship_by) + timedelta(
            days=rng.choice([0, 0, 2])
        )
    else:
        promised = None  # a kept promise fails only for want of one: no date was recorded

    index = batch.order(
        status=status,
        cancelled_by=cancelled_by,
        cancelled_at=placed + timedelta(hours=1) if status == "cancelled" else None,
        placed_at=placed,
        ship_by=ship_by,
        promised_delivery_latest=promised,
        shipped_at=shipped_at,
        carrier="dhl" if shipped_at else "",
        tracking_number="00340434161234567890" if shipped_at else "",
        has_valid_tracking=tracked,
        delivered_at=delivered_at,
    )
    if "a_to_z_claim" in problems:
        batch.add(index, GuaranteeClaim, reason="x", filed_at=placed + timedelta(days=9))
    if "chargeback_seller_fault" in problems:
        batch.add(index, Chargeback, amount=Decimal("10"), currency="EUR", filed_at=placed)
    elif rng.random() < 0.2:
        batch.add(
            index,
            Chargeback,
            amount=Decimal("10"),
            currency="EUR",
            is_seller_fault=False,
            filed_at=placed,
        )
    if "negative_feedback" in problems:
        batch.add(index, Feedback, rating=rng.choice([1, 2]), left_at=placed)
    elif rng.random() < 0.5:
        batch.add(index, Feedback, rating=rng.choice([3, 4, 5]), left_at=placed)
    day = timedelta(hours=24)
    if "no_reply_24h" in problems:
        sent = placed + timedelta(hours=rng.randrange(1, 48))
        if rng.random() < 0.5:
            batch.add(
                index,
                BuyerMessage,
                body="?",
                sent_at=sent,
                replied_at=sent + day + timedelta(seconds=1),
            )
        else:
            batch.add(index, BuyerMessage, body="?", sent_at=NOW - day - timedelta(seconds=1))
    for _ in range(rng.choice([0, 0, 1, 2])):
        sent = placed + timedelta(hours=rng.randrange(1, 48))
        choice = rng.randrange(3)
        if choice == 0:
            batch.add(index, BuyerMessage, body="?", sent_at=sent, replied_at=sent + day)
        elif choice == 1:
            batch.add(index, BuyerMessage, body="?", sent_at=NOW - day)  # not yet over
        else:
            batch.add(
                index, BuyerMessage, body="?", sent_at=sent, replied_at=sent + timedelta(hours=2)
            )
    if refunded:
        kind = rng.choice(["refund", "concession"])
        batch.add(index, Refund, kind=kind, amount=Decimal("1"), currency="EUR", issued_at=placed)


def _good_orders(shopper, seller, count: int, *, seed: int) -> list[int]:
    batch = _Batch(shopper, seller)
    rng = random.Random(seed)
    for _ in range(count):
        _aimed_order(batch, rng, set(), 0b1111)
    return batch.save()


def outcome(result):
    return (result.score, result.counted_problem, result.is_mature, result.trace)


def _counted_in(facts, moment):
    """Where a scored order counts at ``moment``, read off the windows of the rating and the rate
    metrics as the seller API documents them: the rating, order defects, cancellations, late
    shipments (its ship-by day passed within the window), valid tracking."""
    placed = facts.placed_at
    return (
        placed > moment - WINDOW,
        placed >= moment - ORDER_DEFECT_WINDOW,
        placed >= moment - CANCELLATION_WINDOW,
        (moment - LATE_SHIPMENT_WINDOW).date() <= facts.ship_by < moment.date(),
        facts.shipped_at is not None and facts.shipped_at >= moment - VALID_TRACKING_WINDOW,
    )


def _counted_in_mask(facts, expected, moment):
    """Where a scored order counts at ``moment``, by COUNTED_IN, from the metrics' definitions:
    maturity; order defects (negative feedback, claim, seller-fault chargeback) of the orders
    placed in the window; seller cancellations of the orders placed in theirs; orders not
    cancelled whose ship-by day passed in the window, and those of them not shipped by that day;
    orders shipped in the window, and those of them with a valid tracking number."""
    fired = set(expected.trace["fired"])
    placed = facts.placed_at
    in_defects = placed >= moment - ORDER_DEFECT_WINDOW
    in_cancellations = placed >= moment - CANCELLATION_WINDOW
    cancelled = "cancelled_by_seller" in fired
    in_late = (
        not cancelled and (moment - LATE_SHIPMENT_WINDOW).date() <= facts.ship_by < moment.date()
    )
    late = facts.shipped_at is None or facts.shipped_at.date() > facts.ship_by
    in_tracked = facts.shipped_at is not None and facts.shipped_at >= moment - VALID_TRACKING_WINDOW
    counts = {
        "mature": expected.is_mature,
        "defect_total": in_defects,
        "defects": in_defects
        and bool(fired & {"negative_feedback", "a_to_z_claim", "chargeback_seller_fault"}),
        "cancel_total": in_cancellations,
        "cancelled": in_cancellations and cancelled,
        "late_total": in_late,
        "late": in_late and late,
        "tracked_total": in_tracked,
        "tracked": in_tracked and facts.has_valid_tracking,
    }
    return sum(1 << COUNTED_IN.index(name) for name, counts_in in counts.items() if counts_in)


def _python_scores(order_ids, now=NOW):
    return {order.pk: score_order(facts, now) for order, facts in services.facts_for(order_ids)}


@pytest.mark.django_db
def test_sql_scores_equal_the_python_reference_for_every_rule_combination(shopper, seller):
    rng = random.Random(6)
    batch = _Batch(shopper, seller)
    for mask in range(1 << len(FIRED_ORDER)):
        for _ in range(3):
            _aimed_order(batch, rng, set(fired_from_mask(mask)), None)
    for bonus in range(1 << len(BONUS_CONDITIONS)):
        for _ in range(4):
            _aimed_order(batch, rng, set(), bonus)
    for cancelled_by in ("buyer", "platform", "seller"):
        index = batch.order(
            status="cancelled",
            cancelled_by=cancelled_by,
            cancelled_at=NOW - timedelta(days=3),
            placed_at=NOW - timedelta(days=4),
            ship_by=(NOW - timedelta(days=2)).date(),
        )
        batch.add(index, GuaranteeClaim, reason="x", filed_at=NOW)
    order_ids = batch.save()

    python = _python_scores(order_ids)
    rows = sql.scores_select(NOW, order_ids)
    assert [row[0] for row in rows] == sorted(order_ids)
    promised = dict(Order.objects.values_list("pk", "promised_delivery_latest"))
    facts = dict(services.facts_for(order_ids))
    facts = {order.pk: order_facts for order, order_facts in facts.items()}
    seen_fired, seen_bonus, seen_due, seen_counted = set(), set(), 0, set()
    for row in rows:
        order_id, _seller, placed_at, score, counted, perfect, mature, fired, bonus = row[:9]
        weight, counted_in, rescore, recount = row[9:]
        expected = python[order_id]
        days = (placed_at - WEIGHT_EPOCH).total_seconds() / 86400
        assert weight == pytest.approx(2 ** (days / HALF_LIFE_DAYS), rel=1e-12)
        assert rescore == rescore_at(facts[order_id], NOW), order_id
        if rescore is not None:
            # The first moment at which the clock alone changes the outcome, not a moment later.
            seen_due += 1
            assert outcome(score_order(facts[order_id], rescore)) != outcome(expected)
            earlier = rescore - timedelta(microseconds=1)
            assert outcome(score_order(facts[order_id], earlier)) == outcome(expected)
        got = (score, counted, perfect, mature)
        assert got == (
            expected.score,
            expected.counted_problem,
            expected.is_perfect,
            expected.is_mature,
        ), order_id
        if score is None:
            assert "not_scored" in expected.trace
            assert (recount, counted_in) == (None, 0)
            continue
        assert counted_in == _counted_in_mask(facts[order_id], expected, NOW), order_id
        seen_counted.add(counted_in)
        # The first moment at which the clock alone moves the order into or out of a window.
        counted = _counted_in(facts[order_id], NOW)
        assert _counted_in(facts[order_id], recount) != counted, order_id
        assert _counted_in(facts[order_id], recount - timedelta(microseconds=1)) == counted
        trace = trace_of(
            fired_from_mask(fired),
            met_from_mask(bonus),
            placed_at=placed_at,
            promised_latest=promised[order_id],
        )
        assert trace == expected.trace, order_id
        seen_fired.add(fired)
        if not fired:
            seen_bonus.add(bonus)
    # Every combination was really reached, not only aimed at.
    assert seen_fired == set(range(1 << len(FIRED_ORDER)))
    # Each place an order can count in was reached, and most of their combinations.
    assert [any(mask & (1 << bit) for mask in seen_counted) for bit in range(len(COUNTED_IN))] == [
        True
    ] * len(COUNTED_IN)
    assert len(seen_counted) >= 20
    assert seen_bonus == set(range(1 << len(BONUS_CONDITIONS)))
    assert sum(1 for result in python.values() if result.score is None) == 2
    assert seen_due >= 20


@pytest.mark.django_db
def test_the_stored_trace_renders_what_the_python_scorer_says(shopper, seller):
    rng = random.Random(7)
    batch = _Batch(shopper, seller)
    for mask in (0, 0b1, 0b1000100, 0b1111111):
        _aimed_order(batch, rng, set(fired_from_mask(mask)), None)
    batch.order(
        status="cancelled",
        cancelled_by="buyer",
        placed_at=NOW - timedelta(days=4),
        ship_by=(NOW - timedelta(days=2)).date(),
    )
    order_ids = batch.save()
    services.full_recompute(now=NOW)
    python = _python_scores(order_ids)
    for stored in OrderScore.objects.select_related("order").filter(order_id__in=order_ids):
        assert stored.trace == python[stored.order_id].trace


@pytest.mark.django_db
def test_the_full_recompute_writes_only_the_scores_that_changed(shopper, seller):
    _good_orders(shopper, seller, 20, seed=8)
    services.full_recompute(now=NOW)
    first = dict(OrderScore.objects.values_list("order_id", "computed_at"))
    later = NOW + timedelta(hours=1)
    services.full_recompute(now=later)
    unchanged = dict(OrderScore.objects.values_list("order_id", "computed_at"))
    # An hour later only orders crossing the 30-day maturity line or a 24-hour reply deadline, or
    # the edge of a metric's window, have moved, and only their rows were written.
    moved = {order for order, at in unchanged.items() if at != first[order]}

    before, after = _python_scores(list(first)), _python_scores(list(first), now=later)
    facts = {order.pk: order_facts for order, order_facts in services.facts_for(list(first))}
    rescored = {order for order in first if outcome(before[order]) != outcome(after[order])}
    recounted = {
        order
        for order in first
        if _counted_in(facts[order], NOW) != _counted_in(facts[order], later)
    }
    assert moved == rescored | recounted
    assert len(rescored) >= 2
    assert SellerRating.objects.get(seller=seller).computed_at == later


@pytest.mark.django_db
def test_orders_leave_the_rating_once_older_than_the_window(shopper, seller):
    _good_orders(shopper, seller, 12, seed=9)
    services.full_recompute(now=NOW)
    assert OrderScore.objects.count() == 12
    after = FIRST_PLACED + WINDOW + timedelta(days=100)
    services.full_recompute(now=after)
    assert OrderScore.objects.count() == 0
    rating = SellerRating.objects.get(seller=seller)
    assert (rating.score, rating.scored_orders) == (None, 0)


@pytest.mark.django_db
def test_a_date_the_calendar_does_not_cover_stops_the_scoring(shopper, seller):
    batch = _Batch(shopper, seller)
    batch.order(
        status="delivered",
        placed_at=NOW - timedelta(days=3),
        ship_by=NOW.date(),
        shipped_at=NOW - timedelta(days=2),
        delivered_at=datetime(1999, 12, 31, tzinfo=UTC),
    )
    order_ids = batch.save()
    with pytest.raises(DatabaseError, match="does not cover 1999-12-31"):
        sql.scores_select(NOW, order_ids)
    connection.needs_rollback = False


@pytest.mark.django_db(transaction=True)
def test_parallel_refreshes_and_new_events_end_equal_to_the_full_recompute(
    shopper, seller, seller_b
):
    """Two refreshes claim dirty orders at once while events keep marking them again: every order
    is rescored, none twice in one claim, and the result is what a full recompute gives."""
    order_ids = _good_orders(shopper, seller, 40, seed=10) + _good_orders(
        shopper, seller_b, 40, seed=11
    )
    sellers = dict(Order.objects.values_list("pk", "seller_id"))
    services.orders_mark_dirty([(order_id, sellers[order_id]) for order_id in order_ids])
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def refresh() -> None:
        try:
            barrier.wait()
            services.refresh_dirty(now=NOW, batch_size=7)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connection.close()

    def events() -> None:
        try:
            barrier.wait()
            for start in range(0, len(order_ids), 10):
                chunk = order_ids[start : start + 10]
                # The state changes with its events, as the outbox guarantees.
                GuaranteeClaim.objects.bulk_create(
                    GuaranteeClaim(order_id=order_id, reason="x", filed_at=NOW)
                    for order_id in chunk[::2]
                )
                services.orders_mark_dirty([(order_id, sellers[order_id]) for order_id in chunk])
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=target) for target in (refresh, refresh, events)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    services.refresh_dirty(now=NOW)
    assert not DirtyOrder.objects.exists()

    def state():
        return (
            sorted(OrderScore.objects.values_list("order_id", "score", "counted_problem", "fired")),
            sorted(SellerRating.objects.values_list("seller_id", "score", "metrics")),
        )

    incremental = state()
    assert sum(score == -500 for _order, score, _problem, _fired in incremental[0]) == 40
    OrderScore.objects.all().delete()
    SellerRating.objects.all().delete()
    services.full_recompute(now=NOW)
    assert state() == incremental


@pytest.mark.django_db
def test_a_refresh_of_many_sellers_reads_everyone_but_writes_only_them(
    monkeypatch, shopper, seller, seller_b
):
    mine = _good_orders(shopper, seller, 12, seed=12)
    _good_orders(shopper, seller_b, 12, seed=13)
    services.full_recompute(now=NOW)
    # Marked, so that a rewrite shows; at NOW nothing of hers is due for a rescore by time alone.
    untouched = NOW - timedelta(days=1)
    SellerRating.objects.filter(seller=seller_b).update(computed_at=untouched)
    GuaranteeClaim.objects.create(order_id=mine[0], reason="x", filed_at=NOW)
    services.orders_mark_dirty([(mine[0], seller.pk)])
    monkeypatch.setattr(services, "SELLERS_BY_INDEX_MAX", 0)
    later = NOW
    services.refresh_dirty(now=later)
    assert SellerRating.objects.get(seller=seller_b).computed_at == untouched
    refreshed = SellerRating.objects.values("score", "metrics").get(seller=seller)
    assert refreshed["metrics"]["order_defect_rate"]["numerator"] == 1
    services.full_recompute(now=later)
    assert SellerRating.objects.values("score", "metrics").get(seller=seller) == refreshed


# What a stored rating holds besides its seller and weighting.
_RATING_COLUMNS = ("score", "band", "scored_orders", "mature_orders", "metrics", "metric_counts")


def _stored_state():
    return (
        sorted(
            OrderScore.objects.values_list(
                "order_id",
                "score",
                "counted_problem",
                "is_mature",
                "fired",
                "bonus",
                "counted_in",
                "rescore_at",
                "recount_at",
            )
        ),
        sorted(SellerRating.objects.values_list("seller_id", *_RATING_COLUMNS)),
    )


@pytest.mark.django_db
def test_time_alone_rescores_the_due_orders_as_a_rederivation_would(shopper, seller, seller_b):
    """No event between the moments: the refresh finds the orders whose maturity, reply deadline,
    ship-by day or place in a window has passed, and rescores them or drops them; what it leaves
    is what the nightly recompute and rederiving everything give."""
    _good_orders(shopper, seller, 30, seed=14)
    _good_orders(shopper, seller_b, 30, seed=15)
    batch = _Batch(shopper, seller)
    # Placed, not shipped, ship-by tomorrow: late once the day after it begins.
    batch.order(placed_at=NOW - timedelta(days=1), ship_by=(NOW + timedelta(days=1)).date())
    waiting = batch.order(placed_at=NOW - timedelta(days=1), ship_by=NOW.date())
    batch.add(waiting, BuyerMessage, body="?", sent_at=NOW - timedelta(hours=2))
    batch.save()
    services.full_recompute(now=NOW)
    forty_days = NOW + timedelta(days=40)
    moments = [NOW + timedelta(hours=23), NOW + timedelta(days=2), forty_days]
    # Later the orders leave the metrics' windows, then the rating's.
    moments += [NOW + timedelta(days=100), NOW + timedelta(days=400)]
    for moment in moments:
        due = OrderScore.objects.filter(
            Q(rescore_at__lte=moment) | Q(recount_at__lte=moment)
        ).count()
        assert due > 0
        assert services.refresh_dirty(now=moment) == due
        incremental = _stored_state()
        written = dict(SellerRating.objects.values_list("seller_id", "computed_at"))
        services.nightly_recompute(now=moment)
        assert _stored_state() == incremental
        # The refresh left the nightly recompute nothing to change.
        assert dict(SellerRating.objects.values_list("seller_id", "computed_at")) == written
        services.full_recompute(now=moment)
        assert _stored_state() == incremental, moment
        if moment == forty_days:
            # Every order is mature or waits for an event (the two never shipped).
            assert not OrderScore.objects.filter(rescore_at__isnull=False).exists()
            unshipped = OrderScore.objects.filter(score__isnull=False, is_mature=False)
            assert unshipped.count() == 2
    # A year on, every order has left the window: its score is gone and no seller counts it.
    assert not OrderScore.objects.exists()
    assert set(SellerRating.objects.values_list("scored_orders", flat=True)) == {0}


@pytest.mark.django_db
def test_the_nightly_recompute_rewrites_only_changed_ratings_and_history_moves(
    shopper, seller, seller_b
):
    orders = _good_orders(shopper, seller, 15, seed=16)
    services.full_recompute(now=NOW)  # too few mature orders yet: not yet rated
    quiet = NOW + timedelta(days=60)  # every order mature, nothing left to change by time
    services.nightly_recompute(now=quiet)
    # The next day a claim costs her points.
    claimed = quiet + timedelta(days=1, hours=6)
    GuaranteeClaim.objects.create(order_id=orders[0], reason="x", filed_at=claimed)
    services.orders_mark_dirty([(orders[0], seller.pk)])
    services.refresh_dirty(now=claimed)
    before = dict(SellerRating.objects.values_list("seller_id", "computed_at"))
    assert before[seller.pk] == claimed
    next_night = quiet + timedelta(days=2)
    services.nightly_recompute(now=next_night)
    assert dict(SellerRating.objects.values_list("seller_id", "computed_at")) == before
    # A history row for each day the score or band moved, none for the quiet night; the history
    # read gives every day.
    rows = list(
        RatingHistory.objects.filter(seller=seller).order_by("day").values_list("day", "score")
    )
    assert [day for day, _ in rows] == [NOW.date(), quiet.date(), claimed.date()]
    assert rows[0][1] is None
    assert rows[1][1] > rows[2][1]
    history = selectors.seller_history(seller.pk, now=next_night)
    assert [point.day for point in history] == [
        NOW.date() + timedelta(days=offset) for offset in range(63)
    ]
    assert [point.score for point in history] == [None] * 60 + [rows[1][1]] + [rows[2][1]] * 2
    rating = SellerRating.objects.get(seller=seller)
    assert (history[-1].score, history[-1].band) == (rating.score, rating.band)
    # A seller without orders has one row, from the first time she was rated at all.
    assert list(RatingHistory.objects.filter(seller=seller_b).values_list("day", "score")) == [
        (NOW.date(), None)
    ]


@pytest.mark.django_db
def test_the_recompute_command_runs_the_nightly_job_or_the_rederivation(shopper, seller):
    _good_orders(shopper, seller, 12, seed=17)
    out = StringIO()
    call_command("recompute_ratings", stdout=out)
    # Nothing was scored yet and nothing is due: the nightly job rates from what is stored.
    assert "Recomputed the ratings of" in out.getvalue()
    assert not OrderScore.objects.exists()
    call_command("recompute_ratings", "--rederive", stdout=out)
    assert "Rederived 12 order scores" in out.getvalue()
    assert OrderScore.objects.count() == 12
    assert SellerRating.objects.get(seller=seller).scored_orders == 12


@pytest.mark.django_db
@pytest.mark.parametrize(
    "drift",
    [
        {"score": F("score") + 0.01},
        {"score": None, "band": ""},
        {"scored_orders": F("scored_orders") + 1},
        {"mature_orders": F("mature_orders") - 1},
        {"metric_counts": [9] * 8},
        {"weighting_version": "exp-decay-half-life-30d-v0"},
    ],
    ids=["score", "unrated", "scored", "mature", "metric-counts", "weighting"],
)
def test_the_nightly_recompute_puts_back_a_stored_rating_that_drifted(shopper, seller, drift):
    """Each way a stored rating can differ from its scores makes the seller a candidate for the
    recompute's comparison, which then writes the rating its scores give."""
    _good_orders(shopper, seller, 15, seed=18)
    moment = NOW + timedelta(days=60)
    services.full_recompute(now=moment)

    def stored():
        return list(
            SellerRating.objects.filter(seller=seller).values_list(
                *_RATING_COLUMNS, "weighting_version"
            )
        )

    right = stored()
    assert right[0][0] is not None  # rated
    SellerRating.objects.filter(seller=seller).update(**drift)
    assert stored() != right
    services.nightly_recompute(now=moment)
    assert stored() == right
