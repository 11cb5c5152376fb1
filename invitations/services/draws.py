"""The lottery rounds of a drop: holding units, inviting winners, expiring, drawing again.

Idempotency: a round is a row unique per (drop, round) written in the same durable transaction as
its invitations, its held units and the winners' e-mails (outbox rows). A worker killed anywhere
before the commit leaves nothing; run again, the round is drawn from the same inputs and seed and
gives the same winners; run after the commit, it returns the stored round and sends nothing. What
happens after a round (telling those not drawn, further rounds) is derived from the database's state
on every run, so a lost task or a crash between steps is picked up by the next periodic run.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Max, Sum

from core import clock, outbox
from core.email import email_queue
from invitations import errors, lottery
from invitations.choices import DropStatus, InvitationStatus, RequestState
from invitations.constants import EXPIRE_BATCH_SIZE, NOTIFY_BATCH_SIZE
from invitations.models import Draw, Drop, Invitation, InvitationRequest
from invitations.services.drops import drop_close_now, drops_advance
from invitations.services.requests import screening_batch
from marketplace.models import Offer

logger = logging.getLogger(__name__)


def draw_run(drop_id: int, *, round_number: int = 1, now: datetime | None = None) -> Draw:
    """Draw one round in one durable transaction; a round already drawn is returned as stored.

    Round 1 draws among the requests that passed screening, after the batch screening, and takes
    the drop's units from the offer's stock into the hold. Later rounds draw the units freed by
    expired (or cancelled) invitations among the requests not drawn so far.
    """
    now = now or clock.now()
    existing = Draw.objects.filter(drop_id=drop_id, round=round_number).first()
    if existing is not None:
        return existing
    drop = Drop.objects.filter(pk=drop_id).first()
    if drop is None:
        raise errors.DropNotFound()
    if round_number == 1:
        if now < drop.request_closes_at and drop.status != DropStatus.CLOSED:
            raise errors.DrawNotPossible(
                extra={"request_closes_at": drop.request_closes_at.isoformat()}
            )
        screening_batch(drop, now=now)
    with transaction.atomic(durable=True):
        drop = Drop.objects.select_for_update().get(pk=drop_id)
        existing = Draw.objects.filter(drop=drop, round=round_number).first()
        if existing is not None:
            return existing
        last = drop.draws.aggregate(last=Max("round"))["last"] or 0
        if round_number != last + 1:
            raise errors.DrawNotPossible(extra={"next_round": last + 1})
        pool = [RequestState.RECEIVED] if round_number == 1 else _later_round_pool()
        eligible = list(
            InvitationRequest.objects.filter(drop=drop, state__in=pool)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        limit = drop.limit_per_customer
        if round_number == 1:
            units = _hold_units(drop, min(drop.units, len(eligible) * limit))
        else:
            units = min(_free_units(drop), len(eligible) * limit)
        winners = lottery.draw_winners(
            drop.seed, round_number, eligible, lottery.winners_needed(units, limit)
        )
        draw = Draw.objects.create(
            drop=drop,
            round=round_number,
            units=units,
            eligible_request_ids=eligible,
            winner_request_ids=winners,
            drawn_at=now,
        )
        _invite(drop, draw, winners, lottery.quantities(units, len(winners), limit), now)
        InvitationRequest.objects.filter(drop=drop, state=RequestState.RECEIVED).update(
            state=RequestState.NOT_DRAWN
        )
        if drop.status not in {DropStatus.DRAWN, DropStatus.COMPLETED}:
            Drop.objects.filter(pk=drop.pk).update(status=DropStatus.DRAWN, updated_at=now)
        outbox.emit(
            "draw.completed",
            {
                "drop_id": drop.pk,
                "round": round_number,
                "units": units,
                "winners": len(winners),
                "eligible": len(eligible),
            },
        )
        # Those not drawn are told in batches after the commit: a draw of a million requests must
        # not be one transaction of a million e-mails. draws_due sends what this task did not.
        transaction.on_commit(lambda: _schedule_notifications(drop_id))
    return draw


def _later_round_pool() -> list[str]:
    return [RequestState.RECEIVED, RequestState.NOT_DRAWN]


def _hold_units(drop: Drop, wanted: int) -> int:
    """Take up to ``wanted`` units from the offer's stock into the drop's hold (row locked)."""
    offer = Offer.objects.select_for_update().get(pk=drop.offer_id)
    units = max(0, min(wanted, offer.stock))
    if units < wanted:
        logger.warning(
            "drop %s: offer %s holds only %s of %s units", drop.pk, offer.pk, units, wanted
        )
    if units:
        taken = Offer.objects.filter(pk=offer.pk, stock__gte=units).update(stock=F("stock") - units)
        if taken != 1:  # cannot happen under the row lock; refuse rather than oversell
            raise errors.NotEnoughStock(extra={"offer_id": offer.pk})
        Drop.objects.filter(pk=drop.pk).update(held_units=F("held_units") + units)
    return units


def _free_units(drop: Drop) -> int:
    """Held units no open invitation holds: freed by expiry, a smaller purchase or a cancel."""
    held = Drop.objects.filter(pk=drop.pk).values_list("held_units", flat=True).get()
    invited = (
        Invitation.objects.filter(drop=drop, status=InvitationStatus.INVITED).aggregate(
            units=Sum("quantity")
        )["units"]
        or 0
    )
    return max(0, held - invited)


def _invite(
    drop: Drop, draw: Draw, winners: list[int], quantities: list[int], now: datetime
) -> None:
    expires = now + timedelta(hours=drop.purchase_window_hours)
    requests = InvitationRequest.objects.select_related("customer").in_bulk(winners)
    product = drop.offer.product
    Invitation.objects.bulk_create(
        [
            Invitation(
                request_id=request_id,
                drop=drop,
                customer_id=requests[request_id].customer_id,
                round=draw.round,
                quantity=quantity,
                expires_at=expires,
            )
            for request_id, quantity in zip(winners, quantities, strict=True)
        ]
    )
    for request_id, quantity in zip(winners, quantities, strict=True):
        customer = requests[request_id].customer
        email_queue(
            to=customer.email,
            template="invitation_granted",
            language=customer.language,
            context={"drop": drop, "expires_at": expires, "product": product, "quantity": quantity},
        )
    InvitationRequest.objects.filter(pk__in=winners).update(state=RequestState.INVITED)


def _schedule_notifications(drop_id: int) -> None:
    from invitations.tasks import notify_not_drawn_task

    try:
        notify_not_drawn_task.delay(drop_id)
    except Exception:  # the broker may be down: draws_due sends them on its next run
        logger.warning("not-drawn notices of drop %s not queued", drop_id, exc_info=True)


def notify_not_drawn(
    drop_id: int, *, batch_size: int = NOTIFY_BATCH_SIZE, now: datetime | None = None
) -> int:
    """Tell every request that was not drawn, a batch per transaction; each request once."""
    now = now or clock.now()
    drop = Drop.objects.select_related("offer__product").filter(pk=drop_id).first()
    if drop is None:
        return 0
    sent = 0
    while True:
        with transaction.atomic():
            batch = list(
                InvitationRequest.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("customer")
                .filter(drop=drop, state=RequestState.NOT_DRAWN, notified_at__isnull=True)
                .order_by("pk")[:batch_size]
            )
            if not batch:
                return sent
            for request in batch:
                email_queue(
                    to=request.customer.email,
                    template="invitation_not_drawn",
                    language=request.customer.language,
                    context={"drop": drop, "product": drop.offer.product},
                )
            InvitationRequest.objects.filter(pk__in=[r.pk for r in batch]).update(notified_at=now)
            sent += len(batch)


def invitations_expire(*, now: datetime | None = None, batch_size: int = EXPIRE_BATCH_SIZE) -> int:
    """Expire invitations whose purchase window ended, then give freed units a further round."""
    now = now or clock.now()
    expired = 0
    while True:
        with transaction.atomic():
            due = list(
                Invitation.objects.select_for_update(skip_locked=True)
                .filter(status=InvitationStatus.INVITED, expires_at__lte=now)
                .order_by("pk")
                .values_list("pk", "request_id", "drop_id")[:batch_size]
            )
            if not due:
                break
            Invitation.objects.filter(
                pk__in=[pk for pk, _request, _drop in due], status=InvitationStatus.INVITED
            ).update(status=InvitationStatus.EXPIRED)
            InvitationRequest.objects.filter(
                pk__in=[request for _pk, request, _drop in due]
            ).update(state=RequestState.EXPIRED)
            for drop_id in sorted({drop for _pk, _request, drop in due}):
                outbox.emit(
                    "invitation.expired",
                    {
                        "drop_id": drop_id,
                        "invitation_ids": [pk for pk, _r, drop in due if drop == drop_id],
                    },
                )
            expired += len(due)
    drops_redraw(now=now)
    return expired


def drops_redraw(*, now: datetime | None = None) -> list[Draw]:
    """For every drawn drop with freed units: a further round among the requests not drawn yet,
    or, when nobody is left, the units back to the offer's stock. Derived from state, so a crash
    between an expiry and its round is mended by the next run."""
    now = now or clock.now()
    draws = []
    for drop in Drop.objects.filter(status=DropStatus.DRAWN).order_by("pk"):
        if _free_units(drop) == 0:
            _complete_if_done(drop.pk, now)
            continue
        pool = InvitationRequest.objects.filter(drop=drop, state__in=_later_round_pool())
        try:
            if pool.exists():
                last = drop.draws.aggregate(last=Max("round"))["last"] or 0
                draws.append(draw_run(drop.pk, round_number=last + 1, now=now))
            else:
                _release(drop.pk, now)
        except Exception:
            logger.exception("further round of drop %s failed", drop.pk)  # retried next run
    return draws


def _release(drop_id: int, now: datetime) -> None:
    """Nobody left to draw: freed units go back to the offer's stock (for the seller to use)."""
    with transaction.atomic():
        drop = Drop.objects.select_for_update().get(pk=drop_id)
        if InvitationRequest.objects.filter(drop=drop, state__in=_later_round_pool()).exists():
            return  # someone was admitted meanwhile: the next run draws for them
        free = _free_units(drop)
        if free:
            Offer.objects.filter(pk=drop.offer_id).update(stock=F("stock") + free)
            Drop.objects.filter(pk=drop.pk).update(held_units=F("held_units") - free)
            outbox.emit("drop.units_released", {"drop_id": drop.pk, "units": free})
    _complete_if_done(drop_id, now)


