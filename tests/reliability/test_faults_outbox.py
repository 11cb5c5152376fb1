"""10,000 outbox events while real relay processes are killed with SIGKILL again and again, then a
final run: every event handled, none twice (proof rows and the handler's own rows agree)."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection
from django.db.models import Count

from bench.harness import ROOT
from core.models import OutboxDelivery, OutboxEvent, OutgoingEmail
from tests.core import outbox_probe
from tests.utils import child_env

EVENTS = 10_000
KILLS = 8
BATCH_BEFORE_KILL = 400  # events a round handles before its kill moment starts counting
RELAYS = 2  # side by side, as several workers would: SKIP LOCKED must keep them apart
RELAY_CODE = (
    "import django; django.setup();"
    "import tests.core.outbox_probe;"
    "from core import outbox; outbox.relay()"
)


def _relays() -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen([sys.executable, "-c", RELAY_CODE], cwd=ROOT, env=child_env())  # noqa: S603
        for _ in range(RELAYS)
    ]


def _processed() -> int:
    return OutboxEvent.objects.filter(processed_at__isnull=False).count()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_ten_thousand_events_with_relays_killed_repeatedly_lose_none_and_handle_none_twice(
    figure,
):
    OutboxEvent.objects.bulk_create(
        [OutboxEvent(topic=outbox_probe.TOPIC, payload={}) for _ in range(EVENTS)],
        batch_size=2000,
    )
    ids = set(OutboxEvent.objects.values_list("id", flat=True))
    pace = random.Random(8)  # kill moments, reproducible
    progress = []
    for _ in range(KILLS):
        before = _processed()
        relays = _relays()
        # Kill once they are busy (past start-up), at a moment that differs every round.
        deadline = time.monotonic() + 60
        while _processed() < before + BATCH_BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(pace.uniform(0.05, 0.6))
        for relay in relays:
            relay.send_signal(signal.SIGKILL)
        for relay in relays:
            assert relay.wait(timeout=10) == -signal.SIGKILL
        connection.close()
        progress.append(_processed())
    assert 0 < progress[-1] < EVENTS, "the relays must be killed in the middle of the work"
    assert progress == sorted(progress)

    started = time.perf_counter()
    final = _relays()
    assert [relay.wait(timeout=600) for relay in final] == [0] * RELAYS
    final_seconds = time.perf_counter() - started

    lost = OutboxEvent.objects.filter(id__in=ids, processed_at__isnull=True).count()
    deliveries = OutboxDelivery.objects.filter(event_id__in=ids)
    handled_twice = (
        deliveries.values("event_id", "handler").annotate(n=Count("id")).filter(n__gt=1).count()
    )
    subjects = list(
        OutgoingEmail.objects.filter(template="probe").values_list("subject", flat=True)
    )
    side_effects_twice = len(subjects) - len(set(subjects))
    assert lost == 0
    assert handled_twice == 0
    assert deliveries.count() == EVENTS
    assert side_effects_twice == 0
    assert set(subjects) == {f"probe {event_id}" for event_id in ids}
    assert not OutboxEvent.objects.filter(id__in=ids, attempts__gt=0).exists()
    figure(
        "outbox: 10,000 events, relay killed repeatedly",
        f"{EVENTS} events, {KILLS} SIGKILLs of {RELAYS} relay processes (handled before each "
        f"kill: {progress}), then a final run of {RELAYS} "
        f"({EVENTS - progress[-1]} events in {final_seconds:.0f} s): lost {lost}, "
        f"handled twice {handled_twice}, handler rows twice {side_effects_twice}",
    )
