"""Invitation requests under load: POST /api/drops/{id}/requests/ by distinct accounts against a bare
Django view in the same gunicorn, same concurrency. Every accepted request is durable before its
answer. Gate: rows in PostgreSQL equal the unique accepted requests."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    Measure,
    Result,
    adopt,
    child_env,
    fresh_database,
    gunicorn,
    shoppers_create,
)

ROUNDS = 4
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


def _setup(accounts: int) -> tuple[int, list[str]]:
    import django

    django.setup()
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from invitations import services
    from marketplace.models import Category, Offer, Product, Seller, User

    call_command("migrate", verbosity=0)
    now = timezone.now()
    shoppers = shoppers_create(accounts, prefix="c", joined=now - timedelta(days=400))
    seller = Seller.objects.create(
        owner=User.objects.create(email="s@bench.test"), display_name="S"
    )
    product = Product.objects.create(
        category=Category.objects.create(name="C", slug="c"), title="Console"
    )
    offer = Offer.objects.create(seller=seller, product=product, price="499.00", stock=100)
    drop = services.drop_create(
        offer=offer,
        units=100,
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(hours=2),
        eligible_countries=["DE"],
    )
    return drop.pk, [shopper.token for shopper in shoppers]


def _load(
    url: str, tokens: list[str], concurrency: int, name: str, method: str, offset: int = 0
) -> tuple[Measure, dict[int, int], list[float]]:
    import requests

    statuses: dict[int, int] = {}
    latencies: list[float] = []
    lock = threading.Lock()

    def send(position: int) -> None:
        token = tokens[position % len(tokens)]
        index = offset + position
        started = time.perf_counter()
        response = requests.request(
            method,
            url,
            timeout=60,
            headers={
                "Authorization": f"Token {token}",
                "User-Agent": BROWSER,
                "X-Forwarded-For": f"10.{index // 250}.{index % 250}.1",
            },
        )
        elapsed = time.perf_counter() - started
        with lock:
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            latencies.append(elapsed)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(send, range(len(tokens))))
    return Measure(name, len(tokens), time.perf_counter() - started), statuses, latencies


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]


def _spread(values: list[float]) -> str:
    ordered = sorted(values)
    points = [ordered[int(len(ordered) * share)] for share in (0.5, 0.9)]
    return "/".join(f"{value * 1000:.0f}" for value in (*points, p99(values), ordered[-1]))


def run(accounts: int = 2000, concurrency: int = 16, workers: int = 4) -> Result:
    database_url = fresh_database(f"bench_drops_{os.environ.get('BENCH_NAME', 'drops')}")
    # The application loads once in the gunicorn master, before it listens (config.wsgi warms it
    # up): workers boot by fork and the harness's health check is not outrun by a busy machine.
    env = child_env(database_url, ROOT_URLCONF="bench.urls", GUNICORN_CMD_ARGS="--preload")
    adopt(env)
    drop_id, tokens = _setup(accounts)
    with gunicorn(env, workers=workers) as base:
        # Bare and candidate alternate in rounds: a machine shared with other work changes speed
        # within a run, and each round's ratio shows how much.
        baseline = Measure("bare Django view", 0, 0.0)
        candidate = Measure("POST /api/drops/{id}/requests/", 0, 0.0)
        statuses: dict[int, int] = {}
        latency: list[float] = []
        base_latency: list[float] = []
        round_ratios = []
        size = -(-len(tokens) // ROUNDS)
        for start in range(0, len(tokens), size):
            chunk = tokens[start : start + size]
            bare, _base_statuses, bare_latency = _load(
                f"{base}/bench/bare/", chunk, concurrency, "bare", "GET", start
            )
            posted, round_statuses, post_latency = _load(
                f"{base}/api/drops/{drop_id}/requests/", chunk, concurrency, "post", "POST", start
            )
            for measure, part in ((baseline, bare), (candidate, posted)):
                measure.operations += part.operations
                measure.seconds += part.seconds
            for code, count in round_statuses.items():
                statuses[code] = statuses.get(code, 0) + count
            latency += post_latency
            base_latency += bare_latency
            round_ratios.append(posted.rate / bare.rate)
        _repeat, repeat_statuses, _ = _load(
            f"{base}/api/drops/{drop_id}/requests/", tokens[:200], concurrency, "repeat", "POST"
        )
    from invitations.models import InvitationRequest

    rows = InvitationRequest.objects.filter(drop_id=drop_id).count()
    return Result(
        title=f"drop intake: {accounts} accounts, concurrency {concurrency}, {workers} workers",
        candidate=candidate,
        baseline=baseline,
        unit="req/s",
        target_ratio=0.5,
        notes=[
            f"statuses: {statuses}; repeats: {repeat_statuses}",
            "ratio per round: " + ", ".join(f"{ratio:.2f}" for ratio in round_ratios),
            f"p99 latency: request {p99(latency) * 1000:.1f} ms vs bare {p99(base_latency) * 1000:.1f} ms "
            f"(x{p99(latency) / p99(base_latency):.2f}, target <= 2); median {statistics.median(latency) * 1000:.1f} ms",
            f"latency p50/p90/p99/max ms: request {_spread(latency)}; bare {_spread(base_latency)}",
        ],
        gates={
            "rows equal unique accepted requests": rows == statuses.get(201, 0) == accounts,
            "repeats answered 200 without a second row": repeat_statuses == {200: 200}
            and rows == accounts,
            "0 server errors": not any(code >= 500 for code in statuses),
        },
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=2000)
    args = parser.parse_args()
    return 0 if run(args.accounts).report() else 1


if __name__ == "__main__":
    sys.exit(main())
