"""Every write of fulfillment, and the entry points other apps call for a shippability decision."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from core import clock, outbox
from core.email import email_queue
from core.errors import DomainError
from fulfillment import rules
from fulfillment.choices import IncidentStatus, Reason
from fulfillment.constants import (
    COVERAGE_SAMPLE_PER_COUNTRY,
    INCIDENT_BASELINE,
    INCIDENT_MIN_ATTEMPTS,
    INCIDENT_QUIET_PERIOD,
    INCIDENT_SPIKE_FACTOR,
    INCIDENT_WINDOW,
)
from fulfillment.decision import AddressFacts, Decision, OfferFacts, compact_postal, decide
from fulfillment.models import CoverageReport, Incident, RefusalCount, StaffOverride
from marketplace.choices import SellerStatus
from marketplace.models import Address, Offer, Order, User


class ShippabilityRefused(DomainError):
    status = 409
    code = "shippability_refused"  # replaced by the decision's reason code

    def __init__(self, decision: Decision, offer_id: int) -> None:
        super().__init__(
            decision.message,
            code=decision.reason_code,
            extra={"offer_id": offer_id, "fulfilled_by": decision.fulfilled_by},
        )


def offer_facts(offer: Offer) -> OfferFacts:
    """Facts of an offer loaded with ``seller`` and ``product__category``."""
    return OfferFacts(
        offer_id=offer.pk,
        seller_id=offer.seller_id,
        seller_country=offer.seller.country,
        is_seller_active=offer.seller.status == SellerStatus.ACTIVE,
        is_offer_active=offer.is_active and offer.product.is_active,
        stock=offer.stock,
        channel=offer.fulfilment_channel,
        handling_days=offer.handling_days,
        category_path=offer.product.category.path,
        is_hazardous=offer.product.is_hazardous,
        price=offer.price,
        currency=offer.currency,
    )


def address_facts(address: Address) -> AddressFacts:
    return AddressFacts(address.country, address.postal_code, address.is_po_box)


def shippability(offer: Offer, address: Address, *, now: datetime | None = None) -> Decision:
    """The decision for one offer and one address at one moment."""
    now = now or clock.now()
    return decide(offer_facts(offer), address_facts(address), rules.snapshot(), now.date())


def region_of(address: Address | AddressFacts) -> str:
    """Country and the first two characters of the postal code: coarse enough to aggregate."""
    return f"{address.country}-{compact_postal(address.postal_code)[:2]}"


# --- Refusals and incidents -------------------------------------------------------------------


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
    hour = now.replace(minute=0, second=0, microsecond=0)
    value = offer.price * quantity
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO fulfillment_refusalcount"
                " (offer_id, reason, region, hour, attempts, blocked_value)"
                " VALUES (%s, %s, %s, %s, 1, %s)"
                " ON CONFLICT (offer_id, reason, region, hour) DO UPDATE SET"
                " attempts = fulfillment_refusalcount.attempts + 1,"
                " blocked_value = fulfillment_refusalcount.blocked_value + EXCLUDED.blocked_value",
                [offer.pk, decision.reason_code, region_of(address), hour, value],
            )
    except DatabaseError:
        import logging

        logging.getLogger(__name__).warning("refusal could not be counted", exc_info=True)


@dataclass
class Spike:
    offer_id: int
    reason: str
    attempts: int
    blocked_value: Decimal
    baseline_per_hour: float
    regions: list[str]


def spikes_find(*, now: datetime) -> list[Spike]:
    """Offers whose refusals of one reason in the last hour jump against their own baseline."""
    window_start = now - INCIDENT_WINDOW
    baseline_start = window_start - INCIDENT_BASELINE
    recent = (
        RefusalCount.objects.filter(hour__gte=window_start - timedelta(hours=1), hour__lte=now)
        .values("offer_id", "reason")
        .annotate(attempts=Sum("attempts"), value=Sum("blocked_value"))
        .filter(attempts__gte=INCIDENT_MIN_ATTEMPTS)
    )
    spikes = []
    hours = INCIDENT_BASELINE.total_seconds() / 3600
    for row in recent:
        before = (
            RefusalCount.objects.filter(
                offer_id=row["offer_id"],
                reason=row["reason"],
                hour__gte=baseline_start,
                hour__lt=window_start - timedelta(hours=1),
            ).aggregate(total=Sum("attempts"))["total"]
            or 0
        )
        baseline = before / hours
        if row["attempts"] >= INCIDENT_SPIKE_FACTOR * max(baseline, 1.0):
            regions = sorted(
                RefusalCount.objects.filter(
                    offer_id=row["offer_id"],
                    reason=row["reason"],
                    hour__gte=window_start - timedelta(hours=1),
                )
                .values_list("region", flat=True)
                .distinct()
            )
            spikes.append(
                Spike(
                    row["offer_id"],
                    row["reason"],
                    row["attempts"],
                    row["value"] or Decimal(0),
                    baseline,
                    regions,
                )
            )
    return spikes


def incidents_detect(*, now: datetime | None = None) -> list[Incident]:
    """Open an incident per new spike (the seller is mailed and alerted), refresh the figures of
    open ones, and resolve those that have been quiet for a while."""
    now = now or clock.now()
    opened = []
    for spike in spikes_find(now=now):
        with transaction.atomic():
            incident = (
                Incident.objects.select_for_update()
                .filter(offer_id=spike.offer_id, reason=spike.reason)
                .exclude(status=IncidentStatus.RESOLVED)
                .first()
            )
            if incident is not None:
                incident.attempts = max(incident.attempts, spike.attempts)
                incident.blocked_value = max(incident.blocked_value, spike.blocked_value)
                incident.regions = sorted(set(incident.regions) | set(spike.regions))
                incident.last_refusal_at = now
                incident.save()
                continue
            offer = Offer.objects.select_related("seller__owner", "product").get(pk=spike.offer_id)
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
            opened.append(incident)
    quiet_before = now - INCIDENT_QUIET_PERIOD
    for incident in Incident.objects.exclude(status=IncidentStatus.RESOLVED):
        recent = RefusalCount.objects.filter(
            offer_id=incident.offer_id, reason=incident.reason, hour__gte=quiet_before
        ).exists()
        if not recent and incident.last_refusal_at < quiet_before:
            incident_resolve(incident.pk, actor=None, now=now)
    return opened


def incident_confirm(incident_id: int, *, actor: User, now: datetime | None = None) -> Incident:
    now = now or clock.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        if incident.status == IncidentStatus.OPEN:
            incident.status = IncidentStatus.CONFIRMED
            incident.confirmed_at = now
            incident.save(update_fields=["status", "confirmed_at", "updated_at"])
    return incident


def incident_resolve(
    incident_id: int, *, actor: User | None, now: datetime | None = None
) -> Incident:
    now = now or clock.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        if incident.status != IncidentStatus.RESOLVED:
            incident.status = IncidentStatus.RESOLVED
            incident.resolved_at = now
            incident.save(update_fields=["status", "resolved_at", "updated_at"])
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
        raise DomainError(
            _("Only staff may override a refusal."), code="permission_denied", status=403
        )
    if not request.reason.strip():
        raise DomainError(
            _("An override needs a reason."),
            code="validation_error",
            fields={"override_reason": [_("This field is required.")]},
        )
    incident = Incident.objects.filter(
        offer=offer, reason=decision.reason_code, status=IncidentStatus.CONFIRMED
    ).first()
    if incident is None or decision.reason_code in {
        Reason.OFFER_INACTIVE,
        Reason.SELLER_NOT_ACTIVE,
        Reason.OUT_OF_STOCK,
        Reason.ADDRESS_INVALID,
    }:
        raise DomainError(
            _("Only a refusal with a confirmed incident can be overridden."),
            code="override_not_allowed",
            status=409,
            extra={"reason_code": decision.reason_code},
        )
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


# --- Coverage checks --------------------------------------------------------------------------


def _sample_addresses(countries: Iterable[str] | None = None) -> dict[str, list[Address]]:
    """Real customer addresses, one per region, up to a few per country."""
    by_country: dict[str, dict[str, Address]] = defaultdict(dict)
    queryset = Address.objects.order_by("-created_at")
    if countries is not None:
        queryset = queryset.filter(country__in=list(countries))
    for address in queryset.iterator(chunk_size=2000):
        regions = by_country[address.country]
        if len(regions) < COVERAGE_SAMPLE_PER_COUNTRY:
            regions.setdefault(region_of(address), address)
    return {country: list(regions.values()) for country, regions in by_country.items()}


def coverage_check(
    offer_ids: Sequence[int], *, trigger: str, now: datetime | None = None
) -> list[CoverageReport]:
    """Evaluate offers over sampled real customer regions; report regions that became unbuyable
    since the previous report, and tell the seller."""
    now = now or clock.now()
    rules.invalidate_local()
    samples = _sample_addresses()
    offers = Offer.objects.select_related("seller__owner", "product__category").filter(
        pk__in=offer_ids
    )
    reports = []
    for offer in offers:
        for country, addresses in sorted(samples.items()):
            refused = sorted(
                {
                    region_of(a)
                    for a in addresses
                    if not shippability(offer, a, now=now).is_shippable
                }
            )
            previous = (
                CoverageReport.objects.filter(offer=offer, country=country)
                .order_by("-created_at")
                .first()
            )
            newly = sorted(set(refused) - set(previous.unbuyable_regions)) if previous else []
            reports.append(
                CoverageReport.objects.create(
                    offer=offer,
                    country=country,
                    sampled=len(addresses),
                    shippable=len(addresses) - len(refused),
                    unbuyable_regions=refused,
                    newly_unbuyable_regions=newly,
                    trigger=trigger[:100],
                )
            )
            if newly:
                outbox.emit(
                    "shippability.coverage_lost",
                    {
                        "offer_id": offer.pk,
                        "seller_id": offer.seller_id,
                        "country": country,
                        "regions": newly,
                        "trigger": trigger,
                    },
                )
    return reports


def coverage_check_for_seller(seller_id: int, *, trigger: str) -> list[CoverageReport]:
    ids = list(
        Offer.objects.filter(seller_id=seller_id, is_active=True).values_list("pk", flat=True)
    )
    return coverage_check(ids, trigger=trigger)


def coverage_check_for_warehouse(warehouse_id: int, *, trigger: str) -> list[CoverageReport]:
    from fulfillment.models import WarehouseStock

    ids = list(
        WarehouseStock.objects.filter(warehouse_id=warehouse_id).values_list("offer_id", flat=True)
    )
    return coverage_check(ids, trigger=trigger)


def shippability_json(decision: Decision, *, with_trace: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "shippable": decision.is_shippable,
        "fulfilled_by": decision.fulfilled_by,
        "reason_code": decision.reason_code,
        "message": decision.message,
        "ships_from": decision.ships_from,
        "delivery_window": (
            {"earliest": decision.earliest.isoformat(), "latest": decision.latest.isoformat()}
            if decision.earliest and decision.latest
            else None
        ),
    }
    if with_trace:
        body["trace"] = [
            {"rule": step.rule, "passed": step.passed, "detail": step.detail}
            for step in decision.trace
        ]
    return body


# --- Shipping templates -----------------------------------------------------------------------


def _schedule_seller_coverage(seller_id: int, trigger: str) -> None:
    from fulfillment.tasks import coverage_check_seller_task

    def enqueue() -> None:
        try:
            coverage_check_seller_task.delay(seller_id, trigger)
        except Exception:
            import logging

            logging.getLogger(__name__).warning("coverage check not queued", exc_info=True)

    transaction.on_commit(enqueue)


def template_save(
    seller: Any,
    *,
    template_id: int | None,
    name: str,
    is_default: bool,
    handling_days: int | None,
    ships_to_po_boxes: bool,
    rules_data: Sequence[dict[str, Any]],
    offer_ids: Sequence[int],
) -> Any:
    """Create or replace a seller's template with its rules; then re-check their coverage."""
    from fulfillment.models import ShippingRule, ShippingTemplate

    field_errors: dict[str, list[str]] = {}
    for index, rule in enumerate(rules_data):
        if rule.get("postal_to") and not rule.get("postal_from"):
            field_errors[f"rules.{index}.postal_from"] = [_("A range needs its first postal code.")]
        if int(rule.get("transit_days_max", 0)) < int(rule.get("transit_days_min", 0)):
            field_errors[f"rules.{index}.transit_days_max"] = [_("Must not be below the minimum.")]
    own_offers = list(Offer.objects.filter(seller=seller, pk__in=list(offer_ids)))
    if len(own_offers) != len(set(offer_ids)):
        field_errors["offer_ids"] = [_("Only your own offers can use your templates.")]
    if field_errors:
        raise DomainError(
            _("The template is not valid."), code="template_invalid", fields=field_errors
        )
    with transaction.atomic():
        if template_id is None:
            template = ShippingTemplate(seller=seller)
        else:
            template = (
                ShippingTemplate.objects.select_for_update()
                .filter(seller=seller, pk=template_id)
                .first()
            )
            if template is None:
                raise DomainError(_("No such template."), code="template_not_found", status=404)
        if is_default:
            ShippingTemplate.objects.filter(seller=seller, is_default=True).exclude(
                pk=template.pk
            ).update(is_default=False)
        template.name = name
        template.is_default = is_default
        template.handling_days = handling_days
        template.ships_to_po_boxes = ships_to_po_boxes
        template.save()
        template.rules.all().delete()
        ShippingRule.objects.bulk_create(
            [
                ShippingRule(
                    template=template,
                    country=rule["country"].upper(),
                    postal_prefix=rule.get("postal_prefix", ""),
                    postal_from=rule.get("postal_from", ""),
                    postal_to=rule.get("postal_to", ""),
                    is_excluded=rule.get("is_excluded", False),
                    transit_days_min=rule.get("transit_days_min", 1),
                    transit_days_max=rule.get("transit_days_max", 3),
                )
                for rule in rules_data
            ]
        )
        template.offers.set(own_offers)
        rules.bump_version()
        _schedule_seller_coverage(seller.pk, f"template {template.pk} saved")
    return template


def template_delete(seller: Any, *, template_id: int) -> None:
    from fulfillment.models import ShippingTemplate

    with transaction.atomic():
        deleted, _count = ShippingTemplate.objects.filter(seller=seller, pk=template_id).delete()
        if not deleted:
            raise DomainError(_("No such template."), code="template_not_found", status=404)
        rules.bump_version()
        _schedule_seller_coverage(seller.pk, f"template {template_id} deleted")
