"""A lean path for the hottest token-authenticated POSTs, beside DRF's own.

A shopper's app calls a few endpoints far more often than the rest (validating a coupon on every
cart change, asking for an invitation the second a drop opens). For those, a request with a
well-formed ``Authorization: Token <key>`` that DRF would answer in JSON is served by the view's
``lean`` method, without DRF's request wrapping, content negotiation and serializers, and usually
with the token read in the same statement as the data. Everything else (session cookies with
their CSRF check, another method, unusual input, a bad token, the browsable API) takes DRF's own
path, which answers exactly as before: ``lean`` returns None to send a request there. Errors go
through the project's exception handler, so both paths answer alike.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from rest_framework.authentication import get_authorization_header
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from core.api.errors import exception_handler


def token_key(request: HttpRequest) -> str | None:
    """The key of a well-formed ``Authorization: Token <key>`` on a POST that DRF would answer in
    JSON; None sends the request down DRF's path."""
    if (
        request.method != "POST"
        or request.META.get("QUERY_STRING")  # ?format= picks a renderer
        or request.META.get("HTTP_ACCEPT", "*/*") not in ("*/*", "application/json")
    ):
        return None
    # Read as DRF reads it (get_authorization_header): bytes split on ASCII whitespace only.
    words = get_authorization_header(request).split()  # type: ignore[arg-type]  # reads META
    if len(words) != 2 or words[0].lower() != b"token" or not words[1].isascii():
        return None
    return words[1].decode()


class LeanTokenPost(APIView):
    """An API view whose common token POST is answered by :meth:`lean`."""

    def lean(
        self, request: HttpRequest, token: str, *args: Any, **kwargs: Any
    ) -> tuple[Any, int] | None:
        """The body and status for this request, or None for DRF's path. It authenticates with
        ``token`` (an unknown key or an inactive account: None, so DRF gives its own 401), sets
        ``request.user`` as DRF's authentication would, and calls :meth:`check_throttles`."""
        raise NotImplementedError

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        token = token_key(request)
        if token is None:
            return super().dispatch(request, *args, **kwargs)
        headers: dict[str, str] = {}
        try:
            answer = self.lean(request, token, *args, **kwargs)
        except Exception as error:
            response = exception_handler(error, {"view": self, "request": request})
            if response is None:
                raise
            answer = response.data, response.status_code
            headers = {name: value for name, value in response.items() if name != "Content-Type"}
        if answer is None:
            return super().dispatch(request, *args, **kwargs)
        body, status = answer
        plain = HttpResponse(
            JSONRenderer().render(body), status=status, content_type=JSONRenderer.media_type
        )
        for name, value in {**self.default_response_headers, **headers}.items():
            plain[name] = value
        return plain
