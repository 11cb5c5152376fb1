"""Checkout under load: 1,000 buyers for stock 100 over real HTTP (gunicorn) against a raw SQL
transaction doing the same conditional UPDATE + INSERT at the same concurrency.

Gate: exactly 100 sold in each, 0 server errors, every other buyer a clean ``out_of_stock``.
"""

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

from bench.harness import Measure, Result, child_env, fresh_database, gunicorn, shoppers_create

STOCK = 100


def _setup(buyers: int) -> tuple[int, list[tuple[str, int]]]:
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from marketplace.models import Category, Offer, Product, Seller, User

    call_command("migrate", verbosity=0)
    password = make_password("bench-pass-123")
    shoppers = shoppers_create(buyers)
    owner = User.objects.create(email="seller@bench.test", password=password)
    seller = Seller.objects.create(owner=owner, display_name="Bench seller")
    product = Product.objects.create(
        category=Category.objects.create(name="B", slug="b"), title="Console"
    )
    offer = Offer.objects.create(seller=seller, product=product, price="499.00", stock=STOCK)
    return offer.pk, [(shopper.token, shopper.address_id) for shopper in shoppers]


def _run_http(
    base: str, offer_id: int, buyers: list[tuple[str, int]], concurrency: int
) -> tuple[Measure, dict[int, int]]:
    import requests

    statuses: dict[int, int] = {}
    lock = threading.Lock()
    local = threading.local()

    def buy(buyer: tuple[str, int]) -> None:
        token, address_id = buyer
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        response = session.post(
            f"{base}/api/checkout/",
            json={"address_id": address_id, "lines": [{"offer_id": offer_id, "quantity": 1}]},
            headers={"Authorization": f"Token {token}", "Idempotency-Key": uuid.uuid4().hex},
            timeout=60,
        )
        with lock:
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(buy, buyers))
    return Measure(
        "HTTP POST /api/checkout/ (gunicorn)", len(buyers), time.perf_counter() - started
    ), statuses


def _run_sql(
    database_url: str, offer_id: int, buyers: list[tuple[str, int]], concurrency: int
) -> tuple[Measure, int]:
    import psycopg

    sold = 0
    lock = threading.Lock()
    local = threading.local()
    with psycopg.connect(database_url) as connection:
        buyer_ids = dict(
            connection.execute("SELECT id, owner_id FROM marketplace_address").fetchall()
        )
        seller_id = connection.execute(
            "SELECT seller_id FROM marketplace_offer WHERE id = %s", [offer_id]
        ).fetchone()[0]
        connection.execute(
            "UPDATE marketplace_offer SET stock = %s WHERE id = %s", [STOCK, offer_id]
        )
        connection.execute(
            "CREATE TABLE IF NOT EXISTS bench_raw_order (LIKE marketplace_order INCLUDING DEFAULTS)"
        )
        connection.execute("TRUNCATE bench_raw_order")
        connection.commit()

    def buy(buyer: tuple[str, int]) -> None:
        nonlocal sold
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = psycopg.connect(database_url)
        _token, address_id = buyer
        with connection.transaction():
            taken = connection.execute(
                "UPDATE marketplace_offer SET stock = stock - 1 WHERE id = %s AND stock >= 1",
                [offer_id],
            ).rowcount
            if taken == 1:
                connection.execute(
                    "INSERT INTO bench_raw_order (id, created_at, updated_at, buyer_id, seller_id,"
                    " checkout_reference, status, currency, subtotal, discount_total, total,"
                    " ship_name, ship_line1, ship_line2, ship_city, ship_region, ship_postal_code,"
                    " ship_country, fulfilment_channel, placed_at, ship_by, carrier, tracking_number,"
                    " has_valid_tracking, cancelled_by, cancel_reason)"
                    " VALUES (nextval('marketplace_order_id_seq'), now(), now(), %s, %s, gen_random_uuid(),"
                    " 'placed', 'EUR', 499, 0, 499, 'Bench', 'Street 1', '', 'Berlin', '', '10115',"
                    " 'DE', 'seller', now(), current_date + 1, '', '', false, '', '')",
                    [buyer_ids[address_id], seller_id],
                )
                with lock:
                    sold += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(buy, buyers))
    return Measure(
        "raw SQL UPDATE ... WHERE stock >= 1 + INSERT", len(buyers), time.perf_counter() - started
    ), sold


def run(buyers: int = 1000, concurrency: int = 50, workers: int = 4) -> Result:
    database_url = fresh_database("bench_checkout")
    env = child_env(database_url)
    os.environ.update(
        {
            key: env[key]
            for key in ("DATABASE_URL", "REDIS_URL", "TESTING", "DJANGO_SETTINGS_MODULE")
        }
    )
    if "CELERY_BROKER_URL" in env:
        os.environ["CELERY_BROKER_URL"] = env["CELERY_BROKER_URL"]
    offer_id, buyer_rows = _setup(buyers)
    with gunicorn(env, workers=workers) as base:
        candidate, statuses = _run_http(base, offer_id, buyer_rows, concurrency)
    from marketplace.models import Offer, Order, OrderLine

    orders = Order.objects.count()
    lines = OrderLine.objects.filter(offer_id=offer_id).count()
    stock_left = Offer.objects.get(pk=offer_id).stock
    baseline, sold_raw = _run_sql(database_url, offer_id, buyer_rows, concurrency)
    return Result(
        title=f"checkout: {buyers} buyers, stock {STOCK}, concurrency {concurrency}, {workers} gunicorn workers",
        candidate=candidate,
        baseline=baseline,
        unit="attempts/s",
        notes=[f"HTTP statuses: {dict(sorted(statuses.items()))}"],
        gates={
            "exactly 100 orders (HTTP)": orders == STOCK and lines == STOCK and stock_left == 0,
            "100 x 201 and the rest 409 out_of_stock": statuses.get(201) == STOCK
            and statuses.get(409) == buyers - STOCK,
            "0 server errors": not any(code >= 500 for code in statuses),
            "exactly 100 sold (raw SQL)": sold_raw == STOCK,
        },
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--buyers", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    return 0 if run(args.buyers, args.concurrency, args.workers).report() else 1


if __name__ == "__main__":
    sys.exit(main())
