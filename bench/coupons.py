"""Coupons: code validation against a bare view doing one primary-key lookup (target >= 0.9x), and
checkout with a coupon against checkout without (target: at most 15 % slower). Gate: 50 parallel
checkouts with one single-use code give exactly one discounted order."""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
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

RACE = 50


def _setup(buyers: int) -> dict:
    import django

    django.setup()
    from django.core.management import call_command

    from marketplace.models import Category, Offer, Product, Seller, User
    from promotions import services
    from promotions.models import Campaign

    call_command("migrate", verbosity=0)
    shoppers = shoppers_create(2 * buyers + 1, prefix="b")
    users = User.objects.in_bulk([shopper.user_id for shopper in shoppers])
    seller = Seller.objects.create(
        owner=User.objects.create(email="s@bench.test"), display_name="S"
    )
    product = Product.objects.create(
        category=Category.objects.create(name="C", slug="c"), title="Thing"
    )
    offer = Offer.objects.create(seller=seller, product=product, price="20.00", stock=1_000_000)
    from django.utils import timezone

    campaign = Campaign.objects.create(
        name="Bench",
        kind="custom",
        discount_type="percent",
        percent=10,
        currency="EUR",
        starts_at=timezone.now() - timezone.timedelta(days=1),
        ends_at=timezone.now() + timezone.timedelta(days=1),
    )
    codes = [
        services.coupon_issue_personal(campaign, customer=users[shopper.user_id]).code
        for shopper in shoppers[:buyers]
    ]
    race_code = codes[-1]
    return {
        "offer": offer.pk,
        "with_coupon": [
            (s.token, s.address_id, codes[i]) for i, s in enumerate(shoppers[: buyers - 1])
        ],
        "without": [(s.token, s.address_id, None) for s in shoppers[buyers : 2 * buyers - 1]],
        "race": (shoppers[buyers - 1].token, shoppers[buyers - 1].address_id, race_code),
        "validator": (shoppers[0].token, codes[0]),
    }


def _post_many(
    base: str, path: str, bodies: list[tuple[str, dict]], concurrency: int, name: str
) -> tuple[Measure, dict[int, int]]:
    import requests

    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def send(item: tuple[str, dict]) -> None:
        token, body = item
        response = requests.post(
            f"{base}{path}",
            json=body,
            timeout=60,
            headers={"Authorization": f"Token {token}", "Idempotency-Key": uuid.uuid4().hex},
        )
        with lock:
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(send, bodies))
    return Measure(name, len(bodies), time.perf_counter() - started), statuses


