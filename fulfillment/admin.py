"""Staff manage warehouses, restrictions and incidents here; every change goes through a service."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin
from fulfillment import services
from fulfillment.models import (
    CoverageReport,
    Incident,
    ProductRestriction,
    RefusalCount,
    ShippingRule,
    ShippingTemplate,
    StaffOverride,
    Warehouse,
    WarehouseAllocation,
    WarehouseCoverage,
    WarehouseStock,
)

BEFORE = "_fulfillment_before"  # the rules as they were, kept on the request between two hooks


class CoverageInline(admin.TabularInline):
    model = WarehouseCoverage
    extra = 0


class StockInline(admin.TabularInline):
    model = WarehouseStock
    extra = 0
    raw_id_fields = ["offer"]


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "city", "country", "handling_days", "is_active"]
    list_filter = ["country", "is_active"]
    search_fields = ["code", "name", "city"]
    inlines = [CoverageInline, StockInline]

    def save_model(self, request: HttpRequest, obj: Warehouse, form: Any, change: bool) -> None:
        # Before anything is written (the inlines follow): where it delivered, what it held.
        setattr(request, BEFORE, services.warehouse_before_change(obj.pk) if change else None)
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        services.warehouse_changed(
            form.instance.pk,
            before=getattr(request, BEFORE, None),
            actor=request.user,  # type: ignore[arg-type]
        )

    def delete_model(self, request: HttpRequest, obj: Warehouse) -> None:
        before = services.warehouse_before_change(obj.pk)
        warehouse_id = obj.pk
        super().delete_model(request, obj)
        services.warehouse_changed(warehouse_id, before=before, actor=request.user)  # type: ignore[arg-type]


class RuleInline(admin.TabularInline):
    model = ShippingRule
    extra = 0


@admin.register(ShippingTemplate)
class ShippingTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "seller", "is_default", "handling_days", "ships_to_po_boxes"]
    list_filter = ["is_default", "ships_to_po_boxes"]
    search_fields = ["name", "seller__display_name"]
    raw_id_fields = ["seller", "offers"]
    inlines = [RuleInline]

    def save_model(
        self, request: HttpRequest, obj: ShippingTemplate, form: Any, change: bool
    ) -> None:
        setattr(request, BEFORE, services.template_rules_json([obj.pk]) if change else [])
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        services.template_changed_by_staff(
            form.instance.pk,
            seller_id=form.instance.seller_id,
            before=getattr(request, BEFORE, []),
            actor=request.user,
        )


@admin.register(ProductRestriction)
class ProductRestrictionAdmin(admin.ModelAdmin):
    list_display = ["country", "category", "hazardous_only", "reason"]
    list_filter = ["country", "hazardous_only"]
    search_fields = ["reason"]
    raw_id_fields = ["category"]


class OverrideInline(admin.TabularInline):
    model = StaffOverride
    extra = 0
    can_delete = False
    fields = ("order", "actor", "refused_reason", "reason", "created_at")
    readonly_fields = ("order", "actor", "refused_reason", "reason", "created_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = [
        "offer",
        "seller",
        "reason",
        "status",
        "attempts",
        "blocked_value",
        "currency",
        "regions",
        "opened_at",
        "resolved_at",
    ]
    list_filter = ["status", "reason"]
    search_fields = ["offer__product__title", "seller__display_name"]
    date_hierarchy = "opened_at"
    readonly_fields = [
        "offer",
        "seller",
        "reason",
        "status",
        "regions",
        "attempts",
        "blocked_value",
        "currency",
        "baseline_per_hour",
        "opened_at",
        "confirmed_at",
        "confirmed_by",
        "resolved_at",
        "resolved_by",
        "last_refusal_at",
    ]
    inlines = [OverrideInline]
    actions = ["confirm", "resolve"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Confirm: staff may then override refusals for these offers"))
    def confirm(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        for incident in queryset.order_by("pk"):
            services.incident_confirm(incident.pk, actor=request.user)  # type: ignore[arg-type]
        messages.success(request, _("Confirmed."))

    @admin.action(description=_("Resolve the selected incidents"))
    def resolve(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        for incident in queryset.order_by("pk"):
            services.incident_resolve(incident.pk, actor=request.user)  # type: ignore[arg-type]
        messages.success(request, _("Resolved."))


@admin.register(StaffOverride)
class StaffOverrideAdmin(ReadOnlyAdmin):
    list_display = ["order", "incident", "actor", "refused_reason", "created_at"]
    search_fields = ["reason", "actor__email"]
    raw_id_fields = ["order", "incident", "actor"]


@admin.register(RefusalCount)
class RefusalCountAdmin(ReadOnlyAdmin):
    list_display = ["offer", "reason", "region", "hour", "attempts", "blocked_value"]
    list_filter = ["reason"]
    search_fields = ["region"]
    raw_id_fields = ["offer"]
    date_hierarchy = "hour"


@admin.register(CoverageReport)
class CoverageReportAdmin(ReadOnlyAdmin):
    list_display = [
        "offer",
        "country",
        "shippable",
        "sampled",
        "newly_unbuyable_regions",
        "trigger",
        "created_at",
    ]
    list_filter = ["country"]
    search_fields = ["trigger"]
    raw_id_fields = ["offer"]


@admin.register(WarehouseAllocation)
class WarehouseAllocationAdmin(ReadOnlyAdmin):
    list_display = ["order", "offer", "warehouse", "quantity", "created_at", "released_at"]
    list_filter = ["warehouse"]
    raw_id_fields = ["order", "offer", "warehouse"]
