"""Refusal counting, incident detection and the staff override of a confirmed incident."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Max, Q, Sum

from core import clock, outbox
from core.email import email_queue
from fulfillment import errors
from fulfillment.choices import IncidentStatus, Reason
from fulfillment.constants import (
    HISTORY_RETENTION,
    INCIDENT_BASELINE,
    INCIDENT_BASELINE_FLOOR_PER_HOUR,
    INCIDENT_MIN_ATTEMPTS,
    INCIDENT_QUIET_PERIOD,
    INCIDENT_SPIKE_FACTOR,
    INCIDENT_WINDOW,
    PRUNE_BATCH_SIZE,
)
from fulfillment.decision import Decision
from fulfillment.models import CoverageReport, Incident, RefusalCount, StaffOverride
from fulfillment.services.shippability import region_of
from marketplace.models import Address, Offer, Order, User

logger = logging.getLogger(__name__)

BUCKET = timedelta(hours=1)  # RefusalCount.hour

# Refusals no incident can explain and no override can help: the offer itself cannot be sold.
NOT_OVERRIDABLE = frozenset(
    {Reason.OFFER_INACTIVE, Reason.SELLER_NOT_ACTIVE, Reason.OUT_OF_STOCK, Reason.ADDRESS_INVALID}
)


def _bucket(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


# --- Counting ---------------------------------------------------------------------------------


def refusal_record(
    offer: Offer,
    *,
    decision: Decision,
    address: Address,
    quantity: int,
    now: datetime | None = None,
) -> None:
    """Count one refused check in its hourly bucket: one row per (offer, reason, region, hour),
    however many shoppers hit it. Never fails the caller: counting is not worth a lost sale."""
    now = now or clock.now()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO fulfillment_refusalcount"
                " (offer_id, reason, region, hour, attempts, blocked_value)"
                " VALUES (%s, %s, %s, %s, 1, %s)"
                " ON CONFLICT (offer_id, reason, region, hour) DO UPDATE SET"
                " attempts = fulfillment_refusalcount.attempts + 1,"
                " blocked_value = fulfillment_refusalcount.blocked_value + EXCLUDED.blocked_value",
                [
                    offer.pk,
                    decision.reason_code,
                    region_of(address),
                    _bucket(now),
                    offer.price * quantity,
                ],
            )
    except DatabaseError:
        logger.warning("refusal could not be counted", exc_info=True)


def history_prune(*, now: datetime | None = None) -> int:
    """Delete refusal counts and coverage reports past their retention, a slice at a time."""
    now = now or clock.now()
    cutoff = now - HISTORY_RETENTION
    deleted = 0
    for model, column in ((RefusalCount, "hour"), (CoverageReport, "created_at")):
        while True:
            ids = list(
                model.objects.filter(**{f"{column}__lt": cutoff}).values_list("pk", flat=True)[
                    :PRUNE_BATCH_SIZE
                ]
            )
            if not ids:
                break
            deleted += model.objects.filter(pk__in=ids).delete()[0]
    return deleted


# --- Detection --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spike:
    offer_id: int
    reason: str
    attempts: int
    blocked_value: Decimal
    rate_per_hour: float
    baseline_per_hour: float
    regions: list[str]


def spikes_find(*, now: datetime) -> list[Spike]:
    """(offer, reason) pairs whose refusals in the recent window jump against the same offer's
    own hourly baseline, with at least a minimum volume.

    The window is the running hour's bucket plus the ``INCIDENT_WINDOW`` before it; its rate is
    attempts per hour actually covered, so a detection run early in an hour is not diluted.
    """
    window_start = _bucket(now) - INCIDENT_WINDOW
    covered_hours = max((now - window_start) / BUCKET, 1.0)
    baseline_start = window_start - INCIDENT_BASELINE
    baseline_hours = INCIDENT_BASELINE / BUCKET
    recent = list(
        RefusalCount.objects.filter(hour__gte=window_start, hour__lte=now)
        .values("offer_id", "reason")
        .annotate(attempts=Sum("attempts"), value=Sum("blocked_value"))
        .filter(attempts__gte=INCIDENT_MIN_ATTEMPTS)
        .order_by("offer_id", "reason")
    )
    if not recent:
        return []
    pairs = Q()
    for row in recent:
        pairs |= Q(offer_id=row["offer_id"], reason=row["reason"])
    history = {
        (row["offer_id"], row["reason"]): row["attempts"]
        for row in RefusalCount.objects.filter(
            pairs, hour__gte=baseline_start, hour__lt=window_start
        )
        .values("offer_id", "reason")
        .annotate(attempts=Sum("attempts"))
    }
    spikes = []
    for row in recent:
        key = (row["offer_id"], row["reason"])
        baseline = history.get(key, 0) / baseline_hours
        rate = row["attempts"] / covered_hours
        if rate < INCIDENT_SPIKE_FACTOR * max(baseline, INCIDENT_BASELINE_FLOOR_PER_HOUR):
            continue
        regions = sorted(
            RefusalCount.objects.filter(
                offer_id=row["offer_id"], reason=row["reason"], hour__gte=window_start
            )
            .values_list("region", flat=True)
            .distinct()
        )
        spikes.append(
            Spike(
                offer_id=row["offer_id"],
                reason=row["reason"],
                attempts=row["attempts"],
                blocked_value=row["value"] or Decimal(0),
                rate_per_hour=rate,
                baseline_per_hour=baseline,
                regions=regions,
            )
        )
    return spikes


def _incident_open(spike: Spike, *, now: datetime) -> Incident | None:
    """A new incident for a spike, with the seller's e-mail and an event; None when one is already
    open for this offer and reason."""
    if (
        Incident.objects.filter(offer_id=spike.offer_id, reason=spike.reason)
        .exclude(status=IncidentStatus.RESOLVED)
        .exists()
    ):
        return None
    offer = Offer.objects.select_related("seller__owner", "product").get(pk=spike.offer_id)
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                offer=offer,
                seller=offer.seller,
                reason=spike.reason,
                regions=spike.regions,
                attempts=spike.attempts,
                blocked_value=spike.blocked_value,
                currency=offer.currency,
                baseline_per_hour=spike.baseline_per_hour,
                opened_at=now,
                last_refusal_at=now,
            )
            outbox.emit(
                "shippability.incident_opened",
                {
                    "incident_id": incident.pk,
                    "offer_id": offer.pk,
                    "seller_id": offer.seller_id,
                    "reason": spike.reason,
                    "regions": spike.regions,
                    "attempts": spike.attempts,
                    "blocked_value": str(spike.blocked_value),
                    "currency": offer.currency,
                },
            )
            owner = offer.seller.owner
            email_queue(
                to=owner.email,
                template="shippability_incident",
                context={
                    "incident": incident,
                    "offer": offer,
                    "reason": Reason(spike.reason).label,
                },
                language=owner.language,
            )
    except IntegrityError:
        return None  # a concurrent detection run opened it first (one unresolved per pair)
    return incident


def _incident_refresh(incident: Incident, *, now: datetime) -> None:
    """Blocked demand since the incident began (attempts, value, regions), and quiet resolution."""
    since = _bucket(incident.opened_at) - INCIDENT_WINDOW
    counts = RefusalCount.objects.filter(
        offer_id=incident.offer_id, reason=incident.reason, hour__gte=since
    )
    totals = counts.aggregate(
        attempts=Sum("attempts"), value=Sum("blocked_value"), last=Max("hour")
    )
    regions = sorted(set(counts.values_list("region", flat=True).distinct()))
    last_seen = min(now, totals["last"] + BUCKET) if totals["last"] else incident.last_refusal_at
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        if locked.status == IncidentStatus.RESOLVED:
            return
        locked.attempts = max(locked.attempts, totals["attempts"] or 0)
        locked.blocked_value = max(locked.blocked_value, totals["value"] or Decimal(0))
        locked.regions = sorted(set(locked.regions) | set(regions))
        locked.last_refusal_at = max(locked.last_refusal_at, last_seen)
        locked.save(
            update_fields=["attempts", "blocked_value", "regions", "last_refusal_at", "updated_at"]
        )
    if locked.last_refusal_at <= now - INCIDENT_QUIET_PERIOD:
        incident_resolve(incident.pk, actor=None, now=now)


def incidents_detect(*, now: datetime | None = None) -> list[Incident]:
    """Open an incident per new spike (the seller is mailed and alerted), bring the blocked demand
    of unresolved ones up to date, and resolve those that have been quiet for a while."""
    now = now or clock.now()
    opened = [
        incident
        for spike in spikes_find(now=now)
        if (incident := _incident_open(spike, now=now)) is not None
    ]
    for incident in Incident.objects.exclude(status=IncidentStatus.RESOLVED).order_by("pk"):
        _incident_refresh(incident, now=now)
    return opened


def incident_confirm(incident_id: int, *, actor: User, now: datetime | None = None) -> Incident:
    """Staff confirm that the refusals are a fault, not the rules working: overrides may follow."""
    now = now or clock.now()
    if not actor.is_staff:
        raise errors.OverrideForbidden()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        if incident.status == IncidentStatus.OPEN:
            incident.status = IncidentStatus.CONFIRMED
            incident.confirmed_at = now
            incident.confirmed_by = actor
            incident.save(update_fields=["status", "confirmed_at", "confirmed_by", "updated_at"])
            outbox.emit(
                "shippability.incident_confirmed",
                {"incident_id": incident.pk, "offer_id": incident.offer_id, "actor_id": actor.pk},
            )
    return incident


def incident_resolve(
    incident_id: int, *, actor: User | None, now: datetime | None = None
) -> Incident:
    """``actor`` None: it resolved itself after a quiet period."""
    now = now or clock.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        if incident.status != IncidentStatus.RESOLVED:
            incident.status = IncidentStatus.RESOLVED
            incident.resolved_at = now
            incident.resolved_by = actor
            incident.save(update_fields=["status", "resolved_at", "resolved_by", "updated_at"])
            outbox.emit(
                "shippability.incident_resolved",
                {
                    "incident_id": incident.pk,
                    "offer_id": incident.offer_id,
                    "automatic": actor is None,
                },
            )
    return incident


# --- Staff override ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OverrideRequest:
    """Staff placing a blocked shopper's order while an incident is confirmed."""

    actor: User
    reason: str


