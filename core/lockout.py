"""What a locked-out client gets from django-axes: the API's error envelope, or a plain page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

RETRY_AFTER_SECONDS = 15 * 60


def lockout_response(
    request: HttpRequest, response: Any = None, credentials: Any = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    detail = _("Too many failed logins; try again later.")
    if request.path.startswith("/api/"):
        locked: HttpResponse = JsonResponse(
            {"code": "login_locked", "detail": detail, "fields": {}}, status=429
        )
    else:
        locked = HttpResponse(detail, status=429, content_type="text/plain; charset=utf-8")
    locked["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return locked
