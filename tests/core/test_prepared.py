"""Prepared statements: prepared once per connection with pinned parameter types, prepared again
after a rollback or a reconnect; a read sent without the health check's extra round trip still gets
a working connection; Django's own queries are never prepared."""

from __future__ import annotations

import psycopg
import pytest
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)

from core.prepared import PreparedStatement
from marketplace.models import User


@pytest.fixture
def kept_connection(monkeypatch):
    """A persistent connection as in production (tests otherwise close it after each request)."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()
    connection.ensure_connection()
    checks = []
    is_usable = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or is_usable())
    yield checks
    connection.close()


def _prepared() -> list[tuple[str, list[str]]]:
    """This session's prepared statements: each one's text and parameter types."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement, parameter_types::text[] FROM pg_prepared_statements ORDER BY name"
        )
        return [(statement, types) for statement, types in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_a_statement_is_prepared_once_with_the_declared_types(kept_connection):
    statement = PreparedStatement(
        "SELECT %(number)s + 1, cardinality(%(ids)s)", {"number": "bigint", "ids": "bigint[]"}
    )
    # Small and large values alike: psycopg alone would send smallint, integer and bigint.
    for number, ids in ((1, [2]), (70_000, [3, 2**40]), (2**40, [5])):
        assert statement.read({"number": number, "ids": ids}) == (number + 1, len(ids))
    prepared = ("SELECT $1::bigint + 1, cardinality($2::bigint[])", ["bigint", "bigint[]"])
    assert _prepared() == [prepared]
    # An empty list or a NULL carries no type of its own: a second preparation, the same types.
    assert statement.read({"number": None, "ids": []}) == (None, 0)
    assert [types for _text, types in _prepared()] == [["bigint", "bigint[]"]] * 2


@pytest.mark.django_db(transaction=True)
def test_after_a_rollback_the_statement_is_prepared_again_and_answers(kept_connection):
    statement = PreparedStatement("SELECT %(number)s * 3", {"number": "bigint"})
    with pytest.raises(RuntimeError), transaction.atomic():
        assert statement.fetchone({"number": 1}) == (3,)
        raise RuntimeError
    assert statement.fetchone({"number": 2}) == (6,)
    assert [text for text, _types in _prepared()] == ["SELECT $1::bigint * 3"]


@pytest.mark.django_db(transaction=True)
def test_djangos_own_queries_stay_unprepared(kept_connection):
    statement = PreparedStatement("SELECT %(number)s", {"number": "bigint"})
    statement.read({"number": 1})
    for _ in range(10):  # more than psycopg's default threshold for preparing on its own
        list(User.objects.filter(pk=1))
    assert [text for text, _types in _prepared()] == ["SELECT $1::bigint"]


@pytest.mark.django_db(transaction=True)
def test_a_kept_connection_is_read_without_a_health_check_round_trip(kept_connection):
    statement = PreparedStatement("SELECT %(number)s * 2", {"number": "bigint"})
    close_old_connections()  # a request starts: Django would check the kept connection first
    assert statement.read({"number": 21}) == (42,)
    assert kept_connection == []


@pytest.mark.django_db(transaction=True)
def test_a_dead_kept_connection_is_replaced_and_the_read_answered(kept_connection):
    statement = PreparedStatement("SELECT %(number)s - 1", {"number": "bigint"})
    assert statement.read({"number": 1}) == (0,)
    dead = connection.connection.info.backend_pid
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [dead])
    close_old_connections()  # the next request
    assert statement.read({"number": 43}) == (42,)
    assert connection.connection.info.backend_pid != dead
    assert kept_connection == [1]  # asked once, after the failure, whether it still worked
    assert [text for text, _types in _prepared()] == [
        "SELECT $1::bigint - 1"
    ]  # on the new connection


@pytest.mark.django_db(transaction=True)
def test_a_statement_in_a_transaction_is_not_retried_on_a_dead_connection(kept_connection):
    statement = PreparedStatement("SELECT %(number)s", {"number": "bigint"})
    with transaction.atomic():
        assert statement.fetchone({"number": 5}) == (5,)
        dead = connection.connection.info.backend_pid
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [dead])
        with pytest.raises((OperationalError, InterfaceError)):
            statement.fetchone({"number": 6})
        transaction.set_rollback(True)
    assert kept_connection == []
