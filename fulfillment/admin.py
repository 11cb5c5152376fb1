from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
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
    WarehouseCoverage,
    WarehouseStock,
)


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

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        from fulfillment.tasks import coverage_check_warehouse_task

        warehouse = form.instance
        trigger = f"warehouse {warehouse.code} changed by {request.user}"
        # Staff changed where a warehouse delivers or what it holds: re-check the offers it ships.
        transaction.on_commit(lambda: coverage_check_warehouse_task.delay(warehouse.pk, trigger))


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


@admin.register(ProductRestriction)
class ProductRestrictionAdmin(admin.ModelAdmin):
    list_display = ["country", "category", "hazardous_only", "reason"]
    list_filter = ["country", "hazardous_only"]
    search_fields = ["reason"]
    raw_id_fields = ["category"]


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
        "resolved_at",
        "last_refusal_at",
    ]
    actions = ["confirm", "resolve"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Confirm: staff may then override refusals for these offers"))
    def confirm(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        for incident in queryset:
            services.incident_confirm(incident.pk, actor=request.user)  # type: ignore[arg-type]

    @admin.action(description=_("Resolve the selected incidents"))
    def resolve(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        for incident in queryset:
            services.incident_resolve(incident.pk, actor=request.user)  # type: ignore[arg-type]


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
