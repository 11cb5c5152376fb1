"""Handlers that are one SQL statement: when a topic has only such handlers the relay claims its
events and runs the statements in one statement per batch; a failing batch goes the ordinary way,
so a bad event still fails alone, and the claim keeps every statement to one run per event."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core import outbox
from core.models import OutboxDelivery, OutboxEvent
from tests.core import outbox_probe


def _emit(topic: str, count: int, payload: dict | None = None) -> list[object]:
    with transaction.atomic():
        return [outbox.emit(topic, dict(payload or {})).id for _ in range(count)]


@pytest.mark.django_db
def test_a_topic_of_sql_handlers_is_claimed_and_handled_in_one_statement_per_batch(settings):
    settings.OUTBOX_BATCH_SIZE = 100
    outbox_probe.sql_batches.clear()
    ids = _emit(outbox_probe.SQL_TOPIC, 250)

    with CaptureQueriesContext(connection) as queries:
        assert outbox.relay() == 250

    in_database = [query for query in queries if "handled_0 AS" in query["sql"]]
    # Three batches; then the round, and the round after it (rounds repeat while they make
    # progress), each find nothing.
    assert len(in_database) == 5
    assert not [query for query in queries if "ORDER BY created_at\nSELECT" in query["sql"]]
    assert outbox_probe.sql_batches == [1, 1, 1]
    assert outbox_probe.subjects("sql") == outbox_probe.expected("sql", ids)
    assert not OutboxDelivery.objects.exists()
    assert OutboxEvent.objects.filter(id__in=ids, processed_at__isnull=False).count() == 250
    assert outbox.relay() == 0
    assert outbox_probe.subjects("sql") == outbox_probe.expected("sql", ids)


@pytest.mark.django_db
def test_a_bad_event_fails_alone_and_its_neighbours_run_once():
    good = _emit(outbox_probe.SQL_TOPIC, 10)
    bad = _emit(outbox_probe.SQL_TOPIC, 1, {"divisor": 0})[0]
    good += _emit(outbox_probe.SQL_TOPIC, 10)

    assert outbox.relay() == 20

    event = OutboxEvent.objects.get(id=bad)
    assert (event.processed_at, event.attempts) == (None, 1)
    assert "division by zero" in event.last_error
    assert outbox_probe.subjects("sql") == outbox_probe.expected("sql", good)
    assert OutboxEvent.objects.filter(id__in=good, processed_at__isnull=False).count() == 20
    assert outbox.relay() == 0  # the bad event waits for a fix, as any failed event does
    assert OutboxEvent.objects.get(id=bad).attempts == 2


@pytest.mark.django_db
def test_a_topic_with_a_python_neighbour_goes_the_ordinary_way_and_both_run():
    outbox_probe.sql_batches.clear()
    ids = _emit(outbox_probe.SQL_MIXED_TOPIC, 30)

    with CaptureQueriesContext(connection) as queries:
        assert outbox.relay() == 30

    in_database = [query["sql"] for query in queries if "handled_0 AS" in query["sql"]]
    assert not [sql for sql in in_database if outbox_probe.SQL_MIXED_TOPIC in sql]
    assert outbox_probe.sql_batches == [1]  # the statement ran as a batch handler
    assert outbox_probe.subjects("sql") == outbox_probe.expected("sql", ids)
    assert outbox_probe.subjects("neighbour") == outbox_probe.expected("neighbour", ids)
    neighbour = outbox.handler_name(outbox_probe.record_probe_sql_neighbour)
    assert set(OutboxDelivery.objects.values_list("handler", flat=True)) == {neighbour}


def test_a_statement_that_does_not_read_the_events_is_refused():
    with pytest.raises(ValueError, match="events"):
        outbox.register_sql("test.never", name="tests.never", statement="SELECT 1")


@pytest.mark.django_db(transaction=True)
def test_concurrent_relays_run_the_statement_once_per_event(settings):
    settings.OUTBOX_BATCH_SIZE = 50
    ids = _emit(outbox_probe.SQL_TOPIC, 2000)
    completed, errors = outbox_probe.relays_at_once(4)

    assert errors == []
    assert sum(completed) == 2000
    assert len([count for count in completed if count > 0]) > 1
    assert not OutboxEvent.objects.filter(processed_at__isnull=True).exists()
    assert outbox_probe.subjects("sql") == outbox_probe.expected("sql", ids)


@pytest.mark.django_db(transaction=True)
def test_sql_relay_killed_repeatedly_then_rerun_leaves_one_effect_per_event():
    ids = outbox_probe.killed_three_times_then_rerun(outbox_probe.SQL_TOPIC, 3000)

    assert not OutboxEvent.objects.filter(processed_at__isnull=True).exists()
    assert outbox_probe.subjects("sql") == outbox_probe.expected("sql", ids)
