"""A probe topic for outbox tests: its handler writes one row per event and can be made slow."""

from __future__ import annotations

import time

from core import outbox
from core.models import OutboxEvent, OutgoingEmail

TOPIC = "test.probe"


@outbox.register(TOPIC)
def record_probe(event: OutboxEvent) -> None:
    OutgoingEmail.objects.create(
        to="probe@example.test", subject=f"probe {event.id}", body="", template="probe"
    )
    delay = event.payload.get("sleep", 0)
    if delay:
        time.sleep(delay)


BATCH_TOPIC = "test.probe_batch"
BATCH_FAILING_TOPIC = "test.probe_batch_failing"
batch_calls: list[int] = []


@outbox.register_batch(BATCH_TOPIC, BATCH_FAILING_TOPIC)
def record_probe_batch(events: list[OutboxEvent]) -> None:
    batch_calls.append(len(events))
    for event in events:
        if event.payload.get("explode"):
            raise ValueError(f"bad event {event.id}")
    OutgoingEmail.objects.bulk_create(
        [
            OutgoingEmail(
                to="probe@example.test", subject=f"batch {event.id}", body="", template="probe"
            )
            for event in events
        ]
    )
    delay = max((event.payload.get("sleep", 0) for event in events), default=0)
    if delay:
        time.sleep(delay)


def processed_count() -> int:
    return OutboxEvent.objects.filter(processed_at__isnull=False).count()


def relay_process(**env: str):
    """A real relay in its own process, with these probe handlers, for kill tests."""
    import subprocess
    import sys
    from pathlib import Path

    from tests.utils import child_env

    code = (
        "import django; django.setup();"
        "import tests.core.outbox_probe;"
        "from core import outbox; outbox.relay()"
    )
    root = Path(__file__).resolve().parents[2]
    return subprocess.Popen([sys.executable, "-c", code], cwd=root, env=child_env(**env))  # noqa: S603


def subjects(prefix: str) -> list[str]:
    """The subjects of the probe rows written with ``prefix``, sorted."""
    return sorted(
        OutgoingEmail.objects.filter(
            template="probe", subject__startswith=f"{prefix} "
        ).values_list("subject", flat=True)
    )


def expected(prefix: str, ids) -> list[str]:
    return sorted(f"{prefix} {event_id}" for event_id in ids)


def relays_at_once(relays: int) -> tuple[list[int], list[BaseException]]:
    """Run ``relays`` relays in threads released together; returns what each completed and the
    errors they raised."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(relays)
    completed: list[int] = []
    errors: list[BaseException] = []

    def relay() -> None:
        try:
            barrier.wait()
            completed.append(outbox.relay())
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=relay) for _ in range(relays)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return completed, errors


def killed_three_times_then_rerun(topic: str, events: int = 3000) -> list[object]:
    """Emit ``events`` slow probe events, SIGKILL a relay process three times once it has made
    progress, check that some but not all were handled, and finish them with a relay here."""
    from django.db import connection, transaction

    from tests.utils import kill_once_it_progresses

    with transaction.atomic():
        ids = [outbox.emit(topic, {"sleep": 0.3}).id for _ in range(events)]
    for _ in range(3):
        kill_once_it_progresses(relay_process(OUTBOX_BATCH_SIZE="100"), processed_count)
    connection.close()
    processed_before_rerun = processed_count()
    assert 0 < processed_before_rerun < events
    outbox.relay()
    return ids


IDEMPOTENT_TOPIC = "test.probe_idempotent"
MIXED_TOPIC = "test.probe_mixed"
ledger_broken: set[str] = set()  # event ids whose ledger-kept handler fails while listed


def _write(prefix: str, events: list[OutboxEvent]) -> None:
    OutgoingEmail.objects.bulk_create(
        [
            OutgoingEmail(
                to="probe@example.test", subject=f"{prefix} {event.id}", body="", template="probe"
            )
            for event in events
        ]
    )


@outbox.register_batch(IDEMPOTENT_TOPIC, MIXED_TOPIC, idempotent=True)
def record_probe_idempotent(events: list[OutboxEvent]) -> None:
    """A row per event and call, with no unique key, so a second run shows as a second row."""
    _write("idempotent", events)
    delay = max((event.payload.get("sleep", 0) for event in events), default=0)
    if delay:
        time.sleep(delay)


@outbox.register_batch(MIXED_TOPIC)
def record_probe_ledger(events: list[OutboxEvent]) -> None:
    """The idempotent probe's neighbour on the mixed topic, which keeps its delivery rows."""
    for event in events:
        if str(event.id) in ledger_broken:
            raise ValueError(f"ledger handler broken for {event.id}")
    _write("ledger", events)


SQL_TOPIC = "test.probe_sql"
SQL_MIXED_TOPIC = "test.probe_sql_mixed"
sql_batches: list[int] = []  # one entry per batch the SQL probe's ``after`` saw


def _sql_batch_done() -> None:
    sql_batches.append(1)


# A row per event and run (no unique key, so a second run shows as a second row). A payload with
# "divisor": 0 fails the statement; "sleep" sleeps a hundredth of it per event, so that a batch of
# a hundred takes as long as the Python probes' batches.
record_probe_sql = outbox.register_sql(
    SQL_TOPIC,
    SQL_MIXED_TOPIC,
    name="tests.core.outbox_probe.record_probe_sql",
    statement="""
INSERT INTO core_outgoingemail (id, "to", subject, body, language, template, status, created_at)
SELECT gen_random_uuid(), 'probe@example.test', 'sql ' || id::text, '', 'en', 'probe', 'queued',
  now()
FROM {events}, LATERAL pg_sleep(COALESCE((payload->>'sleep')::float8, 0) / 100) AS slept
WHERE 1 / COALESCE((payload->>'divisor')::int, 1) <> 0
""",
    after=_sql_batch_done,
)


@outbox.register_batch(SQL_MIXED_TOPIC)
def record_probe_sql_neighbour(events: list[OutboxEvent]) -> None:
    """A Python neighbour on the mixed topic: its events go the ordinary way."""
    _write("neighbour", events)
