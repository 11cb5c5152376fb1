"""Races over real HTTP: several gunicorn worker processes against the test database, many client
threads released together, and the assertions on the rows PostgreSQL holds afterwards.

- Idempotency-Key: a burst of one request replays one order; the same key while the first is
  still running is 409; the same key with another body is 422; another user's same key gives that
  user their own answer, never the first user's.
- 50 parallel checkouts with one single-use coupon: exactly one redemption.
- 50 parallel invitation requests by one account: one row.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
import requests
from django.utils import timezone
from rest_framework.authtoken.models import Token

from bench.harness import gunicorn
from core.models import IdempotencyRecord, OutboxEvent
from invitations.models import InvitationRequest
from marketplace.models import Offer, Order
from promotions import services as promotions
from promotions.models import CouponHolder, Redemption
from tests.factories import AddressFactory, OfferFactory, SellerFactory, UserFactory
from tests.fulfillment.factories import template
from tests.invitations.factories import BROWSER, customer, make_drop
from tests.promotions.factories import CampaignFactory
from tests.utils import child_env, database_url, parallel

PARALLEL = 50
WORKERS = 6


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    env = child_env(
        THROTTLE_USER="1000000/minute",
        THROTTLE_ANON="1000000/minute",
        LOG_LEVEL="ERROR",
        CONN_MAX_AGE="60",
        OUTBOX_WAKE_RELAY="0",
    )
    with django_db_blocker.unblock(), gunicorn(env, workers=WORKERS) as base:
        yield base


def _token(user) -> str:
    return f"Token {Token.objects.get_or_create(user=user)[0].key}"


def _shopper(email: str):
    user = UserFactory(email=email)
    AddressFactory(owner=user)
    return user


def _checkout(base: str, user, body: dict, key: str) -> requests.Response:
    return requests.post(
        f"{base}/api/checkout/",
        json=body,
        headers={"Authorization": _token(user), "Idempotency-Key": key},
        timeout=60,
    )


def _body(user, offer, quantity: int = 1) -> dict:
    return {
        "address_id": user.addresses.get().pk,
        "lines": [{"offer_id": offer.pk, "quantity": quantity}],
    }


def _offer(stock: int) -> Offer:
    seller = SellerFactory()
    template(seller)
    return OfferFactory(seller=seller, stock=stock, price=Decimal("20.00"))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_idempotency_key_over_http(server):
    shopper_a = _shopper("http.a@example.test")
    shopper_b = _shopper("http.b@example.test")
    shopper_c = _shopper("http.c@example.test")
    offer = _offer(stock=50)
    body = _body(shopper_a, offer)
    key = f"burst-{uuid.uuid4().hex}"

    # A burst of the same request with the same key: one order; the rest replay it or are told
    # that it is still running.
    burst = parallel(20, lambda _index: _checkout(server, shopper_a, body, key))
    statuses = Counter(response.status_code for response in burst)
    first = next(
        r for r in burst if r.status_code == 201 and "Idempotent-Replayed" not in r.headers
    )
    created = [r.json() for r in burst if r.status_code == 201]
    in_flight = [r.json()["code"] for r in burst if r.status_code == 409]
    assert set(statuses) <= {201, 409}
    assert all(answer == first.json() for answer in created)
    assert set(in_flight) <= {"idempotency_in_flight"}
    replay = _checkout(server, shopper_a, body, key)
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert Order.objects.filter(buyer=shopper_a).count() == 1
    assert Offer.objects.get(pk=offer.pk).stock == 49

    # Same key, another body: 422, nothing more written.
    other_body = _checkout(server, shopper_a, _body(shopper_a, offer, 2), key)
    assert other_body.status_code == 422
    assert other_body.json()["code"] == "idempotency_key_reused"

    # Same key, other users: each gets their own answer. B places B's own order; C, sending A's
    # very body (A's address), is told the address is not theirs, not shown A's order.
    for_b = _checkout(server, shopper_b, _body(shopper_b, offer), key)
    for_c = _checkout(server, shopper_c, body, key)
    a_order = first.json()["orders"][0]["id"]
    assert for_b.status_code == 201
    assert "Idempotent-Replayed" not in for_b.headers
    assert for_b.json()["orders"][0]["id"] == Order.objects.get(buyer=shopper_b).pk != a_order
    assert for_c.status_code == 404
    assert for_c.json()["code"] == "address_not_found"
    assert str(a_order) not in for_c.text
    assert first.json()["checkout_reference"] not in for_b.text + for_c.text
    assert Order.objects.filter(buyer=shopper_a).count() == 1
    assert Order.objects.filter(buyer=shopper_c).count() == 0
    assert Offer.objects.get(pk=offer.pk).stock == 48
    print(
        f"\nRELIABILITY | Idempotency-Key over HTTP | burst of 20: {dict(sorted(statuses.items()))}"
        f", 1 order; replay 201 (replayed); other body {other_body.status_code}; other users: "
        f"own order {for_b.status_code}, A's body {for_c.status_code} {for_c.json()['code']}; "
        "0 leaks"
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_same_key_while_the_first_is_in_flight_is_409_over_http(server):
    shopper = _shopper("http.flight@example.test")
    offer = _offer(stock=5)
    body = _body(shopper, offer)
    key = f"flight-{uuid.uuid4().hex}"
    answers: dict[str, requests.Response] = {}

    # Hold the offer's row from outside, so the first request stops inside its checkout with its
    # key claimed; the second arrives while it is there.
    with psycopg.connect(database_url()) as blocker:
        blocker.execute("SELECT 1 FROM marketplace_offer WHERE id = %s FOR UPDATE", [offer.pk])
        first = threading.Thread(
            target=lambda: answers.update(first=_checkout(server, shopper, body, key))
        )
        first.start()
        deadline = time.monotonic() + 30
        while not IdempotencyRecord.objects.filter(user_id=shopper.pk, key=key).exists():
            assert time.monotonic() < deadline, "the first request never claimed its key"
            time.sleep(0.05)
        second = _checkout(server, shopper, body, key)
        blocker.rollback()
    first.join(60)

    assert second.status_code == 409
    assert second.json()["code"] == "idempotency_in_flight"
    assert answers["first"].status_code == 201
    assert Order.objects.filter(buyer=shopper).count() == 1
    assert IdempotencyRecord.objects.get(key=key).state == IdempotencyRecord.State.DONE
    print(
        "\nRELIABILITY | Idempotency-Key in flight over HTTP | second request "
        f"{second.status_code} {second.json()['code']}, first {answers['first'].status_code}, "
        "1 order"
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_fifty_parallel_redemptions_of_one_single_use_coupon_over_http(server):
    buyer = _shopper("http.coupon@example.test")
    offer = _offer(stock=PARALLEL)
    coupon = promotions.coupon_issue_personal(
        CampaignFactory(percent=Decimal("25"), budget=Decimal("1000")), customer=buyer
    )
    body = {**_body(buyer, offer), "coupon_code": coupon.display_code}

    answers = parallel(
        PARALLEL, lambda index: _checkout(server, buyer, body, f"coupon-{index}-{uuid.uuid4()}")
    )
    statuses = Counter(response.status_code for response in answers)
    codes = Counter(r.json()["code"] for r in answers if r.status_code != 201)
    assert statuses[201] == 1
    assert codes == Counter({"coupon_used_up": PARALLEL - 1})
    assert Redemption.objects.filter(coupon=coupon).count() == 1
    assert CouponHolder.objects.get(coupon=coupon).uses == 1
    assert Order.objects.filter(buyer=buyer).count() == 1
    assert Order.objects.get(buyer=buyer).discount_total == Decimal("5.00")
    assert Offer.objects.get(pk=offer.pk).stock == PARALLEL - 1
    print(
        f"\nRELIABILITY | {PARALLEL} parallel redemptions of one single-use coupon (HTTP, "
        f"{WORKERS} gunicorn workers) | {Redemption.objects.filter(coupon=coupon).count()} "
        f"redemption, 1 order; answers {dict(sorted(statuses.items()))}"
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_fifty_parallel_invitation_requests_by_one_account_over_http(server):
    now = timezone.now()
    drop = make_drop(opens=now - timedelta(hours=1), closes=now + timedelta(hours=1), now=now)
    user = customer(email="http.drop@example.test")
    headers = {"Authorization": _token(user), "User-Agent": BROWSER}

    answers = parallel(
        PARALLEL,
        lambda _index: requests.post(
            f"{server}/api/drops/{drop.pk}/requests/", json={}, headers=headers, timeout=60
        ),
    )
    stored = InvitationRequest.objects.get(drop=drop, customer=user)
    statuses = Counter(response.status_code for response in answers)
    assert statuses == Counter({201: 1, 200: PARALLEL - 1})
    assert {response.json()["id"] for response in answers} == {stored.pk}
    assert InvitationRequest.objects.filter(drop=drop, customer=user).count() == 1
    assert OutboxEvent.objects.filter(topic="invitation.requested").count() == 1
    print(
        f"\nRELIABILITY | {PARALLEL} parallel invitation requests by one account (HTTP, "
        f"{WORKERS} gunicorn workers) | "
        f"{InvitationRequest.objects.filter(drop=drop, customer=user).count()} row; answers "
        f"{dict(sorted(statuses.items()))}"
    )
