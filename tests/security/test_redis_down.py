"""With Redis (cache and throttles) unreachable, the API answers 503 with Retry-After and writes
nothing half-way; PostgreSQL stays the only place an accepted order lives."""

from __future__ import annotations

import pytest

from marketplace.models import Offer, Order
from tests.conftest import client_for


@pytest.mark.django_db
def test_checkout_without_redis_is_a_clean_503_and_changes_nothing(shopper, offer, redis_gone):
    response = client_for(shopper).post(
        "/api/checkout/",
        {
            "address_id": shopper.addresses.get().pk,
            "lines": [{"offer_id": offer.pk, "quantity": 1}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="redis-down",
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "service_unavailable"
    assert Order.objects.count() == 0
    assert Offer.objects.get(pk=offer.pk).stock == 10


@pytest.mark.django_db
def test_health_says_the_cache_is_down(client, redis_gone):
    response = client.get("/health/?celery=0")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "cache": "down", "celery": "skipped"}
