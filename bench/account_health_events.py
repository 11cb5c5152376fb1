"""Account health under a stream of violation events for 10,000 sellers.

Prints the cost per event in the first and the last slice of the stream (O(1): the ratio stays near
1 however many violations have accumulated), the throughput of the outbox path, and the latency from
a violation's commit to its points in the score (p50/p99), with a producer at a bounded rate and the
relay running concurrently, as a worker would."""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Measure, Result, adopt, child_env, fresh_database

SELLERS = 10_000


def _setup() -> list[int]:
    import django

    django.setup()
    from django.core.management import call_command

    from marketplace.models import Seller, User

    call_command("migrate", verbosity=0)
    owners = User.objects.bulk_create(
        [User(email=f"s{i}@bench.test", password="!") for i in range(SELLERS)]
    )
    sellers = Seller.objects.bulk_create(
        [Seller(owner=o, display_name=f"S{i}") for i, o in enumerate(owners)]
    )
    return [seller.pk for seller in sellers]


def _open(seller_ids: list[int], rng: random.Random) -> None:
    from account_health import services
    from marketplace.models import Seller

    seller = Seller(pk=rng.choice(seller_ids))
    services.violation_open(
        seller, policy_code=rng.choice(["listing_accuracy", "off_platform_contact"]), facts="bench"
    )


def _relay_loop(stop: Any) -> None:
    from core import outbox

    while not stop.is_set():
        if outbox.relay() == 0:
            time.sleep(0.005)


def _produce(job: tuple[int, int, float, list[int]]) -> dict[int, float]:
    """Open ``count`` violations at ``rate`` a second; returns when each one committed."""
    from account_health import services
    from marketplace.models import Seller

    count, seed, rate, seller_ids = job
    rng = random.Random(seed)
    opened_at = {}
    next_at = time.perf_counter()
    for _ in range(count):
        violation = services.violation_open(
            Seller(pk=rng.choice(seller_ids)), policy_code="listing_accuracy", facts="latency"
        )
        opened_at[violation.pk] = time.time()
        next_at += 1 / rate
        time.sleep(max(0.0, next_at - time.perf_counter()))
    return opened_at


_SYNTHETIC = """
WITH opened AS (
    INSERT INTO account_health_violation
        (created_at, updated_at, severity, affected_orders, is_repeat, points, source, status,
         facts, seller_statement, opened_at, policy_id, seller_id)
    SELECT now(), now(), 'medium', 1, false, 50, 'staff', 'open', 'synthetic', '', now(), %s, seller
    FROM unnest(%s::bigint[]) AS seller
    RETURNING id, seller_id, points
)
INSERT INTO core_outboxevent (id, topic, payload, created_at, attempts, last_error)
SELECT gen_random_uuid(), 'violation.opened',
       jsonb_build_object('violation_id', id, 'seller_id', seller_id, 'points', points), now(), 0, ''
FROM opened
RETURNING (payload ->> 'violation_id')::bigint
"""


def _produce_synthetic(
    seconds: float, rate: int, seller_ids: list[int], policy_id: int
) -> dict[int, float]:
    """Violations and their events written as the service writes them (one transaction with both),
    but many per statement: the rate the score must keep up with, not what one ORM call costs."""
    from django.db import connection

    rng = random.Random(11)
    tick = 0.05
    per_tick = max(1, round(rate * tick))
    opened_at: dict[int, float] = {}
    started = time.perf_counter()
    next_at = started
    with connection.cursor() as cursor:
        while time.perf_counter() - started < seconds:
            cursor.execute(_SYNTHETIC, [policy_id, rng.sample(seller_ids, per_tick)])
            committed = time.time()  # autocommit: the statement's return is its commit
            opened_at.update((row[0], committed) for row in cursor.fetchall())
            next_at += tick
            time.sleep(max(0.0, next_at - time.perf_counter()))
    return opened_at


def _latencies(opened_at: dict[int, float]) -> list[float]:
    from account_health.models import LedgerEntry

    deadline = time.time() + 60
    while time.time() < deadline and LedgerEntry.objects.filter(
        violation_id__in=list(opened_at)
    ).count() < len(opened_at):
        time.sleep(0.2)
    applied = dict(
        LedgerEntry.objects.filter(violation_id__in=list(opened_at)).values_list(
            "violation_id", "created_at"
        )
    )
    return sorted(applied[pk].timestamp() - opened_at[pk] for pk in opened_at if pk in applied)


