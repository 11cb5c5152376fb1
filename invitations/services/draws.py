"""The lottery rounds of a drop: holding units, inviting winners, expiring, drawing again.

Idempotency: a round is a row unique per (drop, round) written in the same durable transaction as
its invitations, its held units and the winners' e-mails (outbox rows).

States after a round: the draw writes no request row. A winner's request keeps "received" until
the batched follow-up (:func:`notify_not_drawn`) copies its invitation's status into it; until
then its invitation says what it is (selectors.shown_state), and every pool of a later round
leaves out requests with an invitation. A request still "received" without one in a drawn drop
was not drawn; the same follow-up tells it so and marks it "not_drawn". A worker killed anywhere
before the commit leaves nothing; run again, the round is drawn from the same inputs and seed and
gives the same winners; run after the commit, it returns the stored round and sends nothing. What
happens after a round (telling those not drawn, further rounds) is derived from the database's state
on every run, so a lost task or a crash between steps is picked up by the next periodic run.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Exists, F, Max, OuterRef, QuerySet, Sum

from core import clock, outbox
from invitations import errors, lottery
from invitations.choices import DropStatus, InvitationStatus, RequestState
from invitations.constants import (
    EXPIRE_BATCH_SIZE,
    LOTTERY_ALGORITHM,
    NOTIFY_BATCH_SIZE,
)
from invitations.db import roomy_sorts
from invitations.mails import mails_queue
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
    existing = _stored_draw(drop_id, round_number)
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
        existing = _stored_draw(drop_id, round_number)
        if existing is not None:
            return existing
        last = drop.draws.aggregate(last=Max("round"))["last"] or 0
        if round_number != last + 1:
            raise errors.DrawNotPossible(extra={"next_round": last + 1})
        if round_number == 1:
            # Locked until the commit: the units drawn for are the units taken below.
            stock = Offer.objects.select_for_update().values_list("stock", flat=True)
            available = min(drop.units, stock.get(pk=drop.offer_id))
            if available < drop.units:
                logger.warning(
                    "drop %s: offer %s holds only %s of %s units",
                    drop.pk,
                    drop.offer_id,
                    available,
                    drop.units,
                )
            draw, eligible = _draw_insert(
                drop, round_number, [RequestState.RECEIVED], available, now
            )
            _hold_units(drop, draw.units)
        else:
            draw, eligible = _draw_insert(
                drop, round_number, _later_round_pool(), _free_units(drop), now
            )
        winners = draw.winner_request_ids
        _invite(drop, draw, now)
        # No request row is written for the winners or for those not drawn (see the module's
        # doc): the follow-up does it in batches. Only requests admitted after an earlier round,
        # which waited as "not_drawn" untold, become "received" to be told.
        if round_number > 1:
            InvitationRequest.objects.filter(
                drop=drop, state=RequestState.NOT_DRAWN, notified_at__isnull=True
            ).update(state=RequestState.RECEIVED)
        if drop.status not in {DropStatus.DRAWN, DropStatus.COMPLETED}:
            Drop.objects.filter(pk=drop.pk).update(status=DropStatus.DRAWN, updated_at=now)
        outbox.emit(
            "draw.completed",
            {
                "drop_id": drop.pk,
                "round": round_number,
                "units": draw.units,
                "winners": len(winners),
                "eligible": eligible,
            },
        )
        # Those not drawn are told in batches after the commit: a draw of a million requests must
        # not be one transaction of a million e-mails. draws_due sends what this task did not.
        transaction.on_commit(lambda: _schedule_notifications(drop_id))
    return draw


def _stored_draw(drop_id: int, round_number: int) -> Draw | None:
    # The eligible ids (a million for a big drop) are read only by those who need them.
    return (
        Draw.objects.defer("eligible_request_ids")
        .filter(drop_id=drop_id, round=round_number)
        .first()
    )


# Winners are the ``winners`` smallest ranks; a round holds ``available`` units at most, the
# limit per customer each. The ranking is a read of its own so that PostgreSQL may spread it over
# parallel workers (a statement that writes runs in one process), and the ids travel to Python
# and back only for the winners; the eligible ids are aggregated where the draw row is written.
# NOT IN over the drop's invitations (a hashed subplan, none in round 1) rather than NOT EXISTS:
# the planner keeps the filter in the parallel scan, under each worker's top-K sort, where an
# anti-join above the workers made them sort everything.
_POOL = """
    drop_id = %(drop_id)s AND state = ANY(%(states)s)
    AND id NOT IN (SELECT request_id FROM invitations_invitation WHERE drop_id = %(drop_id)s)
