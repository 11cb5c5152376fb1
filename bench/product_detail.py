"""GET /api/products/{id}/ against a bare Django JSON view, both through gunicorn at the same
concurrency. Prints requests/s of each, the ratio and the SQL queries of one product page."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Measure, Result, adopt, child_env, fresh_database, gunicorn


def _setup() -> int:
    import django

    django.setup()
    from django.core.management import call_command

    from marketplace.models import Category, Offer, Product, Seller, User

    call_command("migrate", verbosity=0)
    product = Product.objects.create(
        category=Category.objects.create(name="Consoles", slug="consoles"), title="Console"
    )
    for index in range(5):
        owner = User.objects.create(email=f"seller{index}@bench.test")
        seller = Seller.objects.create(owner=owner, display_name=f"Seller {index}")
        Offer.objects.create(seller=seller, product=product, price=f"4{index}9.00", stock=10)
    return product.pk


def _queries_of_one_page(product_id: int) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.get(f"/api/products/{product_id}/")  # warm
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/api/products/{product_id}/")
    return len(queries)


def _load(url: str, requests_total: int, concurrency: int, name: str) -> tuple[Measure, int]:
    import requests

    errors = 0
    lock = threading.Lock()
    local = threading.local()

    def fetch(_: int) -> None:
        nonlocal errors
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        response = session.get(url, timeout=30)
        if response.status_code != 200:
            with lock:
                errors += 1

    for index in range(50):  # warm every worker
        fetch(index)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(fetch, range(requests_total)))
    return Measure(name, requests_total, time.perf_counter() - started), errors


def run(requests_total: int = 3000, concurrency: int = 16, workers: int = 4) -> Result:
    database_url = fresh_database("bench_product_detail")
    env = child_env(database_url, ROOT_URLCONF="bench.urls")
    adopt(env)
    product_id = _setup()
    queries = _queries_of_one_page(product_id)
    with gunicorn(env, workers=workers) as base:
        candidate, candidate_errors = _load(
            f"{base}/api/products/{product_id}/",
            requests_total,
            concurrency,
            "GET /api/products/{id}/",
        )
        baseline, baseline_errors = _load(
            f"{base}/bench/bare/", requests_total, concurrency, "bare Django JsonResponse view"
        )
    return Result(
        title=f"product detail: {requests_total} requests, concurrency {concurrency}, {workers} workers",
        candidate=candidate,
        baseline=baseline,
        unit="req/s",
        notes=[f"SQL queries for one product page: {queries}"],
        gates={
            "every response 200": candidate_errors == 0 and baseline_errors == 0,
            "product page query count is bounded (<= 3)": queries <= 3,
        },
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    return 0 if run(args.requests, args.concurrency, args.workers).report() else 1


if __name__ == "__main__":
    sys.exit(main())
