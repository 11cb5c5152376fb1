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


class IsStaffWithPermission(BasePermission):
    """Staff who also hold the Django permission the view names in ``staff_permission``. The staff
    flag only opens the admin's door; acting on a shopper's behalf needs the permission itself."""

    message = "This endpoint needs a staff permission you do not have."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and user.is_staff
            and user.has_perm(view.staff_permission)
        )
