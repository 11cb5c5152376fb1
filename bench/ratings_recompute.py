"""Ratings on 1,000,000 orders of 10,000 sellers (flags for smaller runs).

1. The nightly recompute of every seller's rating and metrics from the stored scores of the
   window, against a plain SQL ``count(*) ... GROUP BY seller`` over the same window; beside it
   the day's rescoring of the orders that time made due, the weekly rederivation of every score
   from the orders (which must change nothing) and the first build into empty tables.
2. Incremental throughput: a stream of order events already in the outbox, relayed to ratings
   (coalesced per order) and refreshed, against the relay handing the same events to a Python
   handler that does nothing; beside it the relay's claim statement alone.
3. Freshness: a producer commits order changes with their events at a bounded rate while a Celery
   worker (relay and ratings refresh, as deployed) runs in its own process; the time from each
   commit to the rating that shows it.

Gates: sampled SQL scores equal the Python reference; the incremental result and the nightly
recompute equal a rederivation at the same moment; every freshness event becomes visible.
Orders are generated with set-based SQL (generate_series) in the order they were placed.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ROOT, Measure, Result, adopt, child_env, fresh_database

DATABASE = "bench_ratings_h_ratings"
RATINGS_ONLY_TOPICS = ("order.shipped", "message.sent", "feedback.left", "refund.issued")
NIGHTLY_RUNS = 5


def _generate(orders: int, sellers: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO marketplace_user (password, email, full_name, language, is_active, is_staff,"
            " is_superuser, date_joined) SELECT '!', 'u' || g || '@bench.test', '', 'en', true, false,"
            " false, now() FROM generate_series(1, %s) g",
            [sellers + 1],
        )
        cursor.execute(
            "INSERT INTO marketplace_seller (created_at, updated_at, owner_id, display_name, status,"
            " country) SELECT now(), now(), id, 'S' || id, 'active', 'DE' FROM marketplace_user"
            " WHERE email <> 'u1@bench.test'"
        )
        cursor.execute("SELECT min(id) FROM marketplace_user")
        buyer = cursor.fetchone()[0]
        cursor.execute("SELECT min(id) FROM marketplace_seller")
        low = cursor.fetchone()[0]
        # 400 days of orders, oldest first; the last day's still to ship, the last five days' in
        # transit; 1 % cancelled by the seller, 1 % by the buyer, 5 % shipped late, 2.5 % delivered
        # late, 4 % without valid tracking.
        cursor.execute(
            "INSERT INTO marketplace_order (created_at, updated_at, buyer_id, seller_id,"
            " checkout_reference, status, currency, subtotal, discount_total, total, ship_name,"
            " ship_line1, ship_line2, ship_city, ship_region, ship_postal_code, ship_country,"
            " fulfilment_channel, placed_at, ship_by, promised_delivery_earliest,"
            " promised_delivery_latest, shipped_at, carrier, tracking_number, has_valid_tracking,"
            " delivered_at, cancelled_at, cancelled_by, cancel_reason)"
            " SELECT p, p, %(buyer)s, %(low)s + (g::bigint * 7919) %% %(sellers)s, gen_random_uuid(),"
            "  CASE WHEN g %% 100 < 2 THEN 'cancelled' WHEN p > now() - interval '1 day' THEN 'placed'"
            "   WHEN p > now() - interval '5 days' THEN 'shipped' ELSE 'delivered' END,"
            "  'EUR', 20, 0, 20, 'N', 'x', '', 'B', '', '10115', 'DE', 'seller', p,"
            "  (p + interval '2 days')::date, (p + interval '3 days')::date,"
            "  (p + interval '5 days')::date,"
            "  CASE WHEN g %% 100 < 2 OR p > now() - interval '1 day' THEN NULL"
            "   WHEN g %% 20 = 3 THEN p + interval '3 days' ELSE p + interval '1 day' END,"
            "  'dhl', '00340434161234567890', g %% 25 <> 5,"
            "  CASE WHEN g %% 100 < 2 OR p > now() - interval '5 days' THEN NULL"
            "   WHEN g %% 40 = 7 THEN p + interval '7 days'"
            "   ELSE p + interval '2 days' + (g %% 3) * interval '1 day' END,"
            "  CASE WHEN g %% 100 < 2 THEN p + interval '1 hour' END,"
            "  CASE WHEN g %% 100 = 0 THEN 'seller' WHEN g %% 100 = 1 THEN 'buyer' ELSE '' END, ''"
            " FROM (SELECT g, now() - interval '400 days' + g * (interval '400 days' / %(orders)s)"
            "       AS p FROM generate_series(1, %(orders)s) g) AS series",
            {"buyer": buyer, "low": low, "sellers": sellers, "orders": orders},
        )
        for statement in (
            "INSERT INTO marketplace_guaranteeclaim (order_id, reason, status, filed_at)"
            " SELECT id, 'x', 'open', placed_at + interval '10 days' FROM marketplace_order"
            " WHERE id %% 200 = 0",
            "INSERT INTO marketplace_chargeback (order_id, amount, currency, is_seller_fault,"
            " filed_at) SELECT id, 20, 'EUR', id %% 600 = 1, placed_at + interval '20 days'"
            " FROM marketplace_order WHERE id %% 300 = 1",
            "INSERT INTO marketplace_feedback (order_id, rating, comment, left_at)"
            " SELECT id, 1 + (id / 10) %% 5, '', placed_at + interval '6 days'"
            " FROM marketplace_order WHERE id %% 10 = 2",
            "INSERT INTO marketplace_buyermessage (order_id, body, sent_at, reply_body, replied_at)"
            " SELECT id, '?', placed_at + interval '2 hours', '',"
            "  CASE WHEN id %% 60 = 4 THEN placed_at + interval '30 hours'"
            "   ELSE placed_at + interval '3 hours' END"
            " FROM marketplace_order WHERE id %% 20 = 4",
            "INSERT INTO marketplace_refund (order_id, kind, amount, currency, reason, issued_at)"
            " SELECT id, 'refund', 5, 'EUR', '', placed_at + interval '8 days'"
            " FROM marketplace_order WHERE id %% 50 = 9",
        ):
            cursor.execute(statement, [])
        cursor.execute("VACUUM ANALYZE")


def _timed(func):
    started = time.perf_counter()
    value = func()
    return value, time.perf_counter() - started


def _count(now) -> int:
    """The baseline: a plain SQL count of each seller's orders over the same window."""
    from django.db import connection

    from ratings.constants import WINDOW

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT seller_id, count(*) FROM marketplace_order WHERE placed_at > %s"
            " GROUP BY seller_id",
            [now - WINDOW],
        )
        return len(cursor.fetchall())


