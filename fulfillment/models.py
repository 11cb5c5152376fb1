from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from fulfillment.choices import IncidentStatus, Reason
from marketplace.models import Category, Offer, Order, Seller, money_field


class AreaRule(models.Model):
    """A part of a country: all of it, the postal codes with a prefix, or a range of them."""

    country = models.CharField(_("country"), max_length=2)
    postal_prefix = models.CharField(_("postal code prefix"), max_length=10, blank=True)
    postal_from = models.CharField(_("postal codes from"), max_length=10, blank=True)
    postal_to = models.CharField(_("postal codes to"), max_length=10, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        part = self.postal_prefix and f" {self.postal_prefix}*"
        span = self.postal_from and f" {self.postal_from}-{self.postal_to}"
        return f"{self.country}{part or ''}{span or ''}"


class Warehouse(TimeStampedModel):
    """A platform warehouse."""

    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    country = models.CharField(_("country"), max_length=2)
    city = models.CharField(_("city"), max_length=100)
    handling_days = models.PositiveSmallIntegerField(_("handling days"), default=1)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class WarehouseCoverage(AreaRule):
    """Where a warehouse delivers, and in how many business days."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="coverage")
    transit_days_min = models.PositiveSmallIntegerField(_("transit days from"), default=1)
    transit_days_max = models.PositiveSmallIntegerField(_("transit days to"), default=3)

    class Meta:
        verbose_name = _("warehouse coverage")
        constraints = [
            models.CheckConstraint(
                condition=Q(transit_days_max__gte=F("transit_days_min")),
                name="coverage_transit_order",
            )
        ]


class WarehouseStock(models.Model):
    """Units of a platform-fulfilled offer in one warehouse."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="stock")
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "offer"], name="warehouse_stock_once")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.offer_id} @ {self.warehouse_id}"


class WarehouseAllocation(models.Model):
    """Units of a platform-fulfilled order line taken from one warehouse's stock."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="+")
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="allocations")
    quantity = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("warehouse allocation")
        constraints = [
            models.UniqueConstraint(
                fields=["order", "offer", "warehouse"], name="allocation_once_per_warehouse"
            )
        ]

    def __str__(self) -> str:
        return f"order {self.order_id}: {self.quantity} x {self.offer_id} @ {self.warehouse_id}"


class ShippingTemplate(TimeStampedModel):
    """How a seller ships their own parcels: where to, how fast, PO boxes or not."""

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="shipping_templates")
    name = models.CharField(_("name"), max_length=100)
    is_default = models.BooleanField(_("default for my offers"), default=False)
    handling_days = models.PositiveSmallIntegerField(
        _("handling days"),
        null=True,
        blank=True,
        help_text=_("Empty: each offer's own handling time."),
    )
    ships_to_po_boxes = models.BooleanField(_("ships to PO boxes"), default=True)
    offers = models.ManyToManyField(Offer, blank=True, related_name="+", verbose_name=_("offers"))

    class Meta:
        verbose_name = _("shipping template")
        constraints = [
            models.UniqueConstraint(
                fields=["seller"],
                condition=Q(is_default=True),
                name="one_default_template_per_seller",
            )
        ]

    def __str__(self) -> str:
        return self.name


class ShippingRule(AreaRule):
    """An area a template ships to (with transit days) or excludes."""

    template = models.ForeignKey(ShippingTemplate, on_delete=models.CASCADE, related_name="rules")
    is_excluded = models.BooleanField(_("excluded"), default=False)
    transit_days_min = models.PositiveSmallIntegerField(_("transit days from"), default=1)
    transit_days_max = models.PositiveSmallIntegerField(_("transit days to"), default=3)

    class Meta:
        verbose_name = _("shipping rule")
        constraints = [
            models.CheckConstraint(
                condition=Q(transit_days_max__gte=F("transit_days_min")), name="rule_transit_order"
            )
        ]


class ProductRestriction(models.Model):
    """Goods that may not be shipped to a country: a category (and below), or hazardous goods."""

    country = models.CharField(_("country"), max_length=2)
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Empty: every category."),
    )
    hazardous_only = models.BooleanField(_("hazardous goods only"), default=False)
    reason = models.CharField(_("reason"), max_length=200)

    class Meta:
        verbose_name = _("product restriction")

    def __str__(self) -> str:
        return f"{self.country}: {self.reason}"


class RefusalCount(models.Model):
    """Refused shippability checks in cart and checkout, per offer, reason, region and hour."""

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=40, choices=Reason.choices)
    region = models.CharField(
        max_length=12, help_text=_("Country and the first two postal digits.")
    )
    hour = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    blocked_value = money_field(default=Decimal(0))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["offer", "reason", "region", "hour"], name="refusal_count_bucket"
            )
        ]
        indexes = [models.Index(fields=["hour", "offer"])]

    def __str__(self) -> str:
        return f"{self.offer_id} {self.reason} {self.region} {self.hour:%Y-%m-%d %H}h"


class Incident(TimeStampedModel):
    """An offer that suddenly became unbuyable for many shoppers, for one reason."""

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="+")
    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=40, choices=Reason.choices)
    status = models.CharField(
        max_length=10, choices=IncidentStatus.choices, default=IncidentStatus.OPEN
    )
    regions = models.JSONField(default=list)
    attempts = models.PositiveIntegerField(default=0)
    blocked_value = money_field(default=Decimal(0))
    currency = models.CharField(max_length=3, default="EUR")
    baseline_per_hour = models.FloatField(default=0)
    opened_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty when it resolved itself after a quiet period."),
    )
    last_refusal_at = models.DateTimeField()

    class Meta:
        verbose_name = _("shippability incident")
        verbose_name_plural = _("shippability incidents")
        constraints = [
            models.UniqueConstraint(
                fields=["offer", "reason"],
                condition=~Q(status="resolved"),
                name="one_unresolved_incident_per_offer_reason",
            )
        ]

    def __str__(self) -> str:
        return f"{self.offer_id}: {self.reason} ({self.status})"


class StaffOverride(models.Model):
    """An order staff placed despite a refusal during a confirmed incident: the audit trail."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="overrides")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    refused_reason = models.CharField(max_length=40, choices=Reason.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"override for order {self.order_id}"


class CoverageReport(models.Model):
    """Share of sampled real customer regions an offer can be shipped to, per country."""

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="+")
    country = models.CharField(max_length=2)
    sampled = models.PositiveIntegerField()
    shippable = models.PositiveIntegerField()
    unbuyable_regions = models.JSONField(default=list)
    newly_unbuyable_regions = models.JSONField(default=list)
    trigger = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.offer_id} {self.country}: {self.shippable}/{self.sampled}"