def _complete_if_done(drop_id: int, now: datetime) -> None:
    Drop.objects.filter(pk=drop_id, status=DropStatus.DRAWN, held_units=0).update(
        status=DropStatus.COMPLETED, updated_at=now
    )


def draws_due(*, now: datetime | None = None) -> list[Draw]:
    """The periodic task: statuses follow the clock, closed drops are drawn, notices go out."""
    now = now or clock.now()
    draws = []
    for drop_id in drops_advance(now=now):
        try:
            draws.append(draw_run(drop_id, now=now))
        except Exception:
            # One broken drop must not hold up the others; it stays closed and is retried.
            logger.exception("draw of drop %s failed", drop_id)
    pending = (
        InvitationRequest.objects.filter(state=RequestState.NOT_DRAWN, notified_at__isnull=True)
        .values_list("drop_id", flat=True)
        .distinct()
    )
    for drop_id in sorted(pending):
        notify_not_drawn(drop_id, now=now)
    return draws


def drop_draw_now(drop_id: int, *, now: datetime | None = None) -> Draw:
    """Staff: close the request window now and draw round 1 (or return it if drawn)."""
    now = now or clock.now()
    existing = Draw.objects.filter(drop_id=drop_id, round=1).first()
    if existing is not None:
        return existing
    drop_close_now(drop_id, now=now)
    return draw_run(drop_id, round_number=1, now=now)


def draw_verify(drop_id: int, round_number: int) -> tuple[bool, list[int], list[int]]:
    """Recompute a draw's winners from its stored inputs and the drop's seed.

    Returns (matches, recomputed winners, stored winners). It also checks the seed against the
    hash published before the draw: a seed swapped afterwards does not verify.
    """
    draw = Draw.objects.select_related("drop").get(drop_id=drop_id, round=round_number)
    stored = list(draw.winner_request_ids)
    if lottery.seed_hash(draw.drop.seed) != draw.drop.seed_hash:
        return False, [], stored
    again = lottery.draw_winners(
        draw.drop.seed,
        round_number,
        draw.eligible_request_ids,
        lottery.winners_needed(draw.units, draw.drop.limit_per_customer),
    )
    return again == stored, again, stored
