"""Token authentication in one statement, which also brings the user's default delivery address.

Every API call of a signed-in shopper authenticates, and the hottest page (the product page) needs
the default address for its shippability decisions: one joined query instead of the ORM's token
lookup plus a second round trip."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from marketplace.models import User

NO_ADDRESS = None
_USER_FIELDS = User._meta.concrete_fields
_USER_NAMES = [field.attname for field in _USER_FIELDS]
USER_WIDTH = len(_USER_FIELDS)


def user_columns(alias: str) -> str:
    """The account's columns for a statement that joins ``marketplace_user`` as ``alias``, in the
    order :func:`user_from_row` reads them (column names come from the model, never from input).
    Hot reads that authenticate by token select them with what else they need."""
    return ", ".join(f"{alias}.{field.column}" for field in _USER_FIELDS)


def user_from_row(row: Sequence[Any]) -> User:
    """The account from the first USER_WIDTH values of a row selected with :func:`user_columns`."""
    return User.from_db(connection.alias, _USER_NAMES, row[:USER_WIDTH])


# The key is a bound parameter.
_QUERY = (
    "SELECT "  # noqa: S608
    + user_columns("u")
    + ", a.country, a.postal_code, a.is_po_box"
    " FROM authtoken_token t JOIN marketplace_user u ON u.id = t.user_id"
    " LEFT JOIN marketplace_address a ON a.owner_id = u.id AND a.is_default"
    " WHERE t.key = %s"
)


class TokenWithAddressAuthentication(TokenAuthentication):
    """DRF's token authentication (same header, same errors), in one joined statement."""

    def authenticate_credentials(self, key: str) -> tuple[User, str]:
        with connection.cursor() as cursor:
            cursor.execute(_QUERY, [key])
            row = cursor.fetchone()
        if row is None:
            raise AuthenticationFailed(_("Invalid token."))
        user = user_from_row(row)
        country, postal_code, is_po_box = row[USER_WIDTH:]
        if not user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        user.default_address_facts = (  # type: ignore[attr-defined]
            (country, postal_code, is_po_box) if country else NO_ADDRESS
        )
        return user, key
