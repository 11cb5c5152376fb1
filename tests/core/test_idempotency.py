"""Idempotency-Key on POST /api/checkout/: replay, other body, in flight, other user."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from core.models import IdempotencyRecord
from marketplace.models import Offer, Order
from tests.conftest import client_for
from tests.factories import OfferFactory


def _body(shopper, offer, quantity=1):
    return {
        "address_id": shopper.addresses.get().pk,
        "lines": [{"offer_id": offer.pk, "quantity": quantity}],
    }


@pytest.mark.django_db
def test_checkout_without_key_is_refused_and_changes_nothing(shopper, offer):
    response = client_for(shopper).post("/api/checkout/", _body(shopper, offer), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_required"
    assert Order.objects.count() == 0
    assert Offer.objects.get(pk=offer.pk).stock == 10


@pytest.mark.django_db
def test_replay_with_same_key_and_body_returns_the_first_answer_and_one_order(shopper, offer):
    client = client_for(shopper)
    first = client.post(
        "/api/checkout/", _body(shopper, offer), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    second = client.post(
        "/api/checkout/", _body(shopper, offer), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert first.status_code == 201
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    assert Offer.objects.get(pk=offer.pk).stock == 9


@pytest.mark.django_db
def test_same_key_with_another_body_is_422_and_changes_nothing(shopper, offer):
    client = client_for(shopper)
    client.post("/api/checkout/", _body(shopper, offer), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    response = client.post(
        "/api/checkout/", _body(shopper, offer, 2), format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1
    assert Offer.objects.get(pk=offer.pk).stock == 9


@pytest.mark.django_db
def test_another_users_key_neither_replays_nor_leaks(shopper, shopper_b, offer):
    first = client_for(shopper).post(
        "/api/checkout/", _body(shopper, offer), format="json", HTTP_IDEMPOTENCY_KEY="shared"
    )
    other = client_for(shopper_b).post(
        "/api/checkout/", _body(shopper_b, offer), format="json", HTTP_IDEMPOTENCY_KEY="shared"
    )
    assert other.status_code == 201
    assert other.json()["orders"][0]["id"] != first.json()["orders"][0]["id"]
    assert "Idempotent-Replayed" not in other
    assert Order.objects.filter(buyer=shopper_b).count() == 1
    assert Order.objects.filter(buyer=shopper).count() == 1


@pytest.mark.django_db
def test_refusal_is_stored_and_replayed_too(shopper, offer):
    client = client_for(shopper)
    body = _body(shopper, offer, 11)
    first = client.post("/api/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    Offer.objects.filter(pk=offer.pk).update(stock=50)
    second = client.post("/api/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert first.status_code == 409
    assert first.json()["code"] == "out_of_stock"
    assert second.status_code == 409
    assert second.json() == first.json()
    assert Order.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_same_key_while_the_first_is_in_flight_is_409(shopper):
    slow_offer = OfferFactory(stock=5)
    body = _body(shopper, slow_offer)
    started = threading.Event()
    results: dict[str, int] = {}

    from checkout import services

    original = services._commit

    def slow_commit(*args, **kwargs):
        started.set()
        time.sleep(1.0)
        return original(*args, **kwargs)

    def first_request() -> None:
        try:
            response = client_for(shopper).post(
                "/api/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-slow"
            )
            results["first"] = response.status_code
        finally:
            connection.close()

    services._commit = slow_commit
    try:
        thread = threading.Thread(target=first_request)
        thread.start()
        assert started.wait(10)
        second = client_for(shopper).post(
            "/api/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-slow"
        )
        thread.join()
    finally:
        services._commit = original

    assert second.status_code == 409
    assert second.json()["code"] == "idempotency_in_flight"
    assert results["first"] == 201
    assert Order.objects.filter(buyer=shopper).count() == 1
    assert IdempotencyRecord.objects.get(key="k-slow").state == IdempotencyRecord.State.DONE


@pytest.mark.django_db
def test_a_worker_dying_after_the_commit_leaves_an_answer_that_the_retry_replays(
    shopper, offer, monkeypatch
):
    from checkout.api import views

    real_output = views.s.CheckoutOutput
    built = {"count": 0}

    def output_then_die(*args, **kwargs):
        built["count"] += 1
        if (
            built["count"] == 2
        ):  # the first is stored inside the transaction, the second is the reply
            raise SystemExit("worker killed after the commit")
        return real_output(*args, **kwargs)

    monkeypatch.setattr(views.s, "CheckoutOutput", output_then_die)
    client = client_for(shopper)
    with pytest.raises(SystemExit):
        client.post(
            "/api/checkout/", _body(shopper, offer), format="json", HTTP_IDEMPOTENCY_KEY="k-die"
        )
    monkeypatch.setattr(views.s, "CheckoutOutput", real_output)
    retry = client.post(
        "/api/checkout/", _body(shopper, offer), format="json", HTTP_IDEMPOTENCY_KEY="k-die"
    )
    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json()["orders"][0]["id"] == Order.objects.get().pk
    assert Order.objects.count() == 1
    assert Offer.objects.get(pk=offer.pk).stock == 9
