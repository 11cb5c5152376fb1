"""A tiny benchmark harness: a candidate and its baseline measured in the same run.

Each benchmark returns a :class:`Result` with both rates, and correctness gates that must hold; the
harness prints them side by side with the ratio and exits non-zero when a gate fails.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@dataclass
class Measure:
    name: str
    operations: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.operations / self.seconds if self.seconds else 0.0


@dataclass
class Result:
    title: str
    candidate: Measure
    baseline: Measure
    unit: str = "ops/s"
    target_ratio: float | None = None
    gates: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.candidate.rate / self.baseline.rate if self.baseline.rate else 0.0

    def report(self) -> bool:
        print(f"\n== {self.title}")
        for measure in (self.candidate, self.baseline):
            print(
                f"  {measure.name:<40} {measure.rate:>10.1f} {self.unit}"
                f"  ({measure.operations} in {measure.seconds:.2f} s)"
            )
        target = f" (target >= {self.target_ratio:.2f})" if self.target_ratio else ""
        print(f"  ratio candidate/baseline              {self.ratio:>10.2f}{target}")
        for note in self.notes:
            print(f"  {note}")
        ok = True
        for gate, passed in self.gates.items():
            print(f"  gate: {gate:<50} {'PASS' if passed else 'FAIL'}")
            ok = ok and passed
        return ok


@dataclass(frozen=True)
class Shopper:
    user_id: int
    email: str
    token: str
    address_id: int


def shoppers_create(
    count: int, *, prefix: str = "buyer", joined: datetime | None = None
) -> list[Shopper]:
    """``count`` shoppers with a default address in Berlin and an API token, in three statements.

    Needs Django set up. Addresses differ per shopper so address-based rules see separate homes.
    """
    import uuid

    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from marketplace.models import Address, User

    tag = uuid.uuid4().hex[:6]
    users = User.objects.bulk_create(
        [
            User(
                email=f"{prefix}{i}.{tag}@bench.test",
                password="!",
                date_joined=joined or timezone.now(),
            )
            for i in range(count)
        ]
    )
    addresses = Address.objects.bulk_create(
        [
            Address(
                owner=user,
                name="Bench",
                line1=f"Weg {user.pk}",
                city="Berlin",
                postal_code="10115",
                country="DE",
                is_default=True,
            )
            for user in users
        ]
    )
    tokens = Token.objects.bulk_create([Token(user=user, key=uuid.uuid4().hex) for user in users])
    return [
        Shopper(user.pk, user.email, token.key, address.pk)
        for user, token, address in zip(users, tokens, addresses, strict=True)
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_database(name: str) -> str:
    """A new empty database on the server the project uses; returns its URL."""
    import psycopg

    base = server_url()
    with psycopg.connect(_with_database(base, "postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return _with_database(base, name)


def server_url() -> str:
    if "DATABASE_URL" in os.environ:
        return os.environ["DATABASE_URL"]
    from config import embedded

    return embedded.database_url()


def redis_env() -> dict[str, str]:
    if "REDIS_URL" in os.environ:
        return {"REDIS_URL": os.environ["REDIS_URL"]}
    from config import embedded

    socket_path = embedded.redis_socket()
    return {
        "REDIS_URL": f"unix://{socket_path}?db=3",
        "CELERY_BROKER_URL": f"redis+socket://{socket_path}",
    }


def _with_database(url: str, name: str) -> str:
    head, _, tail = url.partition("?")
    prefix = head.rsplit("/", 1)[0]
    return f"{prefix}/{name}" + (f"?{tail}" if tail else "")


def child_env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        **redis_env(),
        "TESTING": "0",
        "DEBUG": "0",
        "OUTBOX_WAKE_RELAY": "0",
        "THROTTLE_USER": "1000000/minute",
        "THROTTLE_ANON": "1000000/minute",
        "LOG_LEVEL": "ERROR",
        "CONN_MAX_AGE": "60",
        **extra,
    }


_ADOPTED = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "TESTING",
    "DJANGO_SETTINGS_MODULE",
    "OUTBOX_WAKE_RELAY",
    "ROOT_URLCONF",
)


def adopt(env: dict[str, str]) -> None:
    """Point this process at the database, cache and broker of ``env``, as its children are, before
    Django is set up here (the broker too: with the embedded Valkey its URL is spelled apart)."""
    for key in _ADOPTED:
        if key in env:
            os.environ[key] = env[key]


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def gunicorn(env: dict[str, str], *, workers: int = 4, app: str = "config.wsgi") -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            app,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--backlog",
            "2048",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import requests

        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/health/?celery=0", timeout=10)
                break
            except (requests.ConnectionError, requests.Timeout):  # still starting (slow under load)
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
