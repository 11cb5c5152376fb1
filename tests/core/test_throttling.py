"""The politeness throttles count per window in Redis, one round trip a request."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from core.api.throttling import ScopedRateThrottle, UserRateThrottle


class ThreePerMinute(UserRateThrottle):
    rate = "3/minute"


def _request(user):
    request = APIRequestFactory().get("/api/products/")
    force_authenticate(request, user=user)
    return APIView().initialize_request(request)


@pytest.mark.django_db
def test_the_fourth_request_in_a_window_is_refused_per_account(shopper, shopper_b):
    throttle = ThreePerMinute()
    answers = [throttle.allow_request(_request(shopper), None) for _ in range(4)]
    assert answers == [True, True, True, False]
    assert 0 < throttle.wait() <= 60
    assert ThreePerMinute().allow_request(_request(shopper_b), None) is True

    keys = list(cache._cache.get_client().scan_iter(match="*throttle_user*"))
    assert keys, "the counter lives in Redis"
    assert all(0 < cache._cache.get_client().ttl(key) <= 61 for key in keys)


@pytest.mark.django_db
def test_a_new_window_starts_a_new_count(shopper, monkeypatch):
    clock = [1_000_000.0]
    throttle = ThreePerMinute()
    monkeypatch.setattr(throttle, "timer", lambda: clock[0])
    assert [throttle.allow_request(_request(shopper), None) for _ in range(4)][-1] is False
    clock[0] += 60
    assert throttle.allow_request(_request(shopper), None) is True


class TinyScope(ScopedRateThrottle):
    THROTTLE_RATES = {"tiny": "2/minute"}


class TinyView(APIView):
    throttle_scope = "tiny"


@pytest.mark.django_db
def test_a_scoped_throttle_takes_its_rate_from_the_view(shopper):
    throttle = TinyScope()
    view = TinyView()
    assert [throttle.allow_request(_request(shopper), view) for _ in range(3)] == [
        True,
        True,
        False,
    ]
    assert TinyScope().allow_request(_request(shopper), APIView()) is True  # no scope: no limit
