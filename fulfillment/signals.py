"""Cache busting only: a change to a shippability rule invalidates the cached snapshots.

Warehouse stock is a rule only in whether it is above zero; a save that keeps it on the same side
of zero (the usual restock or correction) leaves every process's snapshot valid.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from fulfillment import rules
from fulfillment.models import (
    ProductRestriction,
    ShippingRule,
    ShippingTemplate,
    Warehouse,
    WarehouseCoverage,
    WarehouseStock,
)

RULE_MODELS = (
    Warehouse,
    WarehouseCoverage,
    ShippingTemplate,
    ShippingRule,
    ProductRestriction,
)


def _bust(**kwargs: Any) -> None:
    rules.bump_version()


def _stock_key(warehouse_id: int, offer_id: int, quantity: int) -> tuple[int, int, bool]:
    return (warehouse_id, offer_id, quantity > 0)


def _stock_before(sender: Any, instance: WarehouseStock, **kwargs: Any) -> None:
    previous = None
    if instance.pk is not None:
        previous = (
            WarehouseStock.objects.filter(pk=instance.pk)
            .values_list("warehouse_id", "offer_id", "quantity")
            .first()
        )
    instance._rule_before = _stock_key(*previous) if previous else None  # type: ignore[attr-defined]


def _stock_saved(sender: Any, instance: WarehouseStock, **kwargs: Any) -> None:
    before = getattr(instance, "_rule_before", None)
    after = _stock_key(instance.warehouse_id, instance.offer_id, instance.quantity)
    if before != after and (before is not None or after[2]):
        rules.bump_version()


def _stock_deleted(sender: Any, instance: WarehouseStock, **kwargs: Any) -> None:
    if instance.quantity > 0:
        rules.bump_version()


def connect() -> None:
    for model in RULE_MODELS:
        post_save.connect(
            _bust, sender=model, dispatch_uid=f"fulfillment-bust-save-{model.__name__}"
        )
        post_delete.connect(
            _bust, sender=model, dispatch_uid=f"fulfillment-bust-del-{model.__name__}"
        )
    pre_save.connect(_stock_before, sender=WarehouseStock, dispatch_uid="fulfillment-stock-pre")
    post_save.connect(_stock_saved, sender=WarehouseStock, dispatch_uid="fulfillment-stock-save")
    post_delete.connect(_stock_deleted, sender=WarehouseStock, dispatch_uid="fulfillment-stock-del")
    m2m_changed.connect(
        _bust, sender=ShippingTemplate.offers.through, dispatch_uid="fulfillment-bust-offers"
    )