def run(events: int = 6000, rate: int = 1000) -> Result:
    database_url = fresh_database("bench_account_health")
    env = child_env(database_url)
    adopt(env)
    seller_ids = _setup()
    from django.db import connections

    from account_health.models import LedgerEntry, Violation
    from core import outbox
    from core.models import OutboxEvent

    rng = random.Random(7)
    slice_size = events // 6
    # Phase 1: cost per event (open + relay) as violations accumulate.
    costs = []
    for _slice in range(6):
        started = time.perf_counter()
        for _ in range(slice_size):
            _open(seller_ids, rng)
        outbox.relay()
        costs.append((time.perf_counter() - started) / slice_size)
    first, last = costs[0], costs[-1]

    # Phase 2: latency from commit to score. Producers and the relay are separate processes, as
    # web workers and an outbox worker would be: one Python process cannot open 1,000 a second.
    latency_events = min(5 * rate, events)
    producers = max(1, rate // 150)
    connections.close_all()  # the forked children open their own
    context = multiprocessing.get_context("fork")
    stop = context.Event()
    relayer = context.Process(target=_relay_loop, args=(stop,))
    relayer.start()
    produce_started = time.perf_counter()
    with context.Pool(producers) as pool:
        batches = pool.map(
            _produce,
            [
                (latency_events // producers, seed, rate / producers, seller_ids)
                for seed in range(producers)
            ],
        )
    produced_rate = sum(len(batch) for batch in batches) / (time.perf_counter() - produce_started)
    opened_at = {pk: at for batch in batches for pk, at in batch.items()}
    latency_events = len(opened_at)
    latencies = _latencies(opened_at)

    # Phase 3: the score under 1,000 events a second, whatever producing them costs.
    from account_health.models import Policy

    policy_id = Policy.objects.get(code="listing_accuracy").pk
    synthetic = _produce_synthetic(8.0, rate, seller_ids, policy_id)
    synthetic_latencies = _latencies(synthetic)
    stop.set()
    relayer.join()
    synthetic_p99 = synthetic_latencies[int(len(synthetic_latencies) * 0.99) - 1]
    synthetic_rate = len(synthetic) / 8.0
    p50 = statistics.median(latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    total_violations = Violation.objects.count()
    pending = OutboxEvent.objects.filter(processed_at__isnull=True).count()
    return Result(
        title=f"account health: {events} violation events over {SELLERS} sellers, then {latency_events} at {rate}/s",
        candidate=Measure(
            "last slice (most violations accumulated)", slice_size, last * slice_size
        ),
        baseline=Measure("first slice", slice_size, first * slice_size),
        unit="events/s",
        target_ratio=0.8,
        notes=[
            f"cost per event by slice (ms): {[round(cost * 1000, 2) for cost in costs]}",
            f"latency commit -> score: p50 {p50:.3f} s, p99 {p99:.3f} s over {len(latencies)} events"
            f" produced at {produced_rate:.0f}/s by {producers} producers",
            f"at {synthetic_rate:.0f} events/s written in statements of {round(rate * 0.05)}: "
            f"p50 {statistics.median(synthetic_latencies):.3f} s, p99 {synthetic_p99:.3f} s "
            f"over {len(synthetic_latencies)} events",
            f"violations in the table at the end: {total_violations}",
        ],
        gates={
            "every event applied exactly once": len(latencies) == latency_events
            and len(synthetic_latencies) == len(synthetic)
            and LedgerEntry.objects.filter(cause="violation_opened").count() == total_violations,
            "no event left pending": pending == 0,
            "p99 latency <= 5 s": p99 <= 5.0,
            f"p99 latency <= 5 s at {rate}/s": synthetic_p99 <= 5.0
            and synthetic_rate >= 0.95 * rate,
        },
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=6000)
    parser.add_argument("--rate", type=int, default=1000)
    args = parser.parse_args()
    return 0 if run(args.events, args.rate).report() else 1


if __name__ == "__main__":
    sys.exit(main())
