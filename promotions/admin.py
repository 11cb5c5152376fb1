from __future__ import annotations

import csv
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from promotions import selectors, services
from promotions.models import (
    Campaign,
    CodeFailures,
    Coupon,
    CouponHolder,
    CouponMisuse,
    IssueRun,
    Redemption,
)

STAT_COLUMNS = (
    "issued",
    "emailed",
    "applied",
    "redeemed",
    "redemption_rate",
    "spent",
    "revenue",
)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "kind",
        "discount_type",
        "starts_at",
        "ends_at",
        "is_active",
        "issued",
        "emailed",
        "applied",
        "redeemed",
        "redemption_rate",
        "discount_spent",
        "revenue",
    ]
    actions = ["pause", "resume", "export_csv"]
    list_filter = ["kind", "discount_type", "is_active"]
    search_fields = ["name"]
    filter_horizontal = ["eligible_categories"]
    readonly_fields = ["budget_spent", "created_at", "updated_at"]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        self._stats = selectors.campaign_statistics()
        return super().changelist_view(request, extra_context)

    def _stat(self, campaign: Campaign, key: str) -> Any:
        return getattr(self, "_stats", {}).get(campaign.pk, {}).get(key, 0)

    @admin.display(description=_("issued"))
    def issued(self, campaign: Campaign) -> Any:
        return self._stat(campaign, "issued")

    @admin.display(description=_("e-mailed"))
    def emailed(self, campaign: Campaign) -> Any:
        return self._stat(campaign, "emailed")

    @admin.display(description=_("applied"))
    def applied(self, campaign: Campaign) -> Any:
        return self._stat(campaign, "applied")

    @admin.display(description=_("redemption rate"))
    def redemption_rate(self, campaign: Campaign) -> Any:
        rate = self._stat(campaign, "redemption_rate")
        return f"{rate:.1%}" if rate else "-"

    @admin.action(description=_("Pause the selected campaigns"))
    def pause(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        queryset.update(is_active=False)

    @admin.action(description=_("Resume the selected campaigns"))
    def resume(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        queryset.update(is_active=True)

    @admin.action(description=_("Export statistics as CSV"))
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> HttpResponse:
        stats = selectors.campaign_statistics([campaign.pk for campaign in queryset])
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="campaigns.csv"'
        writer = csv.writer(response)
        writer.writerow(["id", "name", "kind", "currency", *STAT_COLUMNS])
        for campaign in queryset.order_by("pk"):
            row = stats.get(campaign.pk, {})
            writer.writerow(
                [
                    campaign.pk,
                    campaign.name,
                    campaign.kind,
                    campaign.currency,
                    *[row.get(column, "") for column in STAT_COLUMNS],
                ]
            )
        return response

    @admin.display(description=_("redeemed"))
    def redeemed(self, campaign: Campaign) -> Any:
        return self._stat(campaign, "redeemed")

    @admin.display(description=_("discount spent"))
    def discount_spent(self, campaign: Campaign) -> Any:
        return f"{self._stat(campaign, 'spent')} {campaign.currency}"

    @admin.display(description=_("revenue"))
    def revenue(self, campaign: Campaign) -> Any:
        return f"{self._stat(campaign, 'revenue')} {campaign.currency}"


class HolderInline(admin.TabularInline):
    model = CouponHolder
    extra = 0
    raw_id_fields = ["customer"]
    readonly_fields = ["uses"]


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    list_display = ["display_code", "campaign", "customer", "created_at"]
    list_filter = ["campaign"]
    search_fields = ["code", "customer__email"]
    raw_id_fields = ["customer"]
    readonly_fields = ["code", "created_at", "updated_at"]
    inlines = [HolderInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # codes are issued by services (personal or issue runs), never typed in


@admin.register(Redemption)
class RedemptionAdmin(admin.ModelAdmin):
    list_display = [
        "coupon",
        "order",
        "discount",
        "currency",
        "order_total",
        "redeemed_at",
        "reversed_at",
    ]
    list_filter = ["reversed_at"]
    search_fields = ["coupon__code", "order__id"]
    raw_id_fields = ["coupon", "holder", "order"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(IssueRun)
class IssueRunAdmin(admin.ModelAdmin):
    list_display = [
        "campaign",
        "segment",
        "mode",
        "status",
        "issued",
        "already_had",
        "total",
        "started_at",
        "finished_at",
    ]
    list_filter = ["status", "segment"]
    raw_id_fields = ["explicit_customers"]
    readonly_fields = [
        "status",
        "total",
        "issued",
        "already_had",
        "started_at",
        "finished_at",
        "error",
    ]
    actions = ["run_again"]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if not change:
            services.issue_run_start(form.instance)

    @admin.action(description=_("Run again (issues only what is missing)"))
    def run_again(self, request: HttpRequest, queryset: QuerySet[IssueRun]) -> None:
        for run in queryset:
            IssueRun.objects.filter(pk=run.pk).update(status="pending")
            services.issue_run_start(run)


@admin.register(CouponMisuse)
class CouponMisuseAdmin(admin.ModelAdmin):
    """Codes entered by someone other than their owner: signals of sharing or probing."""

    list_display = ["coupon", "customer", "attempted_at"]
    search_fields = ["customer__email", "coupon__code"]
    raw_id_fields = ["coupon", "customer"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CodeFailures)
class CodeFailuresAdmin(CouponMisuseAdmin):
    list_display = ["customer", "hour", "failures"]
    search_fields = ["customer__email"]
    raw_id_fields = ["customer"]
