"""Idempotency-Key for unsafe API calls.

Same user + same key + same body replays the stored response; another body gets 422; a request
arriving while the first is still running gets 409. Keys belong to a user: two users may use the
same key without seeing each other's responses.

The request working on a key holds a PostgreSQL advisory lock on its record for as long as it runs.
When that request dies with its database session (a worker killed, the database restarted), the
lock goes with it and a retry takes the key over at once instead of waiting for the timeout. This
is safe because every change made under a key commits together with its stored answer
(:func:`complete_in_transaction`): a key still in flight whose owner is gone changed nothing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils.translation import gettext_lazy as _
from rest_framework.request import Request
from rest_framework.response import Response

from core import clock
from core.errors import Conflict, DomainError
from core.models import IdempotencyRecord

logger = logging.getLogger(__name__)
HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
LOCK_SPACE = 0x1D3  # first key of the advisory locks on idempotency records


class IdempotencyKeyMissing(DomainError):
    code = "idempotency_key_required"
    default_detail = _("This operation needs an Idempotency-Key header.")


class IdempotencyKeyInvalid(DomainError):
    code = "idempotency_key_invalid"
    default_detail = _("The Idempotency-Key must be 1 to 255 printable characters.")


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status = 422
    default_detail = _("This Idempotency-Key was already used with a different request.")


class IdempotencyInFlight(Conflict):
    code = "idempotency_in_flight"
    default_detail = _("A request with this Idempotency-Key is still being processed.")


def request_fingerprint(request: Request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str, separators=(",", ":"))
    raw = f"{request.method} {request.path}\n{body}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _claim(request: Request, key: str, fingerprint: str) -> tuple[IdempotencyRecord, bool]:
    now = clock.now()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                user_id=int(request.user.pk or 0),
                key=key,
                method=request.method or "",
                path=request.path,
                request_hash=fingerprint,
            )
            _lock(record.pk)  # held before any other request can see the row
            return record, True
    except IntegrityError:
        pass
    record = IdempotencyRecord.objects.get(user_id=int(request.user.pk or 0), key=key)
    if record.request_hash != fingerprint:
        raise IdempotencyKeyReused()
    if record.state == IdempotencyRecord.State.IN_FLIGHT:
        if _lock(record.pk, wait=False):
            # Its owner's session is gone, and nothing it did committed: the key is this request's.
            taken = IdempotencyRecord.objects.filter(
                pk=record.pk, state=IdempotencyRecord.State.IN_FLIGHT
            ).update(created_at=now)
            if taken:
                record.created_at = now
                return record, True
            _unlock(record.pk)  # answered or released meanwhile: look again
            return _claim(request, key, fingerprint)
        # A request that runs too long (or a lock lost otherwise) frees the key after the timeout.
        stale_before = now - settings.IDEMPOTENCY_IN_FLIGHT_TIMEOUT
        taken = IdempotencyRecord.objects.filter(
            pk=record.pk, state=IdempotencyRecord.State.IN_FLIGHT, created_at__lt=stale_before
        ).update(created_at=now)
        if taken:
            record.created_at = now
            return record, True
        raise IdempotencyInFlight()
    return record, False


def idempotent(view_method: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate an APIView handler (post/put/patch/delete) to require and honour the header."""

    @functools.wraps(view_method)
    def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            raise IdempotencyKeyMissing()
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise IdempotencyKeyInvalid()
        record, is_new = _claim(request, key, request_fingerprint(request))
        request.idempotency_record = record  # type: ignore[attr-defined]
        if not is_new:
            response = Response(record.response_body, status=record.response_status)
            response["Idempotent-Replayed"] = "true"
            return response
        try:
            return _run(view_method, record, self, request, *args, **kwargs)
        finally:
            _unlock(record.pk)

    return wrapper


def _run(
    view_method: Callable[..., Response], record: IdempotencyRecord, *args: Any, **kwargs: Any
) -> Response:
    try:
        response = view_method(*args, **kwargs)
    except DomainError as error:
        if error.status >= 500:
            _release(record)
            raise
        from core.api.errors import error_body

        response = Response(error_body(error), status=error.status)
    except BaseException:
        _release(record)
        raise
    if response.status_code >= 500:
        _release(record)
        return response
    _complete(record.pk, response.status_code, response.data)
    return response


def _lock(record_id: int, *, wait: bool = True) -> bool:
    """Take this session's advisory lock on a record; without ``wait``, only if it is free."""
    function = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [LOCK_SPACE, record_id % 2**31])
        row = cursor.fetchone()
    return wait or bool(row and row[0])


def _unlock(record_id: int) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_SPACE, record_id % 2**31])
    except DatabaseError:
        pass  # the session is gone, and its locks with it


def _complete(record_id: int, status: int, body: Any) -> int:
    """Store the answer of a key, once (a view may already have done so in its own transaction)."""
    return IdempotencyRecord.objects.filter(
        pk=record_id, state=IdempotencyRecord.State.IN_FLIGHT
    ).update(
        state=IdempotencyRecord.State.DONE,
        response_status=status,
        response_body=json.loads(json.dumps(body, default=str)),
        completed_at=clock.now(),
    )


def complete_in_transaction(request: Request, status: int, body: Any) -> None:
    """Call inside the transaction that makes the change: the stored answer then commits with it.

    If the process dies between that commit and the response, a retry with the same key replays
    the answer instead of running the change a second time."""
    record = getattr(request, "idempotency_record", None)
    if record is not None:
        _complete(record.pk, status, body)


def _release(record: IdempotencyRecord) -> None:
    """Forget a key whose request failed, so the client may retry it at once."""
    try:
        # Only this request's claim: a retry may have taken the key over since.
        IdempotencyRecord.objects.filter(
            pk=record.pk, state=IdempotencyRecord.State.IN_FLIGHT, created_at=record.created_at
        ).delete()
    except DatabaseError:
        logger.warning("idempotency key kept in flight; it frees itself after the timeout")


def idempotency_purge(*, now: Any = None) -> int:
    now = now or clock.now()
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=now - settings.IDEMPOTENCY_KEY_TTL
    ).delete()
    return deleted
