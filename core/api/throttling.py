"""Request-rate throttles that cost one Redis round trip and O(1) work per request.

DRF's own throttles keep every request's timestamp of the window in one cached list that each
request reads, unpickles, extends, pickles and writes back: at a generous rate that is thousands of
floats per request and two round trips. These count requests per fixed window with ``INCR`` instead.
A fixed window may let up to twice the rate through around a window's edge; that is fine, because
throttles here are politeness only: the hard limits (stock, one request per drop, coupon uses, login
lock-out) are enforced in the database and by the lock-out counters.
"""

from __future__ import annotations

import weakref
from typing import Any

from django.core.cache import cache
from rest_framework import throttling
from rest_framework.request import Request

# Django's Redis cache builds a new client object (with its own table of reply parsers) for every
# operation, which costs more than the round trip itself; the throttles keep one per cache backend
# instance, on that backend's connection pool. A changed CACHES setting makes a new backend, so a
# new client.
_clients: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _client(key: str) -> Any:
    backend = cache._cache  # type: ignore[attr-defined]
    client = _clients.get(backend)
    if client is None:
        client = _clients[backend] = backend.get_client(key, write=True)
    return client


class _CountPerWindow:
    rate: str | None
    num_requests: int
    duration: int
    key: str | None
    timer: Any

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)  # type: ignore[attr-defined]
        if self.key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        # make_key, not make_and_validate_key: the validation warns about keys memcached would
        # refuse, character by character, and Redis takes any key.
        key = cache.make_key(f"{self.key}:{window}")
        client = _client(key)
        count = int(client.incr(key))
        if count == 1:
            # The window's first request sets its expiry: one command per request instead of two.
            # A worker that dies between the two commands leaves one key without expiry; it is
            # never read again (the next window has a key of its own).
            client.expire(key, self.duration + 1)
        self._wait = self.duration - (now % self.duration)
        return count <= self.num_requests

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)


class AnonRateThrottle(_CountPerWindow, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_CountPerWindow, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(_CountPerWindow, throttling.ScopedRateThrottle):
    def allow_request(self, request: Request, view: Any) -> bool:
        # The rate comes from the view's scope, known only now (as in DRF's own).
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)
