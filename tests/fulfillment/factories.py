from __future__ import annotations

from fulfillment.models import (
    ShippingRule,
    ShippingTemplate,
    Warehouse,
    WarehouseCoverage,
    WarehouseStock,
)


def warehouse(code="ber1", city="Berlin", country="DE", areas=(("DE", "", 1, 2),)):
    created = Warehouse.objects.create(
        code=code, name=f"Warehouse {city}", city=city, country=country
    )
    for area_country, prefix, low, high in areas:
        WarehouseCoverage.objects.create(
            warehouse=created,
            country=area_country,
            postal_prefix=prefix,
            transit_days_min=low,
            transit_days_max=high,
        )
    return created


def stock(warehouse_, offer, quantity=10):
    return WarehouseStock.objects.create(warehouse=warehouse_, offer=offer, quantity=quantity)


def template(seller, *, includes=(("DE", "", 1, 3),), excludes=(), po_boxes=True, handling=None):
    created = ShippingTemplate.objects.create(
        seller=seller,
        name="Standard",
        is_default=True,
        ships_to_po_boxes=po_boxes,
        handling_days=handling,
    )
    for country, prefix, low, high in includes:
        ShippingRule.objects.create(
            template=created,
            country=country,
            postal_prefix=prefix,
            transit_days_min=low,
            transit_days_max=high,
        )
    for country, prefix in excludes:
        ShippingRule.objects.create(
            template=created, country=country, postal_prefix=prefix, is_excluded=True
        )
    return created


def at(day, hour: int = 10):
    """A pinned, timezone-aware moment on ``day``."""
    from datetime import datetime

    from django.utils import timezone

    return timezone.make_aware(datetime(day.year, day.month, day.day, hour))


def decide(offer, address, when=None):
    """The decision as every caller gets it, on freshly loaded rules and offer."""
    from datetime import date

    from fulfillment import rules, services
    from marketplace.models import Offer

    rules.invalidate_local()
    offer = Offer.objects.select_related("seller", "product__category").get(pk=offer.pk)
    return services.shippability(offer, address, now=when or at(date(2026, 11, 23)))
