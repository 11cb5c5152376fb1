from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def production_like(settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    return Client()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/products/", "/admin/login/", "/dashboard/login/"])
def test_security_headers_on_api_admin_and_dashboard(production_like, path):
    response = production_like.get(path, secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_cookies_are_secure_and_http_only(production_like, seller):
    page = production_like.get("/dashboard/login/", secure=True)
    assert page.cookies["csrftoken"]["secure"] is True
    production_like.post(
        "/dashboard/login/",
        {
            "username": seller.owner.email,
            "password": "correct-horse-battery",
            "csrfmiddlewaretoken": page.cookies["csrftoken"].value,
        },
        secure=True,
    )
    session = production_like.cookies["sessionid"]
    assert session["secure"] is True
    assert session["httponly"] is True


def test_production_hashes_passwords_with_argon2():
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_ENV": "production",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "shop.example.com",
        "DATABASE_URL": "postgresql://a:b@db:5432/c",
        "REDIS_URL": "redis://cache:6379/0",
        "TESTING": "0",
    }
    code = (
        "import os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings';"
        "from django.conf import settings; print(settings.PASSWORD_HASHERS[0])"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "django.contrib.auth.hashers.Argon2PasswordHasher"


def _login(client, email, password, ip, forwarded=None):
    extra = {"REMOTE_ADDR": ip}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post(
        "/api/auth/token/",
        {"email": email, "password": password},
        content_type="application/json",
        **extra,
    )


@pytest.mark.django_db
def test_brute_force_from_rotating_addresses_locks_them_but_the_owner_gets_in(settings, shopper):
    settings.AXES_ENABLED = True
    attacker = Client()
    codes = [
        _login(attacker, shopper.email, f"guess-{n}", f"198.51.100.{n % 4}").json()["code"]
        for n in range(40)
    ]
    # The fifth failure from an address locks it: four answered guesses per address, then 429.
    assert codes.count("login_failed") == 16
    assert codes.count("login_locked") == 24
    spoofed = _login(attacker, shopper.email, "guess", "198.51.100.1", forwarded="203.0.113.250")
    assert spoofed.json()["code"] == "login_locked"
    owner = _login(Client(), shopper.email, "correct-horse-battery", "192.0.2.10")
    assert owner.status_code == 200
    assert owner.json()["token"]
