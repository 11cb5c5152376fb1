"""The product page with the shippability check (signed-in shopper with a default address) against
the same page without it: same authentication, same gunicorn, same concurrency, alternated in
rounds. Target >= 0.95x. Also counts the SQL of a warm check (target 0: the rules are cached in
process) and times one warm check in process."""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Measure, Result, adopt, child_env, fresh_database, gunicorn

OFFERS = 5


def _setup() -> tuple[int, str]:
    import django

    django.setup()
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from fulfillment.models import (
        ShippingRule,
        ShippingTemplate,
        Warehouse,
        WarehouseCoverage,
        WarehouseStock,
    )
    from marketplace.models import Address, Category, Offer, Product, Seller, User

    call_command("migrate", verbosity=0)
    product = Product.objects.create(
        category=Category.objects.create(name="C", slug="c"), title="Console"
    )
    warehouse = Warehouse.objects.create(code="ber1", name="Berlin", city="Berlin", country="DE")
    WarehouseCoverage.objects.create(warehouse=warehouse, country="DE")
    for index in range(OFFERS):
        seller = Seller.objects.create(
            owner=User.objects.create(email=f"s{index}@bench.test"), display_name=f"S{index}"
        )
        offer = Offer.objects.create(
            seller=seller,
            product=product,
            price=f"4{index}9.00",
            stock=10,
            fulfilment_channel="platform" if index % 2 else "seller",
        )
        WarehouseStock.objects.create(warehouse=warehouse, offer=offer, quantity=5)
        template = ShippingTemplate.objects.create(seller=seller, name="T", is_default=True)
        ShippingRule.objects.create(template=template, country="DE")
    shopper = User.objects.create(email="shopper@bench.test")
    Address.objects.create(
        owner=shopper,
        name="S",
        line1="x",
        city="Berlin",
        postal_code="10115",
        country="DE",
        is_default=True,
    )
    token = Token.objects.create(user=shopper, key=uuid.uuid4().hex)
    return product.pk, token.key


def _warm_check_queries(product_id: int) -> tuple[int, list[str], float]:
    """SQL of warm checks (target 0), their reasons, and the cost of one warm check in µs."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from fulfillment import services
    from marketplace.models import Address, Offer

    offers = list(
        Offer.objects.select_related("seller", "product__category").filter(product_id=product_id)
    )
    address = Address.objects.get()
    reasons = [services.shippability(offer, address).reason_code for offer in offers]  # warm
    with CaptureQueriesContext(connection) as queries:
        for offer in offers:
            services.shippability(offer, address)
    rounds = 2000
    started = time.perf_counter()
    for _ in range(rounds):
        for offer in offers:
            services.shippability(offer, address)
    per_check = (time.perf_counter() - started) / (rounds * len(offers)) * 1e6
    return len(queries), reasons, per_check


def _load(url: str, token: str, total: int, concurrency: int, name: str) -> tuple[Measure, int]:
    import requests

    errors = 0
    lock = threading.Lock()
    local = threading.local()

    def fetch(_: int) -> None:
        nonlocal errors
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.headers["Authorization"] = f"Token {token}"
        if session.get(url, timeout=30).status_code != 200:
            with lock:
                errors += 1

    for index in range(50):
        fetch(index)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(fetch, range(total)))
    return Measure(name, total, time.perf_counter() - started), errors


def _cpu_per_request(urls: dict[str, str], token: str, rounds: int = 12) -> dict[str, float]:
    """CPU time of the web code per request, in this process (Django's test client), best of
    several alternated rounds: what the check costs the web tier, whatever else the machine runs."""
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    batch = 200
    for url in urls.values():
        for _ in range(batch):
            assert client.get(url).status_code == 200
    best: dict[str, float] = {}
    for index in range(rounds):
        pairs = list(urls.items())
        for name, url in pairs if index % 2 == 0 else reversed(pairs):
            started = time.process_time()
            for _ in range(batch):
                client.get(url)
            spent = (time.process_time() - started) / batch
            best[name] = min(best.get(name, spent), spent)
    return best


def run(total: int = 4000, concurrency: int = 8, workers: int = 2, rounds: int = 8) -> Result:
    database_url = fresh_database("bench_shippability")
    env = child_env(database_url, ROOT_URLCONF="bench.urls")
    adopt(env)
    product_id, token = _setup()
    warm_queries, reasons, per_check = _warm_check_queries(product_id)
    urls = {"with": f"/api/products/{product_id}/", "without": f"/bench/products/{product_id}/"}
    seconds = {"with": 0.0, "without": 0.0}
    round_ratios = []
    errors = 0
    per_round = total // rounds
    with gunicorn(env, workers=workers) as base:
        # Alternate the two in several rounds, so drift of a shared machine hits both equally;
        # each round's own ratio compares two measurements taken seconds apart.
        for index in range(rounds):
            pairs = list(urls.items())
            this_round = {}
            for name, url in pairs if index % 2 == 0 else reversed(pairs):
                measure, failed = _load(f"{base}{url}", token, per_round, concurrency, name)
                seconds[name] += measure.seconds
                this_round[name] = measure.seconds
                errors += failed
            round_ratios.append(this_round["without"] / this_round["with"])
    cpu = _cpu_per_request(urls, token)
    done = per_round * rounds
    candidate = Measure("product page with shippability", done, seconds["with"])
    baseline = Measure("same page without the check", done, seconds["without"])
    return Result(
        title=f"shippability on the product page: {done} requests each, concurrency {concurrency}",
        candidate=candidate,
        baseline=baseline,
        unit="req/s",
        target_ratio=0.95,
        notes=[
            f"median of {rounds} per-round ratios: {statistics.median(round_ratios):.2f}"
            f" (min {min(round_ratios):.2f}, max {max(round_ratios):.2f})",
            f"web CPU per request in process: {cpu['with'] * 1e6:.0f} µs with the check,"
            f" {cpu['without'] * 1e6:.0f} µs without (ratio {cpu['without'] / cpu['with']:.2f})",
            f"SQL queries of {OFFERS} warm checks: {warm_queries}",
            f"one warm check in process: {per_check:.1f} µs",
            f"decisions: {reasons}",
        ],
        gates={
            "every response 200": errors == 0,
            "warm check issues no SQL": warm_queries == 0,
            "every offer shippable to the shopper": set(reasons) == {"ok"},
        },
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    result = run(args.requests, args.concurrency, args.workers, args.rounds)
    return 0 if result.report() else 1


if __name__ == "__main__":
    sys.exit(main())
