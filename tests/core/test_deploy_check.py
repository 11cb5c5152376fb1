"""Production settings pass Django's deployment checklist with zero warnings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def test_production_settings_pass_check_deploy_at_warning_level():
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ENV": "production",
        "SECRET_KEY": "p" * 20 + "-a-long-random-production-secret-0123456789-xyz",
        "ALLOWED_HOSTS": "shop.example.com",
        "DATABASE_URL": "postgresql://shop:secret@db.internal:5432/shop",
        "REDIS_URL": settings.REDIS_URL,
        "TESTING": "0",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    print("\nRELIABILITY | check --deploy --fail-level WARNING, production settings | 0 issues")


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ENV": "production",
        "ALLOWED_HOSTS": "shop.example.com",
        "DATABASE_URL": "postgresql://shop:secret@db.internal:5432/shop",
        "REDIS_URL": settings.REDIS_URL,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
