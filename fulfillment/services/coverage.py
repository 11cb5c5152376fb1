"""Coverage checks: which real customer regions an offer can be delivered to, and which ones a
change of a warehouse or a shipping template has just made unbuyable.

A change captures the rules it is about to replace (a few rows, as JSON) before it writes; the
check then evaluates every affected offer over a sample of real customer addresses twice, with the
rules as they are now and with the captured rules put back, so "became unbuyable" is exact even for
an offer that was never checked before.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from django.db import connection, transaction

from core import clock, outbox
from fulfillment import rules
from fulfillment.constants import COVERAGE_BATCH_SIZE, COVERAGE_SAMPLE_PER_COUNTRY
from fulfillment.decision import (
    AddressFacts,
    Area,
    Coverage,
    Snapshot,
    TemplateRules,
    decide,
)
from fulfillment.models import CoverageReport, ShippingTemplate, Warehouse, WarehouseStock
from fulfillment.services.shippability import offer_facts, region_of
from marketplace.choices import FulfilmentChannel
from marketplace.models import Address, Offer, Seller

logger = logging.getLogger(__name__)

# --- Sampling ---------------------------------------------------------------------------------


def sample_addresses() -> dict[str, list[AddressFacts]]:
    """Real customer addresses: the newest one per region, at most a few regions per country.

    One statement that returns a few hundred rows, however many addresses there are.
    """
    table = Address._meta.db_table
    sql = (
        "SELECT country, postal_code, is_po_box FROM ("  # noqa: S608 - table name from the model
        "  SELECT country, postal_code, is_po_box, row_number() OVER"
        "    (PARTITION BY country ORDER BY created_at DESC, id DESC) AS rank"
        "  FROM ("
        "    SELECT DISTINCT ON (country, region) id, country, postal_code, is_po_box, created_at"
        "    FROM (SELECT id, country, postal_code, is_po_box, created_at,"
        "          upper(left(replace(postal_code, ' ', ''), 2)) AS region"
        f"          FROM {table} WHERE NOT is_po_box) AS with_region"
        "    ORDER BY country, region, created_at DESC, id DESC"
        "  ) AS newest_per_region"
        ") AS ranked WHERE rank <= %s ORDER BY country, postal_code"
    )
    samples: dict[str, list[AddressFacts]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(sql, [COVERAGE_SAMPLE_PER_COUNTRY])
        for country, postal_code, is_po_box in cursor.fetchall():
            samples[country].append(AddressFacts(country, postal_code, is_po_box))
    return dict(samples)


# --- The rules as they were before a change ---------------------------------------------------


def _area_json(area: Area) -> list[str]:
    return [area.country, area.prefix, area.postal_from, area.postal_to]


def template_rules_json(template_ids: Iterable[int]) -> list[dict[str, Any]]:
    """The templates as they are now: call before changing them."""
    captured = []
    for template in (
        ShippingTemplate.objects.filter(pk__in=list(template_ids))
        .prefetch_related("rules", "offers")
        .order_by("pk")
    ):
        captured.append(
            {
                "template_id": template.pk,
                "seller_id": template.seller_id,
                "is_default": template.is_default,
                "handling_days": template.handling_days,
                "ships_to_po_boxes": template.ships_to_po_boxes,
                "rules": [
                    [
                        rule.country,
                        rule.postal_prefix,
                        rule.postal_from,
                        rule.postal_to,
                        rule.is_excluded,
                        rule.transit_days_min,
                        rule.transit_days_max,
                    ]
                    for rule in template.rules.all()
                ],
                "offer_ids": sorted(offer.pk for offer in template.offers.all()),
            }
        )
    return captured


def warehouse_rules_json(warehouse_id: int) -> dict[str, Any] | None:
    """The warehouse as it is now (where it delivers, what it holds): call before changing it."""
    warehouse = Warehouse.objects.filter(pk=warehouse_id).first()
    if warehouse is None:
        return None
    return {
        "warehouse_id": warehouse.pk,
        "code": warehouse.code,
        "city": warehouse.city,
        "country": warehouse.country,
        "handling_days": warehouse.handling_days,
        "is_active": warehouse.is_active,
        "coverage": [
            [
                row.country,
                row.postal_prefix,
                row.postal_from,
                row.postal_to,
                row.transit_days_min,
                row.transit_days_max,
            ]
            for row in warehouse.coverage.order_by("pk")
        ],
        "stocked_offer_ids": sorted(
            WarehouseStock.objects.filter(warehouse=warehouse, quantity__gt=0).values_list(
                "offer_id", flat=True
            )
        ),
    }


def _template_from_json(data: dict[str, Any]) -> TemplateRules:
    return TemplateRules(
        template_id=data["template_id"],
        handling_days=data["handling_days"],
        ships_to_po_boxes=data["ships_to_po_boxes"],
        includes=tuple(
            (Area(*rule[:4]), rule[5], rule[6]) for rule in data["rules"] if not rule[4]
        ),
        excludes=tuple(Area(*rule[:4]) for rule in data["rules"] if rule[4]),
    )


def snapshot_with_templates(
    snapshot: Snapshot, *, replaced_ids: Iterable[int], before: Sequence[dict[str, Any]]
) -> Snapshot:
    """``snapshot`` with the templates ``replaced_ids`` taken out and ``before`` put back."""
    gone = set(replaced_ids)
    defaults = {
        seller: template
        for seller, template in snapshot.default_templates.items()
        if template.template_id not in gone
    }
    per_offer = {
        offer: template
        for offer, template in snapshot.offer_templates.items()
        if template.template_id not in gone
    }
    for data in before:
        template = _template_from_json(data)
        if data["is_default"]:
            defaults[data["seller_id"]] = template
        for offer_id in data["offer_ids"]:
            per_offer[offer_id] = template
    return dataclasses.replace(snapshot, default_templates=defaults, offer_templates=per_offer)


def snapshot_with_warehouse(
    snapshot: Snapshot, *, warehouse_id: int, before: dict[str, Any] | None
) -> Snapshot:
    """``snapshot`` with the warehouse as ``before`` describes it (None: it did not exist)."""
    coverage = [row for row in snapshot.coverage if row.warehouse_id != warehouse_id]
    stock = {
        offer_id: {w: q for w, q in held.items() if w != warehouse_id}
        for offer_id, held in snapshot.stock.items()
    }
    if before is not None and before["is_active"]:
        coverage.extend(
            Coverage(
                warehouse_id=warehouse_id,
                warehouse_code=before["code"],
                warehouse_city=before["city"],
                warehouse_country=before["country"],
                handling_days=before["handling_days"],
                area=Area(*row[:4]),
                transit_min=row[4],
                transit_max=row[5],
            )
            for row in before["coverage"]
        )
        for offer_id in before["stocked_offer_ids"]:
            stock.setdefault(offer_id, {})[warehouse_id] = 1
    return dataclasses.replace(snapshot, coverage=tuple(coverage), stock=stock)


# --- The check --------------------------------------------------------------------------------


def _unbuyable(
    offer: Offer, addresses: list[AddressFacts], snapshot: Snapshot, today: date
) -> set[str]:
    facts = offer_facts(offer)
    return {
        region_of(address)
        for address in addresses
        if not decide(facts, address, snapshot, today).is_shippable
    }


def coverage_check(
    offer_ids: Sequence[int],
    *,
    trigger: str,
    before: Callable[[Snapshot], Snapshot] | None = None,
    now: datetime | None = None,
) -> list[CoverageReport]:
    """Evaluate offers over sampled real customer regions with the rules as they are; with
    ``before`` (the rules as they were, derived from today's), also report the regions that the
    change made unbuyable, and tell each seller concerned."""
    now = now or clock.now()
    today = now.date()
    current = rules.load(version="coverage-check")
    previous = before(current) if before is not None else None
    samples = sample_addresses()
    reports: list[CoverageReport] = []
    lost: dict[int, list[dict[str, Any]]] = defaultdict(list)
    ids = sorted(set(offer_ids))
    for start in range(0, len(ids), COVERAGE_BATCH_SIZE):
        batch = Offer.objects.select_related("seller", "product__category").filter(
            pk__in=ids[start : start + COVERAGE_BATCH_SIZE]
        )
        rows = []
        for offer in batch.order_by("pk"):
            for country, addresses in sorted(samples.items()):
                refused = _unbuyable(offer, addresses, current, today)
                newly: list[str] = []
                if previous is not None:
                    newly = sorted(refused - _unbuyable(offer, addresses, previous, today))
                rows.append(
                    CoverageReport(
                        offer=offer,
                        country=country,
                        sampled=len(addresses),
                        shippable=len(addresses) - len(refused),
                        unbuyable_regions=sorted(refused),
                        newly_unbuyable_regions=newly,
                        trigger=trigger[:100],
                    )
                )
                if newly:
                    lost[offer.seller_id].append(
                        {"offer_id": offer.pk, "country": country, "regions": newly}
                    )
        with transaction.atomic():
            reports.extend(CoverageReport.objects.bulk_create(rows))
    with transaction.atomic():
        for seller_id, offers in sorted(lost.items()):
            outbox.emit(
                "shippability.coverage_lost",
                {"seller_id": seller_id, "trigger": trigger, "offers": offers},
            )
    return reports


def _affected_seller_offers(seller_id: int) -> list[int]:
    return list(
        Offer.objects.filter(
            seller_id=seller_id, is_active=True, fulfilment_channel=FulfilmentChannel.SELLER
        ).values_list("pk", flat=True)
    )


def coverage_check_for_templates(
    seller_id: int,
    *,
    replaced_ids: Sequence[int],
    before: Sequence[dict[str, Any]],
    trigger: str,
    now: datetime | None = None,
) -> list[CoverageReport]:
    """After a seller's templates changed: their own-shipping offers, before against after."""
    return coverage_check(
        _affected_seller_offers(seller_id),
        trigger=trigger,
        before=lambda current: snapshot_with_templates(
            current, replaced_ids=replaced_ids, before=before
        ),
        now=now,
    )


def coverage_check_for_warehouse(
    warehouse_id: int,
    *,
    before: dict[str, Any] | None,
    trigger: str,
    now: datetime | None = None,
) -> list[CoverageReport]:
    """After staff changed a warehouse: the offers it held or holds, before against after."""
    held = set(
        WarehouseStock.objects.filter(warehouse_id=warehouse_id, quantity__gt=0).values_list(
            "offer_id", flat=True
        )
    )
    held |= set((before or {}).get("stocked_offer_ids", []))
    return coverage_check(
        sorted(held),
        trigger=trigger,
        before=lambda current: snapshot_with_warehouse(
            current, warehouse_id=warehouse_id, before=before
        ),
        now=now,
    )


def coverage_check_for_seller(seller_id: int, *, trigger: str) -> list[CoverageReport]:
    """Where each of a seller's active offers can be delivered now (no comparison)."""
    return coverage_check(
        list(
            Offer.objects.filter(seller_id=seller_id, is_active=True).values_list("pk", flat=True)
        ),
        trigger=trigger,
    )


# --- Scheduling (after the change commits) ----------------------------------------------------


def _after_commit(enqueue: Callable[[], Any]) -> None:
    def run() -> None:
        try:
            enqueue()
        except Exception:  # a broker outage must not undo the change itself
            logger.warning("coverage check not queued", exc_info=True)

    transaction.on_commit(run)


def coverage_schedule_for_templates(
    seller_id: int, *, replaced_ids: Sequence[int], before: list[dict[str, Any]], trigger: str
) -> None:
    from fulfillment.tasks import coverage_check_templates_task

    _after_commit(
        lambda: coverage_check_templates_task.delay(seller_id, list(replaced_ids), before, trigger)
    )


def coverage_schedule_for_warehouse(
    warehouse_id: int, *, before: dict[str, Any] | None, trigger: str
) -> None:
    from fulfillment.tasks import coverage_check_warehouse_task

    _after_commit(lambda: coverage_check_warehouse_task.delay(warehouse_id, before, trigger))


def coverage_check_request(seller: Seller, *, trigger: str) -> None:
    """A seller asks where their offers can be delivered (the dashboard's coverage table)."""
    from fulfillment.tasks import coverage_check_seller_task

    _after_commit(lambda: coverage_check_seller_task.delay(seller.pk, trigger))
