"""Server-side prepared statements for hand-written SQL on hot paths.

Django binds parameters on the client, so PostgreSQL parses and plans every statement afresh. For a
primary-key select that costs nothing; for a read that joins a handful of tables with subqueries,
planning takes several times longer than executing (2.4 ms against 0.2 ms for drop intake's read).

These statements are bound on the server and prepared by psycopg itself, once per connection: the
first execution sends the statement with its parameter types, later ones only the statement's name
and the values, in the extended protocol. (A ``PREPARE`` with ``EXECUTE name(...)`` sent as text
saves the planning too, but costs a parse, a client-side rendering of every value and a second
reading of them on the server: 0.9-1.4 ms per coupon validation read, against 0.4-0.5 ms here.)
Django's own queries keep their client-side binding and are never prepared: psycopg prepares only
what a cursor asks for, and only the cursors here ask.

psycopg forgets its prepared statements (and deallocates them on the server) after a rollback or
after DDL, because either may have changed what a statement refers to; they are prepared again on
next use. A new connection (after a restart or a failed health check) starts empty. A pooler in
front of PostgreSQL must keep sessions (PgBouncer in session mode, not transaction mode).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

import psycopg
from django.db import InterfaceError, OperationalError, connection
from django.db.backends.utils import CursorWrapper
from psycopg.types.json import Jsonb
from psycopg.types.numeric import Int8

# psycopg prepares a statement once it has run this many times, unless told to at once. Django
# turns preparing off (None); this keeps it on only for statements that ask (``prepare=True``).
_ONLY_WHEN_ASKED = sys.maxsize


# The largest bigint: a larger Python int cannot be sent as a bigint parameter at all (psycopg
# refuses it before anything reaches the server), so callers route such ids elsewhere.
BIGINT_MAX = 2**63 - 1

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")

# psycopg picks a parameter's type from its value (a small int is sent as smallint, a larger one
# as integer, a string, None or an empty list untyped), and prepares a statement once per
# combination of types: these pin the declared type where a value would vary it. Every placeholder
# is also cast to its declared type, so what PostgreSQL plans with never depends on the value.
_PIN: dict[str, Callable[[Any], Any]] = {
    "bigint": lambda value: None if value is None else Int8(value),
    "bigint[]": lambda values: None if values is None else [Int8(value) for value in values],
    "jsonb": lambda value: value if value is None or isinstance(value, Jsonb) else Jsonb(value),
}


class _Preparing(psycopg.Cursor):  # type: ignore[type-arg]
    """A cursor that binds on the server and prepares what it runs."""

    def execute(self, query: Any, params: Any = None, **options: Any) -> Any:
        return super().execute(query, params, **{**options, "prepare": True})


class PreparedStatement:
    """A statement that returns rows (a select, or a write with ``RETURNING``), written with
    ``%(name)s`` placeholders and the PostgreSQL type of each (``{"token": "text", "ids":
    "bigint[]"}``)."""

    def __init__(self, sql: str, parameters: Mapping[str, str]) -> None:
        self.sql = _PLACEHOLDER.sub(lambda match: f"{match[0]}::{parameters[match[1]]}", sql)
        self.parameters = dict(parameters)

    def _values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {
            name: _PIN[kind](values[name]) if kind in _PIN else values[name]
            for name, kind in self.parameters.items()
        }

    def _run(self, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        connection.ensure_connection()
        raw = connection.connection
        if raw.prepare_threshold is None:
            raw.prepare_threshold = _ONLY_WHEN_ASKED
        # Through Django's cursor wrapper: its error translation, execute wrappers and query log
        # (tests count these statements like any other).
        cursor: CursorWrapper = (
            connection.make_debug_cursor(_Preparing(raw))
            if connection.queries_logged
            else connection.make_cursor(_Preparing(raw))
        )
        with cursor:
            cursor.execute(self.sql, self._values(values))
            # Not ``description`` first: psycopg builds it column by column on every call.
            return cursor.fetchone()

    def fetchone(self, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """Run it on the default connection, in its current transaction, and return the first row
        (None when there is none)."""
        connection.close_if_health_check_failed()
        return self._run(values)

    def read(self, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """Run a read-only statement outside a transaction and return its first row, in one
        round trip.

        With CONN_HEALTH_CHECKS Django sends ``SELECT 1`` on a kept connection before a request's
        first query, a round trip of its own. A read can check afterwards instead: it is sent
        straight away, and only when it fails on a connection that turns out dead is it sent
        once more on a new connection, which is what the check would have led to.
        """
        database: Any = connection  # the health check's attributes are not in the stubs
        optimistic = (
            database.health_check_enabled
            and not database.health_check_done
            and database.connection is not None
            and not database.in_atomic_block
        )
        if optimistic:
            database.health_check_done = True
        try:
            return self._run(values)
        except (OperationalError, InterfaceError):
            if not optimistic or connection.is_usable():
                raise
            connection.close()
        return self._run(values)
