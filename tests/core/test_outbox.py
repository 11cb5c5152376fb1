from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection, transaction

from core import outbox
from core.email import email_queue
from core.models import OutboxDelivery, OutboxEvent, OutgoingEmail
from tests.core import outbox_probe
from tests.utils import kill_once_it_progresses


@pytest.mark.django_db
def test_rolled_back_transaction_leaves_no_event_and_sends_no_mail(shopper):
    with pytest.raises(RuntimeError), transaction.atomic():
        email_queue(
            to=shopper.email,
            template="order_placed",
            context={"order": None, "lines": []},
        )
        raise RuntimeError("the change failed")

    assert outbox.relay() == 0
    assert OutboxEvent.objects.count() == 0
    assert OutgoingEmail.objects.count() == 0
    assert mail.outbox == []


@pytest.mark.django_db
def test_committed_email_is_sent_once_even_when_relayed_twice(shopper):
    email = email_queue(
        to=shopper.email, template="order_placed", context={"order": None, "lines": []}
    )
    assert outbox.relay() == 1
    assert outbox.relay() == 0
    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.SENT
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [shopper.email]
    assert mail.outbox[0].extra_headers["Message-ID"] == f"<{email.id}@marketplace>"


@pytest.mark.django_db
def test_failing_handler_keeps_event_pending_with_its_error():
    calls: list[str] = []

    @outbox.register("test.failing")
    def explode(event: OutboxEvent) -> None:
        calls.append(str(event.id))
        raise ValueError("boom")

    event = outbox.emit("test.failing", {})
    assert outbox.relay() == 0
    event.refresh_from_db()
    assert event.processed_at is None
    assert event.attempts == 1
    assert "boom" in event.last_error
    assert OutboxDelivery.objects.filter(event=event).count() == 0
    assert calls == [str(event.id)]


@pytest.mark.django_db(transaction=True)
def test_relay_killed_mid_batch_and_rerun_runs_every_handler_exactly_once():
    events = 150
    with transaction.atomic():
        ids = [outbox.emit(outbox_probe.TOPIC, {"sleep": 0.02}).id for _ in range(events)]

    for _ in range(3):  # kill it several times at random points
        process = outbox_probe.relay_process()
        kill_once_it_progresses(process, outbox_probe.processed_count)
    connection.close()
    processed_before_rerun = OutboxEvent.objects.filter(processed_at__isnull=False).count()
    assert 0 < processed_before_rerun < events

    outbox.relay()

    assert OutboxEvent.objects.filter(processed_at__isnull=True).count() == 0
    subjects = list(
        OutgoingEmail.objects.filter(template="probe").values_list("subject", flat=True)
    )
    assert sorted(subjects) == sorted(f"probe {event_id}" for event_id in ids)
    assert OutboxDelivery.objects.filter(event_id__in=ids).count() == events