def run(buyers: int = 400, concurrency: int = 8, workers: int = 2) -> list[Result]:
    database_url = fresh_database("bench_coupons")
    env = child_env(database_url, ROOT_URLCONF="bench.coupons_urls")
    adopt(env)
    data = _setup(buyers)
    offer = data["offer"]
    line = [{"offer_id": offer, "quantity": 1}]
    with gunicorn(env, workers=workers) as base:
        import requests

        token, code = data["validator"]
        validation_body = {"code": code, "lines": line}
        session = requests.Session()

        validate_statuses: dict[int, int] = {}
        lock = threading.Lock()

        # The candidate and both baselines go through the same client (one shared session, the
        # same body and token for the two POSTs), so that neither side pays for client work the
        # other does not: the client shares the machine with the server.
        def validate(_: int) -> None:
            response = session.post(
                f"{base}/api/coupons/validate/",
                json=validation_body,
                headers={"Authorization": f"Token {token}"},
                timeout=30,
            )
            with lock:
                validate_statuses[response.status_code] = (
                    validate_statuses.get(response.status_code, 0) + 1
                )

        def lookup(_: int) -> None:
            session.get(f"{base}/bench/lookup/{offer}/", timeout=30)

        def api_lookup(_: int) -> None:
            session.post(
                f"{base}/bench/api-lookup/",
                json=validation_body,
                headers={"Authorization": f"Token {token}"},
                timeout=30,
            )

        def timed(function, count: int) -> float:
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                list(pool.map(function, range(count)))
            return time.perf_counter() - started

        # Warm every worker on every path first, then alternate candidate and baselines in rounds,
        # so neither side profits from running later on a warmer (or less busy) machine.
        timed(validate, 100)
        timed(lookup, 100)
        timed(api_lookup, 100)
        validate_statuses.clear()
        rounds, per_round = 4, 500
        validate_seconds = lookup_seconds = api_seconds = 0.0
        for _round in range(rounds):
            validate_seconds += timed(validate, per_round)
            lookup_seconds += timed(lookup, per_round)
            api_seconds += timed(api_lookup, per_round)
        total = rounds * per_round
        validate = Measure("POST /api/coupons/validate/", total, validate_seconds)
        lookup_measure = Measure("bare view: one ORM primary-key lookup", total, lookup_seconds)
        api_measure = Measure("DRF view, same auth: one lookup", total, api_seconds)

        def bodies(rows):
            return [
                (tok, {"address_id": addr, "lines": line, **({"coupon_code": c} if c else {})})
                for tok, addr, c in rows
            ]

        with_rows, without_rows = bodies(data["with_coupon"]), bodies(data["without"])
        _post_many(base, "/api/checkout/", with_rows[:20], concurrency, "")  # warm-up
        _post_many(base, "/api/checkout/", without_rows[:20], concurrency, "")
        with_rows, without_rows = with_rows[20:], without_rows[20:]
        half_with, half_without = len(with_rows) // 2, len(without_rows) // 2
        with_seconds = without_seconds = 0.0
        with_statuses: dict[int, int] = {}
        without_statuses: dict[int, int] = {}
        for part_with, part_without in (
            (with_rows[:half_with], without_rows[:half_without]),
            (with_rows[half_with:], without_rows[half_without:]),
        ):
            measure, statuses = _post_many(base, "/api/checkout/", part_with, concurrency, "")
            with_seconds += measure.seconds
            for status, count in statuses.items():
                with_statuses[status] = with_statuses.get(status, 0) + count
            measure, statuses = _post_many(base, "/api/checkout/", part_without, concurrency, "")
            without_seconds += measure.seconds
            for status, count in statuses.items():
                without_statuses[status] = without_statuses.get(status, 0) + count
        with_coupon = Measure("checkout with a coupon", len(with_rows), with_seconds)
        without = Measure("checkout without a coupon", len(without_rows), without_seconds)
        race_token, race_address, race_code = data["race"]
        race_body = [
            (race_token, {"address_id": race_address, "lines": line, "coupon_code": race_code})
        ] * RACE
        _race, race_statuses = _post_many(base, "/api/checkout/", race_body, RACE, "race")

    from promotions.models import Redemption

    race_redemptions = Redemption.objects.filter(coupon__code=race_code).count()
    return [
        Result(
            title="coupon validation vs one ORM lookup",
            candidate=validate,
            baseline=lookup_measure,
            unit="req/s",
            target_ratio=0.9,
            notes=[
                f"{api_measure.name}: {api_measure.rate:.1f} req/s, validation / it = "
                f"{validate.rate / api_measure.rate:.2f} (what the coupon work itself costs)"
            ],
            gates={
                "every validation 200": set(validate_statuses) == {200}
                and sum(validate_statuses.values()) == total
            },
        ),
        Result(
            title="checkout with vs without a coupon (target: at most 15 % slower, ratio >= 0.85)",
            candidate=with_coupon,
            baseline=without,
            unit="orders/s",
            target_ratio=0.85,
            notes=[f"race statuses: {race_statuses}"],
            gates={
                "every checkout 201": set(with_statuses) == {201}
                and set(without_statuses) == {201}
                and len(with_rows) == sum(with_statuses.values()),
                f"{RACE} parallel checkouts with one code: exactly 1 redemption": race_redemptions
                == 1
                and race_statuses.get(201) == 1,
            },
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--buyers", type=int, default=400)
    args = parser.parse_args()
    passed = [result.report() for result in run(args.buyers)]  # report every result, then judge
    return 0 if all(passed) else 1


if __name__ == "__main__":
    sys.exit(main())
