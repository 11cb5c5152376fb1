from __future__ import annotations

from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle


def client_ip(request: Request | HttpRequest) -> str | None:
    """The client's address, trusting X-Forwarded-For only as deep as settings NUM_PROXIES says
    (DRF's rule): with no trusted proxy a spoofed header changes nothing."""
    ident = BaseThrottle().get_ident(request)
    return (ident or "").strip() or None