def override_incident(offer: Offer, decision: Decision, request: OverrideRequest) -> Incident:
    """The confirmed incident that lets staff through, or a refusal explaining why not."""
    if not request.actor.is_staff:
        raise errors.OverrideForbidden()
    if not request.reason.strip():
        raise errors.OverrideReasonMissing(
            fields={"override_reason": [str(errors.OverrideReasonMissing.default_detail)]}
        )
    incident = None
    if decision.reason_code not in NOT_OVERRIDABLE:
        incident = Incident.objects.filter(
            offer=offer, reason=decision.reason_code, status=IncidentStatus.CONFIRMED
        ).first()
    if incident is None:
        raise errors.OverrideNotAllowed(extra={"reason_code": decision.reason_code})
    return incident


def override_record(
    incident: Incident, *, order: Order, request: OverrideRequest, refused_reason: str
) -> StaffOverride:
    """Inside the checkout transaction: the audit row of an override."""
    override = StaffOverride.objects.create(
        incident=incident,
        order=order,
        actor=request.actor,
        reason=request.reason.strip(),
        refused_reason=refused_reason,
    )
    outbox.emit(
        "shippability.override",
        {
            "override_id": override.pk,
            "order_id": order.pk,
            "incident_id": incident.pk,
            "actor_id": request.actor.pk,
        },
    )
    return override
