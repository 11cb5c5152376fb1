"""Persona fixtures shared by every app's tests: two shoppers, two sellers, staff."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.utils.crypto import get_random_string
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import AddressFactory, OfferFactory, SellerFactory, UserFactory


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def calls_to(monkeypatch, owner, name: str) -> list:
    """The arguments of every call of ``owner.name`` from now on (each call still made)."""
    calls = []
    original = getattr(owner, name)

    def recording(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, recording)
    return calls


def session_post(user, url: str, body=None, **extra):
    """A JSON POST signed in with a session cookie and a valid CSRF token, as a browser sends it."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    secret = get_random_string(32)
    client.cookies["csrftoken"] = secret
    return client.post(
        url,
        "" if body is None else json.dumps(body),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=secret,
        **extra,
    )


@pytest.fixture
def redis_gone(settings, tmp_path):
    """Redis (cache and throttles) unreachable for this test: connecting fails fast."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"unix://{tmp_path}/nobody-listens.sock?db=0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    # Django's setting_changed signal rebuilds the cache handler, before and after.
    yield


@pytest.fixture
def shopper(db):
    user = UserFactory(email="shopper.a@example.test")
    AddressFactory(owner=user)
    return user


@pytest.fixture
def shopper_b(db):
    user = UserFactory(email="shopper.b@example.test")
    AddressFactory(owner=user, line1="Marienplatz 2", city="München", postal_code="80331")
    return user


@pytest.fixture
def seller(db):
    return SellerFactory(owner=UserFactory(email="seller.a@example.test"), display_name="Seller A")


@pytest.fixture
def seller_b(db):
    return SellerFactory(owner=UserFactory(email="seller.b@example.test"), display_name="Seller B")


@pytest.fixture
def staff(db):
    return UserFactory(email="staff@example.test", is_staff=True, is_superuser=True)


@pytest.fixture
def offer(seller):
    return OfferFactory(seller=seller, stock=10)


@pytest.fixture
def api():
    """An anonymous API client; ``api_as(user)`` gives an authenticated one."""
    return APIClient()


@pytest.fixture
def api_as():
    return client_for


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
