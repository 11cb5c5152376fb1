"""Every write of invitations: drops, requests with screening, draws, held units, expiry."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q

from core import clock, outbox
from core.email import email_queue
from invitations import errors, lottery, screening
from invitations.choices import DropStatus, InvitationStatus, RequestState
from invitations.constants import RULES
from invitations.models import Draw, Drop, Invitation, InvitationRequest
from marketplace.choices import OrderStatus
from marketplace.models import Address, Offer, Order, User


def drop_create(
    *,
    offer: Offer,
    units: int,
    opens_at: datetime,
    closes_at: datetime,
    eligible_countries: list[str],
    purchase_window_hours: int = 72,
) -> Drop:
    """A drop commits to its seed now: the hash is published, the seed revealed after the draw."""
    seed = lottery.new_seed()
    with transaction.atomic():
        Offer.objects.filter(pk=offer.pk).update(requires_invitation=True)
        drop = Drop.objects.create(
            offer=offer,
            units=units,
            request_opens_at=opens_at,
            request_closes_at=closes_at,
            eligible_countries=[c.upper() for c in eligible_countries],
            purchase_window_hours=purchase_window_hours,
            seed=seed,
            seed_hash=lottery.seed_hash(seed),
        )
    return drop


# --- Requests ---------------------------------------------------------------------------------


def request_create(
    drop_id: int,
    customer: User,
    *,
    ip_address: str | None,
    device_id: str = "",
    user_agent: str = "",
    now: datetime | None = None,
) -> tuple[InvitationRequest, bool]:
    """One request per account and drop; a repeat returns the first one. Durable on return."""
    now = now or clock.now()
    drop = Drop.objects.filter(pk=drop_id).first()
    if drop is None:
        raise errors.DropNotFound()
    existing = InvitationRequest.objects.filter(drop=drop, customer=customer).first()
    if existing is not None:
        return existing, False
    if not drop.request_opens_at <= now < drop.request_closes_at:
        raise errors.DropNotOpen(
            extra={
                "opens_at": drop.request_opens_at.isoformat(),
                "closes_at": drop.request_closes_at.isoformat(),
            }
        )
    address = Address.objects.filter(owner=customer, is_default=True).first()
    if address is None:
        raise errors.AddressRequired()
    if address.country not in drop.eligible_countries:
        raise errors.CountryNotEligible(extra={"eligible_countries": drop.eligible_countries})
    network = screening.network_of(ip_address)
    network_window = now - RULES["network_burst"]["window"]  # type: ignore[operator]
    device_window = now - RULES["device_reuse"]["window"]  # type: ignore[operator]
    fired = screening.request_time_rules(
        account_age_days=(now - customer.date_joined).total_seconds() / 86400,
        delivered_orders=Order.objects.filter(buyer=customer, status=OrderStatus.DELIVERED).count(),
        email=customer.email,
        user_agent=user_agent,
        same_network_recent=InvitationRequest.objects.filter(
            network=network, created_at__gte=network_window
        ).count()
        if network
        else 0,
        same_device_recent=InvitationRequest.objects.filter(
            device_id=device_id, created_at__gte=device_window
        )
        .values("customer")
        .distinct()
        .count()
        if device_id
        else 0,
    )
    verdict = screening.Verdict(fired)
    try:
        with transaction.atomic(durable=True):
            request = InvitationRequest.objects.create(
                drop=drop,
                customer=customer,
                address=address,
                address_key=screening.address_key(
                    address.line1, address.postal_code, address.country
                ),
                ip_address=ip_address,
                network=network,
                device_id=device_id[:100],
                user_agent=user_agent[:300],
                state=RequestState.SCREENED_OUT
                if verdict.is_screened_out
                else RequestState.RECEIVED,
                verdict=verdict.as_json(),
                screened_category=verdict.category if verdict.is_screened_out else "",
                created_at=now,
            )
            outbox.emit("invitation.requested", {"request_id": request.pk, "drop_id": drop.pk})
    except IntegrityError:
        return InvitationRequest.objects.get(drop=drop, customer=customer), False
    return request, True


def screening_batch(drop: Drop, *, dry_run: bool = False) -> dict[str, Any]:
    """Cluster rules over every request of the drop; with ``dry_run`` nothing is written."""
    rows = list(
        InvitationRequest.objects.filter(drop=drop).values(
            "id",
            "address_key",
            "network",
            "verdict",
            "state",
            "customer__date_joined",
            "is_automated_verdict",
        )
    )
    inputs = [{**row, "date_joined": row["customer__date_joined"]} for row in rows]
    batch = screening.batch_rules(inputs, opens_at=drop.request_opens_at)
    removed_by_rule: dict[str, list[int]] = {}
    changes = []
    changed: list[InvitationRequest] = []
    for row in rows:
        if not row["is_automated_verdict"]:
            continue  # staff decided this one; the rules do not overrule a person
        earlier = [
            rule
            for rule in row["verdict"].get("fired", [])
            if rule["code"] not in {"shared_address", "shared_network", "signup_burst"}
        ]
        verdict = screening.Verdict(earlier + batch.get(row["id"], []))
        if verdict.is_screened_out:
            for rule in verdict.fired:
                removed_by_rule.setdefault(rule["code"], []).append(row["id"])
        new_state = RequestState.SCREENED_OUT if verdict.is_screened_out else RequestState.RECEIVED
        if row["state"] in {RequestState.RECEIVED, RequestState.SCREENED_OUT}:
            changes.append((row["id"], new_state, verdict))
            if new_state != row["state"] or verdict.fired != row["verdict"].get("fired", []):
                changed.append(
                    InvitationRequest(
                        pk=row["id"],
                        state=new_state,
                        verdict=verdict.as_json(),
                        screened_category=verdict.category if verdict.is_screened_out else "",
                    )
                )
    if not dry_run and changed:
        # Only the requests whose verdict moved are written, in bulk: most of a big drop is clean.
        InvitationRequest.objects.bulk_update(
            changed, ["state", "verdict", "screened_category"], batch_size=2000
        )
    return {
        "requests": len(rows),
        "screened_out": sum(1 for _id, state, _v in changes if state == RequestState.SCREENED_OUT),
        "by_rule": {
            code: {"count": len(ids), "samples": ids[:5]}
            for code, ids in sorted(removed_by_rule.items())
        },
    }


def request_appeal(customer: User, *, request_id: int, text: str) -> InvitationRequest:
    """A screened-out customer explains themselves; staff read it in admin and may admit them."""
    if not text.strip():
        raise errors.AppealTextRequired()
    with transaction.atomic():
        request = (
            InvitationRequest.objects.select_for_update()
            .filter(pk=request_id, customer=customer)
            .first()
        )
        if request is None:
            raise errors.RequestNotFound()
        if request.state != RequestState.SCREENED_OUT:
            raise errors.NotScreenedOut()
        request.appeal_text = text.strip()[:2000]
        request.save(update_fields=["appeal_text"])
        outbox.emit("invitation.appealed", {"request_id": request.pk, "drop_id": request.drop_id})
    return request


def verdict_override(
    request_id: int, *, screened_out: bool, actor: User, reason: str
) -> InvitationRequest:
    """Staff decide a request (an appeal, a false positive); the rules will not change it back."""
    with transaction.atomic():
        request = InvitationRequest.objects.select_for_update().get(pk=request_id)
        if request.state not in {RequestState.RECEIVED, RequestState.SCREENED_OUT}:
            return request
        request.state = RequestState.SCREENED_OUT if screened_out else RequestState.RECEIVED
        request.is_automated_verdict = False
        request.verdict = {**request.verdict, "override": {"by": actor.pk, "reason": reason}}
        request.screened_category = request.screened_category if screened_out else ""
        request.save()
    return request


# --- Draws ------------------------------------------------------------------------------------


def draw_run(drop_id: int, *, round_number: int = 1, now: datetime | None = None) -> Draw:
    """Draw a round in one durable transaction: the draw row, the held units, invitations, e-mails
    and "not drawn" notices commit together or not at all. Running it again returns the stored
    draw: same winners, nothing sent twice."""
    now = now or clock.now()
    existing = Draw.objects.filter(drop_id=drop_id, round=round_number).first()
    if existing is not None:
        return existing
    drop = Drop.objects.get(pk=drop_id)
    if round_number == 1:
        screening_batch(drop)
    with transaction.atomic(durable=True):
        drop = Drop.objects.select_for_update().get(pk=drop_id)
        existing = Draw.objects.filter(drop=drop, round=round_number).first()
        if existing is not None:
            return existing
        eligible = list(
            InvitationRequest.objects.filter(drop=drop, state=RequestState.RECEIVED)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if round_number == 1:
            units = min(drop.units, len(eligible))
            # Hold the units: taken from the offer's stock so nobody else can buy them meanwhile.
            taken = Offer.objects.filter(pk=drop.offer_id, stock__gte=units).update(
                stock=F("stock") - units
            )
            if taken != 1:
                units = 0
            Drop.objects.filter(pk=drop.pk).update(held_units=units)
        else:
            units = min(_released_units(drop), len(eligible))
        winners = lottery.draw_winners(drop.seed, round_number, eligible, units)
        draw = Draw.objects.create(
            drop=drop,
            round=round_number,
            units=units,
            eligible_request_ids=eligible,
            winner_request_ids=winners,
            drawn_at=now,
        )
        expires = now + timedelta(hours=drop.purchase_window_hours)
        requests = InvitationRequest.objects.select_related("customer").in_bulk(winners)
        for request_id in winners:
            request = requests[request_id]
            Invitation.objects.create(
                request=request,
                drop=drop,
                customer=request.customer,
                round=round_number,
                expires_at=expires,
            )
            email_queue(
                to=request.customer.email,
                template="invitation_granted",
                language=request.customer.language,
                context={"drop": drop, "expires_at": expires, "product": drop.offer.product},
            )
        InvitationRequest.objects.filter(pk__in=winners).update(state=RequestState.INVITED)
        if round_number == 1:
            # Told in batches after the commit (notify_not_drawn): a draw of a million requests
            # must not be one transaction of a million e-mails.
            InvitationRequest.objects.filter(drop=drop, state=RequestState.RECEIVED).update(
                state=RequestState.NOT_DRAWN
            )
            transaction.on_commit(lambda: _schedule_notifications(drop_id))
        Drop.objects.filter(pk=drop.pk).update(status=DropStatus.DRAWN)
        outbox.emit(
            "draw.completed", {"drop_id": drop.pk, "round": round_number, "winners": len(winners)}
        )
    return draw


NOTIFY_BATCH_SIZE = 1000  # "not drawn" e-mails per transaction


def _schedule_notifications(drop_id: int) -> None:
    from invitations.tasks import notify_not_drawn_task

    try:
        notify_not_drawn_task.delay(drop_id)
    except Exception:
        import logging

        logging.getLogger(__name__).warning("not-drawn notices not queued", exc_info=True)


def notify_not_drawn(
    drop_id: int, *, batch_size: int = NOTIFY_BATCH_SIZE, now: datetime | None = None
) -> int:
    """Tell every request that was not drawn, a batch per transaction; each request once."""
    now = now or clock.now()
    drop = Drop.objects.select_related("offer__product").get(pk=drop_id)
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


def _released_units(drop: Drop) -> int:
    """Units held for invitations that expired and have not been drawn again yet."""
    expired = Invitation.objects.filter(drop=drop, status=InvitationStatus.EXPIRED).count()
    redrawn = sum(draw.units for draw in drop.draws.filter(round__gt=1))
    return max(0, expired - redrawn)


def invitations_expire(*, now: datetime | None = None) -> int:
    """Expire unused invitations; their held units go to a further round among the requests not
    drawn, or back to stock when nobody is left."""
    now = now or clock.now()
    expired_by_drop: dict[int, int] = {}
    with transaction.atomic():
        due = list(
            Invitation.objects.select_for_update(skip_locked=True).filter(
                status=InvitationStatus.INVITED, expires_at__lte=now
            )
        )
        for invitation in due:
            invitation.status = InvitationStatus.EXPIRED
            invitation.save(update_fields=["status"])
            InvitationRequest.objects.filter(pk=invitation.request_id).update(
                state=RequestState.EXPIRED
            )
            expired_by_drop[invitation.drop_id] = expired_by_drop.get(invitation.drop_id, 0) + 1
    for drop_id in expired_by_drop:
        drop = Drop.objects.get(pk=drop_id)
        # Those not drawn in the first round are the eligible pool of later rounds.
        InvitationRequest.objects.filter(drop=drop, state=RequestState.NOT_DRAWN).update(
            state=RequestState.RECEIVED
        )
        next_round = (drop.draws.aggregate(last=Count("pk"))["last"] or 0) + 1
        draw = draw_run(drop_id, round_number=next_round, now=now)
        InvitationRequest.objects.filter(drop=drop, state=RequestState.RECEIVED).update(
            state=RequestState.NOT_DRAWN
        )
        leftover = _released_units(drop) if draw.units == 0 else 0
        if leftover:
            with transaction.atomic():
                Offer.objects.filter(pk=drop.offer_id).update(stock=F("stock") + leftover)
                Drop.objects.filter(pk=drop.pk).update(held_units=F("held_units") - leftover)
    return sum(expired_by_drop.values())


def draws_due(*, now: datetime | None = None) -> list[Draw]:
    now = now or clock.now()
    due = Drop.objects.filter(request_closes_at__lte=now).exclude(
        status__in=[DropStatus.DRAWN, DropStatus.COMPLETED]
    )
    draws = [draw_run(drop.pk, now=now) for drop in due]
    # Notices a crashed or unreachable worker did not send yet.
    pending = InvitationRequest.objects.filter(
        state=RequestState.NOT_DRAWN, notified_at__isnull=True
    )
    for drop_id in sorted(set(pending.values_list("drop_id", flat=True))):
        notify_not_drawn(drop_id, now=now)
    return draws


def draw_verify(drop_id: int, round_number: int) -> tuple[bool, list[int], list[int]]:
    """Recompute a draw's winners from its stored inputs and seed."""
    draw = Draw.objects.select_related("drop").get(drop_id=drop_id, round=round_number)
    if lottery.seed_hash(draw.drop.seed) != draw.drop.seed_hash:
        return False, [], draw.winner_request_ids
    again = lottery.draw_winners(
        draw.drop.seed, round_number, draw.eligible_request_ids, draw.units
    )
    return again == draw.winner_request_ids, again, draw.winner_request_ids


