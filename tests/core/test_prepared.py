"""Prepared statements: once per connection, through rollbacks and reconnects; a read sent without
the health check's extra round trip still gets a working connection."""

from __future__ import annotations

import psycopg
import pytest
from django.db import close_old_connections, connection, transaction

from core.prepared import PreparedStatement


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


def _prepared_names():
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements ORDER BY name")
        return [name for (name,) in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_a_statement_is_prepared_once_and_survives_a_rollback(kept_connection):
    statement = PreparedStatement("test_once", "SELECT %(number)s + 1", {"number": "int"})
    with pytest.raises(RuntimeError), transaction.atomic():
        assert statement.fetchone({"number": 1}) == (2,)
        raise RuntimeError
    assert statement.fetchone({"number": 2}) == (3,)
    assert _prepared_names() == ["test_once"]


@pytest.mark.django_db(transaction=True)
def test_a_kept_connection_is_read_without_a_health_check_round_trip(kept_connection):
    statement = PreparedStatement("test_no_check", "SELECT %(number)s * 2", {"number": "int"})
    close_old_connections()  # a request starts: Django would check the kept connection first
    assert statement.fetchone({"number": 21}) == (42,)
    assert kept_connection == []


@pytest.mark.django_db(transaction=True)
def test_a_dead_kept_connection_is_replaced_and_the_read_answered(kept_connection):
    statement = PreparedStatement("test_reconnect", "SELECT %(number)s - 1", {"number": "int"})
    assert statement.fetchone({"number": 1}) == (0,)
    dead = connection.connection.info.backend_pid
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [dead])
    close_old_connections()  # the next request
    assert statement.fetchone({"number": 43}) == (42,)
    assert connection.connection.info.backend_pid != dead
    assert kept_connection == [1]  # asked once, after the failure, whether it still worked
    assert _prepared_names() == ["test_reconnect"]  # prepared again on the new connection
