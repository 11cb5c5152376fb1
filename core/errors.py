"""Domain errors with stable codes. The API turns them into the error envelope."""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A refusal the client can act on: a stable documented ``code``, a ``detail`` for people."""

    code: str = "domain_error"
    status: int = 400
    default_detail: str | Promise = _("The request could not be carried out.")

    def __init__(
        self,
        detail: str | Promise | None = None,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        self.detail = str(detail or self.default_detail)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.fields = fields or {}
        self.extra = extra or {}
        super().__init__(f"{self.code}: {self.detail}")


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_detail = _("Not found.")


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403
    default_detail = _("You may not do this.")


class Conflict(DomainError):
    code = "conflict"
    status = 409
    default_detail = _("The resource changed; try again.")


class ServiceUnavailable(DomainError):
    code = "service_unavailable"
    status = 503
    default_detail = _("Temporarily unavailable; try again shortly.")
