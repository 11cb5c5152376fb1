"""The transactional outbox: events written with the change, handled once each after commit.

Apps register handlers per topic in their ``AppConfig.ready`` through :func:`register`. The relay
claims pending events with ``FOR UPDATE SKIP LOCKED`` so several relays never take the same rows,
and runs every handler in its own savepoint with an :class:`OutboxDelivery` row: the
handler's database effects and the proof that it ran commit together, so a relay killed at any
point and run again runs each handler exactly once.

Handlers registered with :func:`register_batch` take a list of events: the relay claims up to
``OUTBOX_BATCH_SIZE`` events of topics that have only batch handlers and hands each handler all of
its events in one transaction, so a stream of thousands of events a second costs a few statements
per batch instead of a transaction per event. A batch that fails is retried event by event, so one
bad event cannot hold up its neighbours.

A handler registered with ``idempotent=True`` declares that running it again for an event it has
already handled changes nothing (it recomputes state rather than adding to it): it gets no delivery
rows. Within one relay transaction that is the same guarantee, since its effects commit with the
event's ``processed_at`` or not at all; the difference is that when another handler of the same
event fails, the event is retried and the idempotent handler runs again.

A handler registered with :func:`register_sql` is one idempotent SQL statement over the events. When
every handler of a topic is one, the relay claims that topic's events and runs the statements in a
single statement per batch: the events never leave the database, which at ten thousand events a
second halves the relay's work. If that statement fails, the same batch goes the ordinary way, with
the statement run over the events as a batch handler, so a bad event still fails alone.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction

from core import clock
from core.models import OutboxDelivery, OutboxEvent

logger = logging.getLogger(__name__)

Handler = Callable[[OutboxEvent], None]
BatchHandler = Callable[[list[OutboxEvent]], None]
_handlers: dict[str, list[tuple[str, Handler]]] = defaultdict(list)
_batch_handlers: dict[str, list[tuple[str, BatchHandler]]] = defaultdict(list)
_idempotent: set[str] = set()
# name -> (statement, after): handlers that are one SQL statement (see register_sql).
_in_database: dict[str, tuple[str, Callable[[], None] | None]] = {}

MAX_ATTEMPTS = 10  # after this an event stays visible in admin with its last error
PURGE_BATCH_SIZE = 10_000  # handled events deleted per transaction by outbox_purge


def handler_name(func: Callable[..., None]) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def register(topic: str) -> Callable[[Handler], Handler]:
    """Decorator: run ``func(event)`` once for every event of ``topic``."""

    def decorator(func: Handler) -> Handler:
        name = handler_name(func)
        if name not in {existing for existing, _ in _handlers[topic]}:
            _handlers[topic].append((name, func))
        return func

    return decorator


def register_batch(
    *topics: str, idempotent: bool = False
) -> Callable[[BatchHandler], BatchHandler]:
    """Decorator: run ``func(events)`` once for every event of ``topics``, many events per call.

    The events come in the order they were written, all of the handler's topics mixed, and the call
    runs in the transaction that records their delivery: the handler must do its writes there.
    ``idempotent=True``: the handler may run twice for an event with the effect of once, so it
    keeps no delivery rows (see the module's docstring)."""

    def decorator(func: BatchHandler) -> BatchHandler:
        name = handler_name(func)
        if idempotent:
            _idempotent.add(name)
        _add_batch_handler(topics, name, func)
        return func

    return decorator


def register_sql(
    *topics: str, name: str, statement: str, after: Callable[[], None] | None = None
) -> BatchHandler:
    """Handle every event of ``topics`` with one SQL statement per batch, and call ``after()``
    once per batch in its transaction. Returns the handler as a batch handler, for direct calls.

    ``statement`` is one INSERT, UPDATE, DELETE or SELECT that reads the events from the relation
    ``{events}`` (columns ``id`` uuid, ``topic`` text, ``payload`` jsonb); it must be idempotent
    (it runs again for an event whose neighbour's handler failed) and take no parameters."""
    if "{events}" not in statement:
        raise ValueError(f"{name}: the statement must read the events from {{events}}")
    _in_database[name] = (statement, after)

    # The statement is the handler's own code; values go as parameters.
    given = (
        "WITH events AS (SELECT * FROM unnest(%s::uuid[], %s::text[], %s::jsonb[])"  # noqa: S608
        " AS e(id, topic, payload)) " + statement.format(events="events")
    )

    def handle(events: list[OutboxEvent]) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                given,
                [
                    [event.id for event in events],
                    [event.topic for event in events],
                    [json.dumps(event.payload) for event in events],
                ],
            )
        if after is not None:
            after()

    handle.__module__, handle.__qualname__ = name.rsplit(".", 1)
    handle.__name__ = handle.__qualname__
    _idempotent.add(name)
    _add_batch_handler(topics, name, handle)
    return handle


