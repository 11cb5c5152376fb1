"""Token login for the hottest write of a drop: asking for an invitation when the window opens.

The same header and the same answers as the API's token authentication (``Token <key>``; an
unknown key or an inactive account is 401), but the statement that finds the account also reads
what the request needs (the drop, the account's request, its default address, the counts of the
cheap screening rules): one read statement per request instead of two.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from core import clock
from core.api.client import client_ip
from invitations import services
from marketplace.models import User

# A body this small that names no address is read ahead; anything else is left to the view.
SMALL_BODY = 1024


class TokenLoginWithIntakeFacts(TokenAuthentication):
    """DRF's token authentication for ``POST /api/drops/{id}/requests/``, facts read ahead."""

    request: Request | None = None

    def authenticate(self, request: Request) -> tuple[User, str] | None:
        self.request = request
        return super().authenticate(request)  # type: ignore[no-any-return]

    def authenticate_credentials(self, key: str) -> tuple[User, str]:
        request = self.request
        drop_id = _drop_id(request)
        if request is None or drop_id is None or not _names_no_address(request):
            return super().authenticate_credentials(key)  # type: ignore[no-any-return]
        found = services.token_login_with_facts(
            key,
            drop_id=drop_id,
            ip_address=client_ip(request),
            device_id=request.headers.get("X-Device-Id", "")[:100],
            now=clock.now(),
        )
        if found is None:
            raise AuthenticationFailed(_("Invalid token."))
        user, facts = found
        if not user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        user.intake_facts = facts  # type: ignore[attr-defined]
        return user, key


def _drop_id(request: Request | None) -> int | None:
    kwargs: dict[str, Any] = (getattr(request, "parser_context", None) or {}).get("kwargs") or {}
    value = kwargs.get("drop_id")
    return value if isinstance(value, int) else None


def _names_no_address(request: Request) -> bool:
    """Whether the body leaves the address out (the default address is meant): an empty body or
    a small JSON object without ``address_id``. Anything else, the view parses and reads for."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    if length == 0:
        return True
    if length > SMALL_BODY or request.content_type.split(";")[0].strip() != "application/json":
        return False
    try:
        body = json.loads(request._request.body)
    except (ValueError, UnicodeDecodeError):
        return False  # the view answers a malformed body with its own error
    return isinstance(body, dict) and "address_id" not in body
