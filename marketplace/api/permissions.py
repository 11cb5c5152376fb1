from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from marketplace.selectors import seller_for_user


class IsSeller(BasePermission):
    """The user owns a seller account; the view finds it on ``request.seller``."""

    message = "This endpoint is for sellers."

    def has_permission(self, request: Request, view: Any) -> bool:
        seller = seller_for_user(request.user) if request.user.is_authenticated else None
        request.seller = seller  # type: ignore[attr-defined]
        return seller is not None
