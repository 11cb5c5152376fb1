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
