"""Batch handlers that declare themselves idempotent keep no delivery rows; the claim alone keeps
them to one run per event, under concurrent relays and kills, and only a failing neighbour makes
them run again."""

from __future__ import annotations

import pytest
from django.db import transaction

from core import outbox
from core.models import OutboxDelivery, OutboxEvent
from tests.core import outbox_probe

IDEMPOTENT = outbox.handler_name(outbox_probe.record_probe_idempotent)
LEDGER = outbox.handler_name(outbox_probe.record_probe_ledger)


@pytest.mark.django_db
def test_an_idempotent_handler_runs_once_per_event_and_writes_no_delivery_rows(settings):
    settings.OUTBOX_BATCH_SIZE = 40
    with transaction.atomic():
        ids = [outbox.emit(outbox_probe.IDEMPOTENT_TOPIC, {"i": i}).id for i in range(100)]

    assert outbox.relay() == 100
    assert outbox.relay() == 0
    assert outbox_probe.subjects("idempotent") == outbox_probe.expected("idempotent", ids)
    assert not OutboxDelivery.objects.filter(handler=IDEMPOTENT).exists()
    assert OutboxEvent.objects.filter(id__in=ids, processed_at__isnull=False).count() == 100


@pytest.mark.django_db
def test_a_failing_neighbour_reruns_the_idempotent_handler_but_not_the_ledger_kept_one():
    event = outbox.emit(outbox_probe.MIXED_TOPIC, {})
    outbox_probe.ledger_broken.add(str(event.id))
    try:
        assert outbox.relay() == 0
    finally:
        outbox_probe.ledger_broken.discard(str(event.id))
    event.refresh_from_db()
    assert (event.processed_at, event.attempts) == (None, 1)
    assert "ledger handler broken" in event.last_error
    assert outbox_probe.subjects("idempotent") == [f"idempotent {event.id}"]
    assert outbox_probe.subjects("ledger") == []

    assert outbox.relay() == 1

    event.refresh_from_db()
    assert event.processed_at is not None
    assert outbox_probe.subjects("idempotent") == [f"idempotent {event.id}"] * 2
    assert outbox_probe.subjects("ledger") == [f"ledger {event.id}"]
    assert list(OutboxDelivery.objects.filter(event=event).values_list("handler", flat=True)) == [
        LEDGER
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_relays_hand_each_event_to_each_handler_once(settings):
    settings.OUTBOX_BATCH_SIZE = 50
    with transaction.atomic():
        only = [outbox.emit(outbox_probe.IDEMPOTENT_TOPIC, {}).id for _ in range(1500)]
        mixed = [outbox.emit(outbox_probe.MIXED_TOPIC, {}).id for _ in range(500)]
    completed, errors = outbox_probe.relays_at_once(4)

    assert errors == []
    assert sum(completed) == 2000
    assert len([count for count in completed if count > 0]) > 1  # the relays did share the work
    assert not OutboxEvent.objects.filter(processed_at__isnull=True).exists()
    assert outbox_probe.subjects("idempotent") == outbox_probe.expected("idempotent", only + mixed)
    assert outbox_probe.subjects("ledger") == outbox_probe.expected("ledger", mixed)
    assert not OutboxDelivery.objects.filter(handler=IDEMPOTENT).exists()
    assert sorted(
        OutboxDelivery.objects.filter(handler=LEDGER).values_list("event_id", flat=True)
    ) == sorted(mixed)


@pytest.mark.django_db(transaction=True)
def test_idempotent_relay_killed_repeatedly_then_rerun_leaves_one_effect_per_event():
    events = 3000
    ids = outbox_probe.killed_three_times_then_rerun(outbox_probe.IDEMPOTENT_TOPIC, events)

    assert not OutboxEvent.objects.filter(processed_at__isnull=True).exists()
    # A kill rolls the handler's rows back with the claim: none survives without its event done.
    assert outbox_probe.subjects("idempotent") == outbox_probe.expected("idempotent", ids)
    assert not OutboxDelivery.objects.filter(handler=IDEMPOTENT).exists()