def _baseline(now) -> float:
    """The plain count, best of three (its first run warms the cache for everyone)."""
    return min(_timed(lambda: _count(now))[1] for _ in range(3))


def _snapshot() -> tuple[list, list]:
    from ratings.models import OrderScore, SellerRating

    return (
        sorted(
            SellerRating.objects.values_list(
                "seller_id", "score", "band", "scored_orders", "mature_orders", "metrics"
            )
        ),
        sorted(
            OrderScore.objects.values_list(
                "order_id",
                "score",
                "counted_problem",
                "is_perfect",
                "is_mature",
                "fired",
                "bonus",
                "counted_in",
                "rescore_at",
                "recount_at",
            )
        ),
    )


def _python_agrees(now, sample: int) -> bool:
    from ratings import services
    from ratings.models import OrderScore
    from ratings.scoring import score_order

    ids = list(OrderScore.objects.order_by("?").values_list("order_id", flat=True)[:sample])
    stored = {row.order_id: row for row in OrderScore.objects.filter(order_id__in=ids)}
    for order, facts in services.facts_for(ids):
        expected = score_order(facts, now)
        row = stored[order.pk]
        if (row.score, row.counted_problem, row.is_perfect, row.is_mature) != (
            expected.score,
            expected.counted_problem,
            expected.is_perfect,
            expected.is_mature,
        ):
            return False
    return len(ids) == sample


