"""Shared pieces of the reliability suite: figures, server environments, concurrent HTTP clients.

Every test here drives real processes (gunicorn, relays, workers, servers) against PostgreSQL and
Redis and asserts on the database afterwards. Each prints one ``RELIABILITY | row | figure`` line;
the lines are repeated in the terminal summary so a plain ``pytest`` run shows them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bench import harness
from bench.harness import Shopper
from tests import utils

_figures: list[str] = []


def record_figure(row: str, text: str) -> str:
    line = f"RELIABILITY | {row} | {text}"
    print(line)
    _figures.append(line)
    return line


@pytest.fixture
def figure() -> Callable[[str, str], str]:
    """``figure(row, text)`` prints the row's figure line and keeps it for the summary."""
    return record_figure


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _figures:
        terminalreporter.section("reliability figures")
        for line in _figures:
            terminalreporter.write_line(line)


def server_env(database_url: str | None = None, **extra: str) -> dict[str, str]:
    """Environment for gunicorn and workers: the benchmark one, on the test database by default."""
    return harness.child_env(database_url or utils.database_url(), **extra)


def run_concurrently(
    work: Callable[[Any, Any], Any], items: Iterable[Any], *, threads: int
) -> tuple[list[Any], float]:
    """Call ``work(session, item)`` for every item from ``threads`` client threads, each with its
    own keep-alive session; returns the results in item order and the seconds taken."""
    import requests

    local = threading.local()

    def call(item: Any) -> Any:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        return work(session, item)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(call, items))
    return results, time.perf_counter() - started


def checkout_body(buyer: Shopper, offer_id: int, quantity: int = 1) -> dict[str, Any]:
    return {"address_id": buyer.address_id, "lines": [{"offer_id": offer_id, "quantity": quantity}]}


def auth(buyer: Shopper, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Token {buyer.token}", **headers}
