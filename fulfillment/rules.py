"""The rule snapshot, cached in each process and reloaded when its version changes.

Warehouses, coverage, warehouse stock, templates and restrictions change rarely and are read on
every product page, so each process keeps them in memory. A version number in the shared cache is
bumped whenever one of them changes (signals: cache busting only); a process looks at that version
at most every few seconds, so a warm check costs neither SQL nor, mostly, a Redis round trip.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections import defaultdict

from django.core.cache import cache
from django.db import transaction

from fulfillment.constants import RULES_VERSION_CHECK_SECONDS, RULES_VERSION_KEY
from fulfillment.decision import Area, Coverage, Restriction, Snapshot, TemplateRules
from fulfillment.models import (
    ProductRestriction,
    ShippingTemplate,
    WarehouseCoverage,
    WarehouseStock,
)

_lock = threading.Lock()
_cached: Snapshot | None = None
_checked_at = 0.0


def current_version() -> str:
    try:
        version = cache.get(RULES_VERSION_KEY)
        if version is None:
            version = uuid.uuid4().hex
            cache.add(RULES_VERSION_KEY, version, timeout=None)
            version = cache.get(RULES_VERSION_KEY, version)
        return str(version)
    except Exception:  # noqa: BLE001 - no cache: fall back to reloading every few seconds
        return f"no-cache-{int(time.monotonic() // RULES_VERSION_CHECK_SECONDS)}"


def bump_version() -> None:
    """Invalidate every process's snapshot once the current transaction commits."""

    def bump() -> None:
        # No cache: processes still reload on their own timer.
        with contextlib.suppress(Exception):
            cache.set(RULES_VERSION_KEY, uuid.uuid4().hex, timeout=None)
        invalidate_local()

    transaction.on_commit(bump)


def invalidate_local() -> None:
    global _cached, _checked_at
    with _lock:
        _cached = None
        _checked_at = 0.0


def snapshot() -> Snapshot:
    global _cached, _checked_at
    now = time.monotonic()
    cached = _cached
    if cached is not None and now - _checked_at < RULES_VERSION_CHECK_SECONDS:
        return cached
    version = current_version()
    with _lock:
        if _cached is not None and _cached.version == version:
            _checked_at = now
            return _cached
        _cached = load(version)
        _checked_at = now
        return _cached


def load(version: str = "") -> Snapshot:
    coverage = tuple(
        Coverage(
            warehouse_id=row.warehouse_id,
            warehouse_code=row.warehouse.code,
            warehouse_city=row.warehouse.city,
            warehouse_country=row.warehouse.country,
            handling_days=row.warehouse.handling_days,
            area=Area(row.country, row.postal_prefix, row.postal_from, row.postal_to),
            transit_min=row.transit_days_min,
            transit_max=row.transit_days_max,
        )
        for row in WarehouseCoverage.objects.filter(warehouse__is_active=True)
        .select_related("warehouse")
        .order_by("pk")
    )
    stock: dict[int, dict[int, int]] = defaultdict(dict)
    for offer_id, warehouse_id, quantity in WarehouseStock.objects.filter(
        quantity__gt=0, warehouse__is_active=True
    ).values_list("offer_id", "warehouse_id", "quantity"):
        stock[offer_id][warehouse_id] = quantity
    default_templates: dict[int, TemplateRules] = {}
    offer_templates: dict[int, TemplateRules] = {}
    for template in ShippingTemplate.objects.prefetch_related("rules", "offers").order_by("pk"):
        rules = TemplateRules(
            template_id=template.pk,
            handling_days=template.handling_days,
            ships_to_po_boxes=template.ships_to_po_boxes,
            includes=tuple(
                (
                    Area(r.country, r.postal_prefix, r.postal_from, r.postal_to),
                    r.transit_days_min,
                    r.transit_days_max,
                )
                for r in template.rules.all()
                if not r.is_excluded
            ),
            excludes=tuple(
                Area(r.country, r.postal_prefix, r.postal_from, r.postal_to)
                for r in template.rules.all()
                if r.is_excluded
            ),
        )
        if template.is_default:
            default_templates[template.seller_id] = rules
        for offer in template.offers.all():
            offer_templates[offer.pk] = rules
    restrictions = tuple(
        Restriction(
            country=row.country,
            category_path=row.category.path if row.category is not None else None,
            hazardous_only=row.hazardous_only,
            reason=row.reason,
        )
        for row in ProductRestriction.objects.select_related("category").order_by("pk")
    )
    return Snapshot(
        version=version,
        coverage=coverage,
        stock={offer_id: dict(by_warehouse) for offer_id, by_warehouse in stock.items()},
        default_templates=default_templates,
        offer_templates=offer_templates,
        restrictions=restrictions,
    )