def _add_batch_handler(topics: tuple[str, ...], name: str, func: BatchHandler) -> None:
    for topic in topics:
        if name not in {existing for existing, _ in _batch_handlers[topic]}:
            _batch_handlers[topic].append((name, func))


def handlers_for(topic: str) -> list[tuple[str, Handler]]:
    """Every handler of ``topic`` as a one-event call (a batch handler gets a list of one)."""
    single = list(_handlers.get(topic, []))
    for name, func in _batch_handlers.get(topic, []):
        single.append((name, _one_event(func)))
    return single


def _one_event(func: BatchHandler) -> Handler:
    def call(event: OutboxEvent) -> None:
        func([event])

    return call


def batch_topics() -> list[str]:
    """Topics whose every handler takes batches: the relay drains these a batch at a time."""
    return sorted(
        topic
        for topic, handlers in _batch_handlers.items()
        if handlers and not _handlers.get(topic)
    )


def emit(topic: str, payload: dict[str, Any]) -> OutboxEvent:
    """Write an event; call inside the transaction of the change. Wakes the relay after commit."""
    event = OutboxEvent.objects.create(topic=topic, payload=payload)
    wake_relay_on_commit()
    return event


def emit_many(topic: str, payloads: list[dict[str, Any]]) -> list[OutboxEvent]:
    """:func:`emit` for many events of one topic, in one statement."""
    events = OutboxEvent.objects.bulk_create(
        [OutboxEvent(topic=topic, payload=payload) for payload in payloads]
    )
    if events:
        wake_relay_on_commit()
    return events


def wake_relay_on_commit() -> None:
    """Wake the relay after the current transaction commits (also for events written in bulk SQL)
    when OUTBOX_WAKE_RELAY is on."""
    if not settings.OUTBOX_WAKE_RELAY:
        return
    # One wake-up per transaction is enough: the relay drains everything pending when it runs.
    current = transaction.get_connection()
    if current.in_atomic_block and any(
        callback is _wake_relay for _sids, callback, _robust in current.run_on_commit
    ):
        return
    transaction.on_commit(_wake_relay)


# Set while a woken relay waits in the queue: a hundred commits a second then cost one relay run,
# not a hundred. The relay clears it before it claims anything, so an event committed while the
# flag is set is seen by the relay that set it. The timeout bounds the damage of a lost task (beat
# runs the relay every few seconds anyway).
RELAY_WOKEN_KEY = "outbox:relay-woken"
RELAY_WOKEN_TIMEOUT_SECONDS = 10


def _wake_relay() -> None:
    from core.tasks import outbox_relay

    try:
        if not cache.add(RELAY_WOKEN_KEY, "1", timeout=RELAY_WOKEN_TIMEOUT_SECONDS):
            return
    except Exception:  # noqa: BLE001 - without the cache every commit wakes the relay, as before
        logger.warning("outbox wake-up flag unavailable; waking the relay anyway")
    try:
        outbox_relay.delay()
    except Exception:  # noqa: BLE001 - the broker may be down; beat runs the relay every few seconds
        logger.warning("outbox relay could not be woken; beat will pick the events up")
        relay_woken()


def relay_woken() -> None:
    """Call when a relay run starts, before it claims: later commits wake a new one."""
    try:
        cache.delete(RELAY_WOKEN_KEY)
    except Exception:  # noqa: BLE001 - the flag times out; beat runs the relay meanwhile
        logger.warning("outbox wake-up flag not cleared")


def relay(*, limit: int | None = None, now_fn: Callable[[], Any] = clock.now) -> int:
    """Handle pending events; returns how many were completed.

    Events of batch topics go a batch per transaction; every other event goes one transaction each,
    which keeps row locks short and makes the window between a side effect (an e-mail handed to the
    mail server) and its commit as small as it can be. Rounds repeat while they make progress, so
    events that handlers emit are handled by the same call.
    """
    completed = 0
    skipped: set[Any] = set()
    batched = batch_topics()

    def budget() -> int | None:
        return None if limit is None else limit - completed - len(skipped)

    while True:
        before = completed
        for step in (_relay_batches, _relay_singles):
            remaining = budget()
            if remaining is not None and remaining <= 0:
                return completed
            if step is _relay_singles or batched:
                completed += step(batched, budget=remaining, skipped=skipped, now_fn=now_fn)
        if completed == before:
            return completed