"""
_WINNERS = """
    SELECT id FROM invitations_invitationrequest WHERE {pool}
     ORDER BY {rank}, id
     LIMIT %(winners)s
""".format(pool=_POOL, rank=lottery.rank_sql("id"))  # noqa: S608 - constant expressions, no input

_DRAW_INSERT = f"""
    INSERT INTO invitations_draw
        (drop_id, round, units, algorithm, eligible_request_ids, winner_request_ids, drawn_at)
    SELECT %(drop_id)s, %(round)s,
        least(%(available)s, cardinality(%(winners)s::bigint[]) * %(limit)s),
        %(algorithm)s,
        (SELECT coalesce(array_agg(id ORDER BY id), '{{}}')
           FROM invitations_invitationrequest WHERE {_POOL}),
        to_jsonb(%(winners)s::bigint[]),
        %(now)s
    RETURNING id, cardinality(eligible_request_ids)
"""  # noqa: S608 - a constant expression, no input


def _draw_insert(
    drop: Drop, round_number: int, pool: list[str], available: int, now: datetime
) -> tuple[Draw, int]:
    """The round (see lottery.rank_sql); returns it and how many were eligible."""
    with connection.cursor() as cursor:
        roomy_sorts(cursor)
        cursor.execute(
            _WINNERS,
            {
                "drop_id": drop.pk,
                "states": list(pool),
                "winners": lottery.winners_needed(available, drop.limit_per_customer),
                **lottery.rank_sql_keys(drop.seed, round_number),
            },
        )
        winners = sorted(row[0] for row in cursor.fetchall())
        cursor.execute(
            _DRAW_INSERT,
            {
                "drop_id": drop.pk,
                "states": list(pool),
                "round": round_number,
                "available": available,
                "limit": drop.limit_per_customer,
                "algorithm": LOTTERY_ALGORITHM,
                "winners": winners,
                "now": now,
            },
        )
        draw_id, eligible = cursor.fetchone()
    return Draw.objects.defer("eligible_request_ids").get(pk=draw_id), eligible


def _later_round_pool() -> list[str]:
    return [RequestState.RECEIVED, RequestState.NOT_DRAWN]


def _undrawn(drop: Drop) -> QuerySet[InvitationRequest]:
    """The requests a later round may draw: the pool's states, and no invitation yet."""
    return InvitationRequest.objects.filter(drop=drop, state__in=_later_round_pool()).exclude(
        Exists(Invitation.objects.filter(request_id=OuterRef("pk")))
    )


def _hold_units(drop: Drop, units: int) -> None:
    """Take ``units`` from the offer's stock (row locked by the draw) into the drop's hold."""
    if units:
        taken = Offer.objects.filter(pk=drop.offer_id, stock__gte=units).update(
            stock=F("stock") - units
        )
        if taken != 1:  # cannot happen under the row lock; refuse rather than oversell
            raise errors.NotEnoughStock(extra={"offer_id": drop.offer_id})
        Drop.objects.filter(pk=drop.pk).update(held_units=F("held_units") + units)


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


# One statement for the winners' invitations: the quantities of lottery.quantities (the limit
# each, in winner order by id, the last one the remainder), each winner's customer. The winners'
# request rows are not written here: ten thousand rows spread over a million, each with its
# indexes, cost more than the rest of the draw's writes together (see the module's doc).
_INVITE = """
    INSERT INTO invitations_invitation
        (request_id, drop_id, customer_id, round, quantity, status, expires_at)
    SELECT r.id, r.drop_id, r.customer_id, %(round)s,
           least(%(limit)s, %(units)s - %(limit)s * (w.position - 1)), %(status)s, %(expires)s
      FROM unnest(%(winners)s::bigint[]) WITH ORDINALITY AS w(id, position)
      JOIN invitations_invitationrequest r ON r.id = w.id
"""