def _vacuum_scores() -> None:
    """What autovacuum does after a bulk insert or many updates (its insert threshold since
    PostgreSQL 13): without it an index-only scan visits the heap for every new row."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE ratings_orderscore")


def _full_recompute(orders: int, sellers: int, generated: float) -> tuple[Result, object]:
    from django.db.models import Q
    from django.utils import timezone

    from ratings import services
    from ratings.models import OrderScore, SellerRating

    now = timezone.now()
    baseline = _baseline(now)
    scored, first = _timed(lambda: services.full_recompute(now=now))
    _vacuum_scores()
    # The next night: during the day the refresh loop (every 3 s) rescored the orders that time
    # made due (30 days after delivery, a reply overdue, a ship-by day passed, an edge of the
    # rating's or a metric's window passed) and refreshed their sellers; here at once.
    nightly_now = now + timedelta(days=1)
    due = OrderScore.objects.filter(
        Q(rescore_at__lte=nightly_now) | Q(recount_at__lte=nightly_now)
    ).count()
    _, day = _timed(lambda: services.refresh_dirty(now=nightly_now))
    _vacuum_scores()

    def ratings() -> dict:
        return {
            row[0]: row[1:]
            for row in SellerRating.objects.values_list(
                "seller_id", "score", "computed_at", "metrics"
            )
        }

    refreshed = ratings()
    # The nightly recompute and the count take turns, five times each, so that both meet the same
    # moments of the machine (a run here varies by a fifth from the next); each side's best counts,
    # the count's over its first three runs too, and the medians and the first nightly run are
    # reported beside. After the day's refreshes the first run should find nothing to change, and
    # every run does the same work.
    runs, counts = [], []
    for _ in range(NIGHTLY_RUNS):
        counts.append(_timed(lambda: _count(nightly_now))[1])
        runs.append(_timed(lambda: services.nightly_recompute(now=nightly_now))[1])
    nightly = min(runs)
    changed = sum(1 for seller, row in ratings().items() if refreshed.get(seller) != row)
    incremental = _snapshot()
    _, rederived = _timed(lambda: services.full_recompute(now=nightly_now))
    agrees = _snapshot() == incremental
    baseline = min(baseline, *counts)
    medians = statistics.median(runs) / statistics.median(counts)
    result = Result(
        title=f"ratings full recompute: {orders} orders of {sellers} sellers (generated in"
        f" {generated:.0f} s)",
        candidate=Measure("nightly recompute of every seller over a stored year", scored, nightly),
        baseline=Measure("plain SQL count(*) GROUP BY seller", scored, baseline),
        unit="orders/s",
        target_ratio=0.5,
        notes=[
            f"orders in the window: {scored}; count: {baseline:.3f} s (best; taking turns"
            f" {', '.join(f'{run:.3f}' for run in counts)} s); nightly:"
            f" {', '.join(f'{run:.3f}' for run in runs)} s, best {nightly / baseline:.2f}x the"
            f" count, median {medians:.2f}x the count's median, first run"
            f" {runs[0] / baseline:.2f}x; ratings it changed after the day's refreshes: {changed}",
            f"the day's rescoring by time alone: {due} orders due, {day:.2f} s (spread over the"
            " day's refreshes)",
            f"weekly rederivation of every score from the orders: {rederived:.2f} s"
            f" ({rederived / baseline:.0f}x the count); first build into empty tables:"
            f" {first:.2f} s",
        ],
        gates={
            "every seller rated or marked not yet rated": SellerRating.objects.count() == sellers,
            "2,000 sampled SQL scores equal the Python scorer": _python_agrees(nightly_now, 2000),
            "the day's due rescoring was not empty": due > 0,
            "rederiving every score changes nothing the incremental path and the nightly"
            " recompute left": agrees,
        },
    )
    return result, nightly_now


def _stream_events(count: int, distinct: int, topics: tuple[str, ...], *, change: bool) -> None:
    """``count`` events on ``distinct`` recent orders, each order's state changed first when
    ``change`` (a feedback of 1 to 5 stars)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.id, o.seller_id FROM marketplace_order o WHERE o.status = 'delivered'"
            " AND o.placed_at > now() - interval '50 days'"
            " AND NOT EXISTS (SELECT 1 FROM marketplace_feedback f WHERE f.order_id = o.id)"
            " ORDER BY random() LIMIT %s",
            [distinct],
        )
        targets = cursor.fetchall()
        ids = [order_id for order_id, _ in targets]
        if change:
            cursor.execute(
                "INSERT INTO marketplace_feedback (order_id, rating, comment, left_at)"
                " SELECT id, 1 + id %% 5, '', now() FROM unnest(%s::bigint[]) AS t(id)",
                [ids],
            )
        cursor.execute(
            "INSERT INTO core_outboxevent (id, topic, payload, created_at, attempts, last_error)"
            " SELECT gen_random_uuid(), (%s::text[])[1 + g %% %s],"
            "  jsonb_build_object('order_id', t.id, 'seller_id', t.seller_id),"
            "  clock_timestamp(), 0, ''"
            " FROM generate_series(0, %s - 1) g"
            " JOIN unnest(%s::bigint[], %s::bigint[]) WITH ORDINALITY AS t(id, seller_id, n)"
            "  ON t.n = 1 + g %% %s",
            [list(topics), len(topics), count, ids, [s for _, s in targets], len(ids)],
        )