def _relay_singles(
    batched: list[str], *, budget: int | None, skipped: set[Any], now_fn: Callable[[], Any]
) -> int:
    completed = 0
    start_skipped = len(skipped)
    while budget is None or completed + len(skipped) - start_skipped < budget:
        with transaction.atomic():
            event = (
                OutboxEvent.objects.select_for_update(skip_locked=True)
                .filter(processed_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
                .exclude(topic__in=batched)
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


def _relay_batches(
    topics: list[str], *, budget: int | None, skipped: set[Any], now_fn: Callable[[], Any]
) -> int:
    completed = 0
    start_skipped = len(skipped)
    size = settings.OUTBOX_BATCH_SIZE
    in_database = [
        topic for topic in topics if all(name in _in_database for name, _ in _batch_handlers[topic])
    ]
    while budget is None or completed + len(skipped) - start_skipped < budget:
        take = (
            size if budget is None else min(size, budget - completed - len(skipped) + start_skipped)
        )
        claim = topics
        if in_database:
            try:
                with transaction.atomic():
                    handled = _relay_in_database(
                        in_database, take=take, skipped=skipped, now=now_fn()
                    )
            except Exception:
                # The ordinary claim below takes the same events and finds the bad one.
                logger.warning("outbox batch failed in the database; retried", exc_info=True)
                claim = in_database
            else:
                if handled:
                    completed += handled
                    continue
                in_database = []
        with transaction.atomic():
            events = _claim_batch(claim, take=take, skipped=skipped, now=now_fn())
            if not events:
                break
            done = _handle_batch(events)
            completed += len(done)
            skipped.update(event.id for event in events if event.id not in done)
    return completed


# Claims and marks complete in one statement (the events stay locked to the commit, so no other
# relay sees them either way); ``_handle_batch`` puts back the events whose handlers fail. Returns
# only the columns a handler reads: decoding timestamps and building full model rows cost as much as
# the statement itself at a few thousand events a second.
_CLAIM = """
WITH claimed AS (
  UPDATE core_outboxevent e SET processed_at = %(now)s
  FROM (
    SELECT id FROM core_outboxevent
    WHERE processed_at IS NULL AND attempts < %(max_attempts)s AND topic = ANY(%(topics)s)
      AND NOT (id = ANY(%(skipped)s::uuid[]))
    ORDER BY created_at LIMIT %(take)s FOR UPDATE SKIP LOCKED
  ) pending
  WHERE e.id = pending.id
  RETURNING {returning}
)"""
_CLAIM_BATCH = (
    _CLAIM.format(returning="e.id, e.topic, e.payload, e.attempts, e.created_at")
    + "\nSELECT id, topic, payload, attempts FROM claimed ORDER BY created_at"
)
_CLAIMED_FIELDS = ["id", "topic", "payload", "attempts"]
# The claim with the handlers' statements beside it (register_sql): data-modifying WITH queries
# run to completion whether or not the final SELECT reads them.
_CLAIM_IN_DATABASE = (
    _CLAIM.format(returning="e.id, e.topic, e.payload")  # noqa: S608 - constants
    + "{handlers}\nSELECT (SELECT count(*) FROM claimed), {counts}"
)


def _claim_params(topics: list[str], *, take: int, skipped: set[Any], now: Any) -> dict[str, Any]:
    return {
        "now": now,
        "max_attempts": MAX_ATTEMPTS,
        "topics": topics,
        "skipped": list(skipped),
        "take": take,
    }


def _claim_batch(topics: list[str], *, take: int, skipped: set[Any], now: Any) -> list[OutboxEvent]:
    """The claimed events, oldest first; the fields not read here load on first access."""
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_BATCH, _claim_params(topics, take=take, skipped=skipped, now=now))
        rows = cursor.fetchall()
    # Django has psycopg hand jsonb over as text, for the field to decode.
    return [
        OutboxEvent.from_db(
            connection.alias,
            _CLAIMED_FIELDS,
            (event_id, topic, json.loads(data), attempts),
        )
        for event_id, topic, data, attempts in rows
    ]


def _relay_in_database(topics: list[str], *, take: int, skipped: set[Any], now: Any) -> int:
    """Claim a batch of ``topics`` (every handler of each one SQL) and run the handlers' statements
    over it, all in one statement; then each handler's ``after``. Returns how many were handled."""
    handlers: dict[str, list[str]] = {}
    for topic in topics:
        for name, _ in _batch_handlers[topic]:
            handlers.setdefault(name, []).append(topic)
    # Built from constants and the handlers' own statements; values go as parameters.
    parts, params = [], _claim_params(topics, take=take, skipped=skipped, now=now)
    for index, (name, handled_topics) in enumerate(handlers.items()):
        params[f"topics_{index}"] = handled_topics
        events = f"events_{index}"
        parts.append(
            f", {events} AS (SELECT id, topic, payload FROM claimed"  # noqa: S608
            f" WHERE topic = ANY(%(topics_{index})s))"
            f", handled_{index} AS ({_in_database[name][0].format(events=events)})"
        )
    counts = ", ".join(
        f"(SELECT count(*) FROM events_{index})"  # noqa: S608
        for index in range(len(parts))
    )
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_IN_DATABASE.format(handlers="".join(parts), counts=counts), params)
        claimed, *per_handler = cursor.fetchone()
    for name, count in zip(handlers, per_handler, strict=True):
        after = _in_database[name][1]
        if count and after is not None:
            after()
    return claimed