def _invite(drop: Drop, draw: Draw, now: datetime) -> None:
    """Invitations, the winners' state, their e-mails and outbox events: a few set statements."""
    winners = list(draw.winner_request_ids)
    limit = drop.limit_per_customer
    expires = now + timedelta(hours=drop.purchase_window_hours)
    with connection.cursor() as cursor:
        cursor.execute(
            _INVITE,
            {
                "round": draw.round,
                "limit": limit,
                "units": draw.units,
                "status": InvitationStatus.INVITED,
                "expires": expires,
                "winners": winners,
            },
        )
    quantities = lottery.quantities(draw.units, len(winners), limit)
    product = drop.offer.product
    mails_queue(
        "invitation_granted",
        winners,
        quantities,
        {
            quantity: {
                "drop": drop,
                "expires_at": expires,
                "product": product,
                "quantity": quantity,
            }
            for quantity in set(quantities)
        },
    )


def _schedule_notifications(drop_id: int) -> None:
    from invitations.tasks import notify_not_drawn_task

    try:
        notify_not_drawn_task.delay(drop_id)
    except Exception:  # the broker may be down: draws_due sends them on its next run
        logger.warning("not-drawn notices of drop %s not queued", drop_id, exc_info=True)


# Winners whose request still says "received" take their invitation's status (the draw left the
# rows alone); the statuses of an invitation are states of a request by the same names.
_WINNERS_STATE = """
    UPDATE invitations_invitationrequest r SET state = i.status
      FROM invitations_invitation i
     WHERE i.drop_id = %(drop_id)s AND i.request_id = r.id AND r.state = %(received)s
"""


def notify_not_drawn(
    drop_id: int, *, batch_size: int = NOTIFY_BATCH_SIZE, now: datetime | None = None
) -> int:
    """The follow-up of a round: the winners' requests take their invitations' status, then every
    request not drawn is told, a batch per transaction; each request once. Returns how many were
    told.

    In a drawn drop a request still "received" without an invitation took part in a round and was
    not drawn; its notice and its state "not_drawn" are written together, so a batch is told once
    or not at all. Batches follow the primary key from where the last one ended, so each costs its
    own rows, not the whole drop's.
    """
    now = now or clock.now()
    drop = Drop.objects.select_related("offer__product").filter(pk=drop_id).first()
    if drop is None or not drop.draws.exists():
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_WINNERS_STATE, {"drop_id": drop.pk, "received": RequestState.RECEIVED})
    context = {"drop": drop, "product": drop.offer.product}
    sent = 0
    last = 0
    while True:
        with transaction.atomic():
            batch = list(
                InvitationRequest.objects.select_for_update(skip_locked=True)
                .filter(
                    drop=drop, state=RequestState.RECEIVED, notified_at__isnull=True, pk__gt=last
                )
                # A round drawn since the winners were marked: its winners wait for its follow-up.
                .exclude(Exists(Invitation.objects.filter(request_id=OuterRef("pk"))))
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not batch:
                return sent
            last = batch[-1]
            mails_queue("invitation_not_drawn", batch, [0] * len(batch), {0: context})
            InvitationRequest.objects.filter(pk__in=batch).update(
                state=RequestState.NOT_DRAWN, notified_at=now
            )
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
        try:
            if _undrawn(drop).exists():
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
        if _undrawn(drop).exists():
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
    untold = InvitationRequest.objects.filter(
        drop=OuterRef("pk"), state=RequestState.RECEIVED, notified_at__isnull=True
    )
    pending = Drop.objects.filter(
        Exists(untold), status__in=[DropStatus.DRAWN, DropStatus.COMPLETED]
    ).values_list("pk", flat=True)
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