def _drain() -> int:
    from core import outbox

    handled = 0
    while True:
        done = outbox.relay()
        if done == 0:
            return handled
        handled += done


def _account_health_told() -> None:
    """Account health's handling of the metrics-changed events (one transaction each, its own
    benchmark's subject) is left out of these timings: the events are marked handled."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_outboxevent SET processed_at = now()"
            " WHERE topic = 'ratings.metrics_changed' AND processed_at IS NULL"
        )


def _ignore(events: list) -> None:
    del events


def _incremental(events: int, now) -> Result:
    from core import outbox
    from ratings import services
    from ratings.models import DirtyOrder

    _account_health_told()
    distinct = events // 4
    # Baseline: the relay alone, handing the same kind of events to a batch handler that does
    # nothing.
    outbox.register_batch("bench.nothing")(_ignore)
    _stream_events(events, distinct, ("bench.nothing",), change=False)
    _, relay_alone = _timed(_drain)
    # The floor beside it: the claim statement alone, with a handler that reads the events in the
    # database and writes nothing.
    outbox.register_sql(
        "bench.claim_only", name="bench.claim_only", statement="SELECT count(*) FROM {events}"
    )
    _stream_events(events, distinct, ("bench.claim_only",), change=False)
    _, claim_alone = _timed(_drain)
    _stream_events(events, distinct, RATINGS_ONLY_TOPICS, change=True)
    _, relayed = _timed(_drain)
    dirty = DirtyOrder.objects.count()
    _, refreshed = _timed(lambda: services.refresh_dirty(now=now))
    _account_health_told()
    incremental = _snapshot()
    services.full_recompute(now=now)
    return Result(
        title=f"ratings incremental: {events} order events on {distinct} orders, coalesced into"
        f" {dirty} dirty orders",
        candidate=Measure("events relayed, marked and refreshed", events, relayed + refreshed),
        baseline=Measure("events relayed to a do-nothing handler", events, relay_alone),
        unit="events/s",
        notes=[
            f"relay with ratings' handler: {relayed:.2f} s; refresh of {dirty} orders and their"
            f" sellers: {refreshed:.2f} s; target >= 10,000 events/s:"
            f" {events / (relayed + refreshed):,.0f}",
            f"the relay's claim alone (a handler in the database that writes nothing):"
            f" {claim_alone:.2f} s, {events / claim_alone:,.0f} events/s",
        ],
        gates={
            "incremental equals a full recompute at the same moment": incremental == _snapshot()
        },
    )


def _worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "config",
            "worker",
            "--queues",
            "outbox,scores",
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env={**env, "OUTBOX_WAKE_RELAY": "1"},
        start_new_session=True,
    )


# What the freshness producer changes: a claim (the seller's defect rate moves, so account health
# reacts in the same worker) or an unanswered buyer message over a day old (the score moves, the
# rate metrics do not). Each: the table, the event topic, the bit of OrderScore.fired it sets.
CHANGES = {
    "claim": ("marketplace_guaranteeclaim", "claim.filed", 1 << 0),
    "message": ("marketplace_buyermessage", "message.sent", 1 << 5),
}


def _change(kind: str, order_id: int, now) -> None:
    from marketplace.models import BuyerMessage, GuaranteeClaim

    if kind == "claim":
        GuaranteeClaim.objects.create(order_id=order_id, reason="bench", filed_at=now)
    else:
        BuyerMessage.objects.create(order_id=order_id, body="?", sent_at=now - timedelta(hours=25))


def _freshness(kind: str, rate: float, seconds: float, env: dict[str, str]) -> Result:
    from django.core.cache import cache
    from django.db import connection, transaction
    from django.utils import timezone

    from core import outbox

    table, topic, bit = CHANGES[kind]
    cache.clear()  # this benchmark's own Redis database: no stale refresh flag or task
    _account_health_told()  # what an earlier phase left for account health is not this one's load
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.id, o.seller_id FROM marketplace_order o WHERE o.status = 'delivered'"
            " AND o.placed_at > now() - interval '50 days'"
            f" AND NOT EXISTS (SELECT 1 FROM {table} c WHERE c.order_id = o.id)"
            " ORDER BY random() LIMIT %s",
            [int(rate * seconds)],
        )
        targets = cursor.fetchall()
    worker = _worker(env)
    committed: dict[int, float] = {}
    seen: dict[int, float] = {}
    stop = threading.Event()

    def poll() -> None:
        from django.db import connection as own

        while not stop.is_set():
            waiting = [order for order in committed if order not in seen]
            if waiting:
                with own.cursor() as cursor:
                    cursor.execute(
                        "SELECT order_id FROM ratings_orderscore WHERE order_id = ANY(%s)"
                        " AND fired & %s <> 0",
                        [waiting, bit],
                    )
                    at = time.monotonic()
                    for (order_id,) in cursor.fetchall():
                        seen[order_id] = at
            time.sleep(0.02)
        own.close()

    try:
        time.sleep(3)  # the worker connects to the broker
        poller = threading.Thread(target=poll)
        poller.start()
        started = time.monotonic()
        for index, (order_id, seller_id) in enumerate(targets):
            time.sleep(max(0.0, started + index / rate - time.monotonic()))
            with transaction.atomic():
                _change(kind, order_id, timezone.now())
                outbox.emit(topic, {"order_id": order_id, "seller_id": seller_id})
            committed[order_id] = time.monotonic()
        produced = time.monotonic() - started
        deadline = time.monotonic() + 30
        while len(seen) < len(committed) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
    poller.join()
    latencies = sorted(seen[order] - committed[order] for order in seen)
    p50 = statistics.median(latencies) if latencies else float("inf")
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] if latencies else float("inf")
    return Result(
        title=f"ratings freshness: {len(committed)} {kind}s at {rate:.0f}/s, Celery worker"
        " (relay + refresh, concurrency 2) in its own process",
        candidate=Measure(f"{kind}s committed", len(committed), produced),
        baseline=Measure(f"{kind}s visible in the rating", len(seen), produced),
        unit="events/s",
        notes=[
            f"commit -> visible rating: p50 {p50:.2f} s, p99 {p99:.2f} s, max"
            f" {latencies[-1] if latencies else float('inf'):.2f} s (target p99 <= 5 s)"
        ],
        gates={
            f"every {kind} became visible": len(seen) == len(committed),
            "p99 commit -> visible rating <= 5 s": p99 <= 5.0,
        },
    )


def run(orders: int, sellers: int, events: int, rates: list[float], seconds: float) -> list[Result]:
    database_url = fresh_database(DATABASE)
    env = child_env(database_url)
    adopt(env)
    os.environ["OUTBOX_WAKE_RELAY"] = "1"
    import django

    django.setup()
    random.seed(6)
    _, generated = _timed(lambda: _generate(orders, sellers))
    full, now = _full_recompute(orders, sellers, generated)
    full.report()
    incremental = _incremental(events, now)
    incremental.report()
    results = [full, incremental]
    for rate in rates:
        for kind in CHANGES:
            results.append(_freshness(kind, rate, seconds, env))
            results[-1].report()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--sellers", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument(
        "--rates", default="25,100", help="freshness: producer rates (events/s), comma-separated"
    )
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    results = run(
        args.orders,
        args.sellers,
        args.events,
        [float(rate) for rate in args.rates.split(",")],
        args.seconds,
    )
    return 0 if all(all(result.gates.values()) for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
