"""The product page with the shippability check (signed-in shopper with a default address) against
the same page without it, same authentication, same gunicorn, same concurrency. Target >= 0.95x.
Also counts the SQL of a warm check (target 0: the rules are cached in process)."""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Measure, Result, child_env, fresh_database, gunicorn

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


def _warm_check_queries(product_id: int) -> tuple[int, list[str]]:
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
    return len(queries), reasons


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


def run(total: int = 2000, concurrency: int = 8, workers: int = 2) -> Result:
    database_url = fresh_database("bench_shippability")
    env = child_env(database_url, ROOT_URLCONF="bench.urls")
    for key in ("DATABASE_URL", "REDIS_URL", "TESTING", "DJANGO_SETTINGS_MODULE", "ROOT_URLCONF"):
        os.environ[key] = env[key]
    product_id, token = _setup()
    warm_queries, reasons = _warm_check_queries(product_id)
    with gunicorn(env, workers=workers) as base:
        # Alternate the two in halves, so drift of the machine hits both equally.
        half = total // 2
        with_check_1, e1 = _load(
            f"{base}/api/products/{product_id}/", token, half, concurrency, "with check"
        )
        without_1, e2 = _load(
            f"{base}/bench/products/{product_id}/", token, half, concurrency, "without"
        )
        with_check_2, e3 = _load(
            f"{base}/api/products/{product_id}/", token, half, concurrency, "with check"
        )
        without_2, e4 = _load(
            f"{base}/bench/products/{product_id}/", token, half, concurrency, "without"
        )
    candidate = Measure(
        "product page with shippability", 2 * half, with_check_1.seconds + with_check_2.seconds
    )
    baseline = Measure(
        "same page without the check", 2 * half, without_1.seconds + without_2.seconds
    )
    return Result(
        title=f"shippability on the product page: {total} requests each, concurrency {concurrency}",
        candidate=candidate,
        baseline=baseline,
        unit="req/s",
        target_ratio=0.95,
        notes=[f"SQL queries of {OFFERS} warm checks: {warm_queries}", f"decisions: {reasons}"],
        gates={
            "every response 200": e1 + e2 + e3 + e4 == 0,
            "warm check issues no SQL": warm_queries == 0,
            "every offer shippable to the shopper": set(reasons) == {"ok"},
        },
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    return 0 if run(args.requests, args.concurrency, args.workers).report() else 1


if __name__ == "__main__":
    sys.exit(main())
