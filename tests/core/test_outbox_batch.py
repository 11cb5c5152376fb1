"""Batch handlers: many events per transaction, still exactly once per event and handler."""

from __future__ import annotations

import pytest
from django.db import transaction

from core import outbox
from core.models import OutboxDelivery, OutboxEvent, OutgoingEmail
from tests.core import outbox_probe

HANDLER = outbox.handler_name(outbox_probe.record_probe_batch)


def _subjects() -> list[str]:
    return list(OutgoingEmail.objects.filter(template="probe").values_list("subject", flat=True))


@pytest.mark.django_db
def test_a_batch_handler_gets_its_events_in_order_in_few_calls(settings):
    settings.OUTBOX_BATCH_SIZE = 100
    outbox_probe.batch_calls.clear()
    with transaction.atomic():
        ids = [
            outbox.emit(
                outbox_probe.BATCH_TOPIC if i % 2 else outbox_probe.BATCH_FAILING_TOPIC, {"i": i}
            ).id
            for i in range(250)
        ]

    assert outbox.relay() == 250
    assert outbox_probe.batch_calls == [100, 100, 50]
    assert sorted(_subjects()) == sorted(f"batch {event_id}" for event_id in ids)
    assert OutboxDelivery.objects.filter(handler=HANDLER).count() == 250
    assert not OutboxEvent.objects.filter(processed_at__isnull=True).exists()
    assert outbox.relay() == 0
    assert len(_subjects()) == 250


@pytest.mark.django_db
def test_one_bad_event_fails_alone_and_its_neighbours_complete():
    with transaction.atomic():
        good = [outbox.emit(outbox_probe.BATCH_FAILING_TOPIC, {}).id for _ in range(5)]
        bad = outbox.emit(outbox_probe.BATCH_FAILING_TOPIC, {"explode": True})
        good += [outbox.emit(outbox_probe.BATCH_FAILING_TOPIC, {}).id for _ in range(5)]

    assert outbox.relay() == 10

    bad.refresh_from_db()
    assert bad.processed_at is None
    assert bad.attempts == 1
    assert "bad event" in bad.last_error
    assert not OutboxDelivery.objects.filter(event=bad).exists()
    assert sorted(_subjects()) == sorted(f"batch {event_id}" for event_id in good)
    assert OutboxEvent.objects.filter(id__in=good, processed_at__isnull=False).count() == 10


@pytest.mark.django_db
def test_a_batch_topic_is_still_served_by_one_event_calls_when_mixed():
    # A topic with a one-event handler as well goes through the one-event loop; the batch handler
    # then gets a list of one.
    assert outbox_probe.BATCH_TOPIC in outbox.batch_topics()
    assert outbox_probe.TOPIC not in outbox.batch_topics()
    names = [name for name, _ in outbox.handlers_for(outbox_probe.BATCH_TOPIC)]
    assert names == [HANDLER]


@pytest.mark.django_db
def test_the_relay_is_woken_once_per_transaction(settings, django_capture_on_commit_callbacks):
    settings.OUTBOX_WAKE_RELAY = True
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        for _ in range(20):
            outbox.emit(outbox_probe.BATCH_TOPIC, {})
    assert len(callbacks) == 1


@pytest.mark.django_db(transaction=True)
def test_batch_relay_killed_repeatedly_then_rerun_handles_every_event_once():
    events = 3000
    ids = outbox_probe.killed_three_times_then_rerun(outbox_probe.BATCH_TOPIC, events)

    assert OutboxEvent.objects.filter(processed_at__isnull=True).count() == 0
    assert sorted(_subjects()) == sorted(f"batch {event_id}" for event_id in ids)
    assert OutboxDelivery.objects.filter(event_id__in=ids).count() == events


@pytest.mark.django_db(transaction=True)
def test_commits_wake_one_relay_until_it_starts(settings, monkeypatch):
    from core import tasks

    settings.OUTBOX_WAKE_RELAY = True
    woken: list[int] = []
    monkeypatch.setattr(tasks.outbox_relay, "delay", lambda: woken.append(1))
    for _ in range(5):
        with transaction.atomic():
            outbox.emit(outbox_probe.BATCH_TOPIC, {})
    assert woken == [1]

    tasks.outbox_relay()  # the woken relay runs: a later commit needs a new one
    assert OutboxEvent.objects.filter(processed_at__isnull=True).count() == 0
    with transaction.atomic():
        outbox.emit(outbox_probe.BATCH_TOPIC, {})
    assert woken == [1, 1]


@pytest.mark.django_db
def test_purge_deletes_events_handled_before_the_retention_with_their_deliveries(settings):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    with transaction.atomic():
        old = [outbox.emit(outbox_probe.BATCH_TOPIC, {}).id for _ in range(3)]
        recent = [outbox.emit(outbox_probe.BATCH_TOPIC, {}).id for _ in range(2)]
    assert outbox.relay() == 5
    failing = outbox.emit(outbox_probe.BATCH_FAILING_TOPIC, {"explode": True})
    assert outbox.relay() == 0
    OutboxEvent.objects.filter(id__in=old).update(processed_at=now - timedelta(days=8))
    OutboxEvent.objects.filter(id=failing.id).update(created_at=now - timedelta(days=30))

    assert outbox.outbox_purge(now=now) == 3

    assert sorted(OutboxEvent.objects.values_list("id", flat=True)) == sorted([*recent, failing.id])
    assert sorted(OutboxDelivery.objects.values_list("event_id", flat=True)) == sorted(recent)
    assert outbox.outbox_purge(now=now) == 0
