"""Platform warehouses: stock taken by orders and given back on cancellation, and staff changes.

Warehouse stock moves with every platform order, yet the cached rule snapshot only cares whether
a warehouse holds an offer at all. So the snapshot's version is bumped only when a warehouse's
stock of an offer crosses zero, never on an ordinary sale.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction

from core import clock
from fulfillment import rules
from fulfillment.decision import AddressFacts, compact_postal
from fulfillment.models import WarehouseAllocation, WarehouseStock
from fulfillment.services.coverage import coverage_schedule_for_warehouse, warehouse_rules_json
from marketplace.choices import FulfilmentChannel, OrderStatus
from marketplace.models import Order, User

logger = logging.getLogger(__name__)


def _preferred_warehouses(address: AddressFacts) -> list[int]:
    """Warehouses that deliver to the address, fastest first: the decision's own preference."""
    postal = compact_postal(address.postal_code)
    serving = [c for c in rules.snapshot().coverage if c.area.matches(address.country, postal)]
    serving.sort(
        key=lambda c: (
            c.handling_days + c.transit_max,
            c.handling_days + c.transit_min,
            c.warehouse_code,
        )
    )
    return list(dict.fromkeys(c.warehouse_id for c in serving))


def warehouse_stock_allocate(order_id: int) -> list[WarehouseAllocation]:
    """Take a placed order's platform-fulfilled units from the warehouses serving its address.

    Idempotent: an order is allocated once. Stock rows are locked in (offer, row) order, the same
    order for every allocation and release, so concurrent orders cannot deadlock.
    """
    crossed = False
    allocations: list[WarehouseAllocation] = []
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).filter(pk=order_id).first()
        if order is None or order.status == OrderStatus.CANCELLED:
            return []
        if WarehouseAllocation.objects.filter(order=order).exists():
            return []
        lines = list(
            order.lines.filter(offer__fulfilment_channel=FulfilmentChannel.PLATFORM).order_by(
                "offer_id"
            )
        )
        if not lines:
            return []
        preferred = _preferred_warehouses(
            AddressFacts(order.ship_country, order.ship_postal_code, False)
        )
        rank = {warehouse_id: index for index, warehouse_id in enumerate(preferred)}
        for line in lines:
            rows = list(
                WarehouseStock.objects.select_for_update()
                .filter(offer_id=line.offer_id, warehouse_id__in=preferred, quantity__gt=0)
                .order_by("pk")
            )
            remaining = line.quantity
            for row in sorted(rows, key=lambda r: rank[r.warehouse_id]):
                if remaining == 0:
                    break
                taken = min(remaining, row.quantity)
                row.quantity -= taken
                WarehouseStock.objects.filter(pk=row.pk).update(quantity=row.quantity)
                crossed = crossed or row.quantity == 0
                remaining -= taken
                allocations.append(
                    WarehouseAllocation(
                        order=order,
                        offer_id=line.offer_id,
                        warehouse_id=row.warehouse_id,
                        quantity=taken,
                    )
                )
            if remaining:
                # Overridden orders (no serving warehouse) and drift between an offer's stock and
                # its warehouses' land here; staff see it in the log and in the allocations admin.
                logger.warning(
                    "order %s: %s of offer %s not allocated to a warehouse",
                    order.pk,
                    remaining,
                    line.offer_id,
                )
        WarehouseAllocation.objects.bulk_create(allocations)
        if crossed:
            rules.bump_version()
    return allocations


def warehouse_stock_release(order_id: int, *, now: datetime | None = None) -> int:
    """Give a cancelled order's allocated units back to their warehouses. Idempotent."""
    now = now or clock.now()
    crossed = False
    with transaction.atomic():
        allocations = list(
            WarehouseAllocation.objects.select_for_update()
            .filter(order_id=order_id, released_at__isnull=True)
            .order_by("pk")
        )
        if not allocations:
            return 0
        keys = {(a.offer_id, a.warehouse_id) for a in allocations}
        rows = {
            (row.offer_id, row.warehouse_id): row
            for row in WarehouseStock.objects.select_for_update()
            .filter(
                offer_id__in={offer for offer, _w in keys},
                warehouse_id__in={w for _o, w in keys},
            )
            .order_by("offer_id", "pk")
        }
        for allocation in allocations:
            row = rows.get((allocation.offer_id, allocation.warehouse_id))
            if row is None:
                continue  # staff removed the offer from that warehouse since
            crossed = crossed or row.quantity == 0
            row.quantity += allocation.quantity
            WarehouseStock.objects.filter(pk=row.pk).update(quantity=row.quantity)
            allocation.released_at = now
        WarehouseAllocation.objects.bulk_update(allocations, ["released_at"])
        if crossed:
            rules.bump_version()
    return len(allocations)


def warehouse_before_change(warehouse_id: int) -> dict[str, Any] | None:
    """What a warehouse is before staff change it; hand it to :func:`warehouse_changed`."""
    return warehouse_rules_json(warehouse_id)


def warehouse_changed(
    warehouse_id: int, *, before: dict[str, Any] | None, actor: User | None
) -> None:
    """Staff changed (or deleted) a warehouse: re-check the offers it held, before against after."""
    rules.bump_version()
    who = f" by {actor.email}" if actor is not None else ""
    code = (before or {}).get("code", warehouse_id)
    coverage_schedule_for_warehouse(
        warehouse_id, before=before, trigger=f"warehouse {code} changed{who}"
    )
