"""Drops: creation with the seed commitment, and the status that follows the request window."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from core import clock, outbox
from invitations import errors, lottery
from invitations.choices import DropStatus
from invitations.constants import LIMIT_PER_CUSTOMER, PURCHASE_WINDOW_HOURS
from invitations.models import Drop
from marketplace.models import Offer


def drop_create(
    *,
    offer: Offer,
    units: int,
    opens_at: datetime,
    closes_at: datetime,
    eligible_countries: list[str],
    purchase_window_hours: int = PURCHASE_WINDOW_HOURS,
    limit_per_customer: int = LIMIT_PER_CUSTOMER,
    now: datetime | None = None,
) -> Drop:
    """Announce a drop. It commits to its seed now: the hash is public, the seed revealed after
    the first draw. The offer becomes invitation-only; its stock must cover the units, which leave
    it when round 1 is drawn."""
    now = now or clock.now()
    countries = sorted({country.strip().upper() for country in eligible_countries if country})
    problems: dict[str, list[str]] = {}
    if units < 1:
        problems["units"] = [_("At least one unit.")]
    if closes_at <= opens_at:
        problems["request_closes_at"] = [_("The request window must close after it opens.")]
    if not countries:
        problems["eligible_countries"] = [_("Name at least one country.")]
    if limit_per_customer < 1:
        problems["limit_per_customer"] = [_("At least one unit.")]
    if problems:
        raise errors.DropInvalid(fields=problems)
    seed = lottery.new_seed()
    with transaction.atomic():
        locked = Offer.objects.select_for_update().get(pk=offer.pk)
        if locked.stock < units:
            raise errors.NotEnoughStock(extra={"offer_id": offer.pk, "stock": locked.stock})
        Offer.objects.filter(pk=offer.pk).update(requires_invitation=True)
        drop = Drop.objects.create(
            offer=locked,
            units=units,
            request_opens_at=opens_at,
            request_closes_at=closes_at,
            eligible_countries=countries,
            purchase_window_hours=purchase_window_hours,
            limit_per_customer=limit_per_customer,
            status=DropStatus.OPEN if opens_at <= now < closes_at else DropStatus.SCHEDULED,
            seed=seed,
            seed_hash=lottery.seed_hash(seed),
        )
        outbox.emit(
            "drop.announced",
            {"drop_id": drop.pk, "offer_id": offer.pk, "seed_hash": drop.seed_hash},
        )
    offer.requires_invitation = True
    return drop


def drops_advance(*, now: datetime | None = None) -> list[int]:
    """Move statuses with the clock: scheduled -> open -> closed. Returns the drops now closed
    and not drawn yet (the draw task's work)."""
    now = now or clock.now()
    with transaction.atomic():
        Drop.objects.filter(
            status=DropStatus.SCHEDULED, request_opens_at__lte=now, request_closes_at__gt=now
        ).update(status=DropStatus.OPEN)
        Drop.objects.filter(
            status__in=[DropStatus.SCHEDULED, DropStatus.OPEN], request_closes_at__lte=now
        ).update(status=DropStatus.CLOSED)
    return list(
        Drop.objects.filter(status=DropStatus.CLOSED).order_by("pk").values_list("pk", flat=True)
    )


def drop_close_now(drop_id: int, *, now: datetime | None = None) -> Drop:
    """Staff end the request window early (before "draw now"); later requests are refused."""
    now = now or clock.now()
    with transaction.atomic():
        drop = Drop.objects.select_for_update().filter(pk=drop_id).first()
        if drop is None:
            raise errors.DropNotFound()
        if drop.status in {DropStatus.DRAWN, DropStatus.COMPLETED}:
            return drop
        if now <= drop.request_opens_at:
            raise errors.DrawNotPossible(
                extra={"request_opens_at": drop.request_opens_at.isoformat()}
            )
        drop.request_closes_at = min(drop.request_closes_at, now)
        drop.status = DropStatus.CLOSED
        drop.save(update_fields=["request_closes_at", "status", "updated_at"])
    return drop
