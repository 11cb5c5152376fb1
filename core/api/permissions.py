from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class IsSeller(BasePermission):
    """The user owns a seller account (the ``seller`` reverse relation); views find it on
    ``request.seller``. Lives in core so every app's seller API can use it."""

    message = "This endpoint is for sellers."

    def has_permission(self, request: Request, view: Any) -> bool:
        seller = None
        if request.user and request.user.is_authenticated:
            try:
                seller = request.user.seller  # type: ignore[union-attr]
            except ObjectDoesNotExist:
                seller = None
        request.seller = seller  # type: ignore[attr-defined]
        return seller is not None
