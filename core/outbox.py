"""The transactional outbox: events written with the change, handled once each after commit.

Apps register handlers per topic in their ``AppConfig.ready`` through :func:`register`. The relay
claims pending events with ``FOR UPDATE SKIP LOCKED`` so several relays never take the same rows,
and runs every handler in its own savepoint with an :class:`OutboxDelivery` row: the
handler's database effects and the proof that it ran commit together, so a relay killed at any
point and run again runs each handler exactly once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from core import clock
from core.models import OutboxDelivery, OutboxEvent

logger = logging.getLogger(__name__)

Handler = Callable[[OutboxEvent], None]
_handlers: dict[str, list[tuple[str, Handler]]] = defaultdict(list)

MAX_ATTEMPTS = 10  # after this an event stays visible in admin with its last error


def handler_name(func: Handler) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def register(topic: str) -> Callable[[Handler], Handler]:
    """Decorator: run ``func(event)`` once for every event of ``topic``."""

    def decorator(func: Handler) -> Handler:
        name = handler_name(func)
        if name not in {existing for existing, _ in _handlers[topic]}:
            _handlers[topic].append((name, func))
        return func

    return decorator


def handlers_for(topic: str) -> list[tuple[str, Handler]]:
    return list(_handlers.get(topic, []))


def emit(topic: str, payload: dict[str, Any]) -> OutboxEvent:
    """Write an event; call inside the transaction of the change. Wakes the relay after commit."""
    event = OutboxEvent.objects.create(topic=topic, payload=payload)
    if settings.OUTBOX_WAKE_RELAY:
        transaction.on_commit(_wake_relay)
    return event


def _wake_relay() -> None:
    from core.tasks import outbox_relay

    try:
        outbox_relay.delay()
    except Exception:  # noqa: BLE001 - the broker may be down; beat runs the relay every few seconds
        logger.warning("outbox relay could not be woken; beat will pick the events up")


def relay(*, limit: int | None = None, now_fn: Callable[[], Any] = clock.now) -> int:
    """Handle pending events one transaction each; returns how many were completed.

    One event per transaction keeps row locks short and makes the window between a side effect (an
    e-mail handed to the mail server) and its commit as small as it can be.
    """
    completed = 0
    skipped: set[Any] = set()
    while limit is None or completed + len(skipped) < limit:
        with transaction.atomic():
            event = (
                OutboxEvent.objects.select_for_update(skip_locked=True)
                .filter(processed_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
                .exclude(id__in=skipped)
                .order_by("created_at")
                .first()
            )
            if event is None:
                break
            if _handle(event, now_fn()):
                completed += 1
            else:
                skipped.add(event.id)
    return completed


def _handle(event: OutboxEvent, now: Any) -> bool:
    failed = False
    for name, func in handlers_for(event.topic):
        try:
            with transaction.atomic():
                OutboxDelivery.objects.create(event=event, handler=name)
                func(event)
        except IntegrityError as error:
            if OutboxDelivery.objects.filter(event=event, handler=name).exists():
                continue  # ran before this relay was killed and re-run
            failed = True
            _record_failure(event, name, error)
        except Exception as error:  # noqa: BLE001 - one bad handler must not stop the others
            failed = True
            _record_failure(event, name, error)
    if failed:
        event.attempts += 1
        event.save(update_fields=["attempts", "last_error"])
        return False
    event.processed_at = now
    event.save(update_fields=["processed_at"])
    return True


def _record_failure(event: OutboxEvent, name: str, error: Exception) -> None:
    logger.exception("outbox handler failed", extra={"event": str(event.id), "handler": name})
    event.last_error = f"{name}: {error!r}"[:2000]