# --- Checkout ---------------------------------------------------------------------------------


def invitation_for_checkout(
    customer: User, offer: Offer, quantity: int, *, now: datetime
) -> Invitation:
    """The invitation that lets this customer buy this invitation-only offer, or why not."""
    invitation = (
        Invitation.objects.filter(customer=customer, drop__offer=offer)
        .order_by(
            # a valid one first, then the most recent
            F("expires_at").desc()
        )
        .first()
    )
    if invitation is None:
        raise errors.InvitationRequired(extra={"offer_id": offer.pk})
    if invitation.status == InvitationStatus.PURCHASED:
        raise errors.InvitationUsed(extra={"offer_id": offer.pk})
    if invitation.status == InvitationStatus.EXPIRED or invitation.expires_at <= now:
        raise errors.InvitationExpired(extra={"offer_id": offer.pk})
    if quantity != 1:
        raise errors.InvitationQuantity(fields={"lines": ["An invitation is for one unit."]})
    return invitation


def invitation_consume(invitation_id: int, *, order: Order, now: datetime) -> None:
    """Inside the checkout transaction: the guarded update makes a second purchase impossible."""
    used = Invitation.objects.filter(
        Q(pk=invitation_id, status=InvitationStatus.INVITED, expires_at__gt=now, order__isnull=True)
    ).update(status=InvitationStatus.PURCHASED, order=order)
    if used != 1:
        raise errors.InvitationUsed()
    InvitationRequest.objects.filter(invitation__pk=invitation_id).update(
        state=RequestState.PURCHASED
    )
    Drop.objects.filter(invitations__pk=invitation_id).update(held_units=F("held_units") - 1)
    outbox.emit("invitation.purchased", {"invitation_id": invitation_id, "order_id": order.pk})