def _handle_batch(events: list[OutboxEvent]) -> set[Any]:
    """Run every batch handler over its events (claimed and marked complete); returns the ids of
    the events still complete, and puts the others back with their error."""
    by_handler: dict[str, tuple[BatchHandler, list[OutboxEvent]]] = {}
    for event in events:
        for name, func in _batch_handlers[event.topic]:
            by_handler.setdefault(name, (func, []))[1].append(event)
    failed: set[Any] = set()
    for name, (func, handled) in by_handler.items():
        try:
            with transaction.atomic():
                fresh = handled if name in _idempotent else _claim_deliveries(handled, name)
                if fresh:
                    func(fresh)
        except Exception:  # noqa: BLE001 - find the bad event by running them one by one
            for event in handled:
                if not _deliver_one(event, name, func):
                    failed.add(event.id)
    for event in events:
        if event.id in failed:
            event.processed_at = None
            event.attempts += 1
            event.save(update_fields=["processed_at", "attempts", "last_error"])
    return {event.id for event in events if event.id not in failed}


def _claim_deliveries(events: list[OutboxEvent], name: str) -> list[OutboxEvent]:
    """Write the delivery rows of ``name``; returns the events it had not handled before."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {OutboxDelivery._meta.db_table} (event_id, handler, delivered_at) "
            "SELECT unnest(%s::uuid[]), %s, now() ON CONFLICT DO NOTHING RETURNING event_id",
            [[event.id for event in events], name],
        )
        fresh = {row[0] for row in cursor.fetchall()}
    return [event for event in events if event.id in fresh]


def _deliver_one(event: OutboxEvent, name: str, func: BatchHandler) -> bool:
    try:
        with transaction.atomic():
            if name in _idempotent or _claim_deliveries([event], name):
                func([event])
    except Exception as error:  # noqa: BLE001 - recorded on the event, retried by a later relay
        _record_failure(event, name, error)
        return False
    return True


def _handle(event: OutboxEvent, now: Any) -> bool:
    failed = False
    for name, func in handlers_for(event.topic):
        try:
            with transaction.atomic():
                if name not in _idempotent:
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


def outbox_purge(*, now: Any = None) -> int:
    """Delete the events handled more than OUTBOX_RETENTION ago, with their delivery rows, a batch
    per transaction; returns how many. A handled event is never claimed again, so its delivery rows
    have done their work; kept for ever they made the tables grow by every event."""
    cutoff = (now or clock.now()) - settings.OUTBOX_RETENTION
    purged = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "WITH old AS (SELECT id FROM core_outboxevent WHERE processed_at < %s LIMIT %s),"
                " deliveries AS (DELETE FROM core_outboxdelivery WHERE event_id IN"
                " (SELECT id FROM old))"
                " DELETE FROM core_outboxevent WHERE id IN (SELECT id FROM old)",
                [cutoff, PURGE_BATCH_SIZE],
            )
            purged += cursor.rowcount
            if cursor.rowcount < PURGE_BATCH_SIZE:
                return purged
