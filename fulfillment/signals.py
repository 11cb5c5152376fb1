"""Cache busting only: any change to a shippability rule invalidates the cached snapshots."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save

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
    WarehouseStock,
    ShippingTemplate,
    ShippingRule,
    ProductRestriction,
)


def _bust(**kwargs: Any) -> None:
    rules.bump_version()


def connect() -> None:
    for model in RULE_MODELS:
        post_save.connect(
            _bust, sender=model, dispatch_uid=f"fulfillment-bust-save-{model.__name__}"
        )
        post_delete.connect(
            _bust, sender=model, dispatch_uid=f"fulfillment-bust-del-{model.__name__}"
        )
    m2m_changed.connect(
        _bust, sender=ShippingTemplate.offers.through, dispatch_uid="fulfillment-bust-offers"
    )
