"""Helpers for tests that start other processes or threads against the test database."""

from __future__ import annotations

import os
import threading
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import connection


def database_url() -> str:
    """A URL for the database the tests are using now (the test database, not the dev one)."""
    db = settings.DATABASES["default"]
    name = connection.settings_dict["NAME"]
    host = str(db.get("HOST") or "")
    user = quote(str(db.get("USER") or "postgres"))
    password = quote(str(db.get("PASSWORD") or ""))
    if host.startswith("/"):
        return f"postgresql://{user}:{password}@/{name}?host={host}"
    port = db.get("PORT") or 5432
    return f"postgresql://{user}:{password}@{host}:{port}/{name}"


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a child process (relay, gunicorn, worker) that shares the test database."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "TESTING": "1",
        **extra,
    }


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kill_once_it_progresses(process, progress, *, timeout: float = 120.0) -> None:
    """SIGKILL ``process`` soon after ``progress()`` (a count read from the database) grows.

    Waiting for progress rather than a fixed time keeps a kill test meaningful on a loaded machine,
    where starting the child alone can take longer than any fixed sleep."""
    import signal
    import time

    from django.db import connection

    start = progress()
    deadline = time.monotonic() + timeout
    while progress() == start and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    connection.close()


def parallel(count: int, attempt: Any) -> list[Any]:
    """``attempt(index)`` from ``count`` threads released together; the answers in index order."""
    barrier = threading.Barrier(count)
    answers: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            answers[index] = attempt(index)
        except BaseException as error:  # noqa: BLE001 - re-raised below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        # A thread's exception would otherwise leave a silent None among the answers.
        raise RuntimeError(f"{len(errors)} of {count} attempts raised") from errors[0]
    return answers
