from __future__ import annotations

import csv
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import ReadOnlyAdmin
from core.money import quantize
from marketplace.models import User
from promotions import selectors, services
from promotions.choices import IssueMode, Segment
from promotions.models import (
    Campaign,
    CodeFailures,
    Coupon,
    CouponHolder,
    CouponMisuse,
    IssueRun,
    Redemption,
)

EXPORT_COLUMNS = (*selectors.STATISTICS[:4], "redemption_rate", *selectors.STATISTICS[4:])


def _staff(request: HttpRequest) -> User:
    return cast(User, request.user)


class IssueToSegmentForm(forms.Form):
    """Who gets a code: a segment evaluated when the run starts, or an explicit list."""

    segment = forms.ChoiceField(label=_("segment"), choices=Segment.choices)
    mode = forms.ChoiceField(label=_("mode"), choices=IssueMode.choices, initial=IssueMode.PERSONAL)
    parameter_days = forms.IntegerField(
        label=_("days"),
        min_value=1,
        required=False,
        help_text=_("New: account younger than this; inactive: last order at least this long ago."),
    )
    parameter_orders = forms.IntegerField(
        label=_("delivered orders"),
        min_value=1,
        required=False,
        help_text=_("Loyal: at least this many delivered orders in the last 365 days."),
    )
    customers = forms.CharField(
        label=_("customers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "Explicit list: one account e-mail or id per line. The code is bound to the account."
        ),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        entries = [entry.strip() for entry in data.get("customers", "").splitlines()]
        entries = [entry for entry in entries if entry]
        data["customer_ids"] = []
        if data.get("segment") != Segment.EXPLICIT:
            return data
        if not entries:
            raise forms.ValidationError({"customers": _("Name at least one customer.")})
        ids = [int(entry) for entry in entries if entry.isdigit()]
        emails = [entry.lower() for entry in entries if not entry.isdigit()]
        found = list(
            User.objects.filter(Q(pk__in=ids) | Q(email__in=emails)).values_list("pk", "email")
        )
        known = {str(pk) for pk, _email in found} | {email.lower() for _pk, email in found}
        unknown = [entry for entry in entries if entry.lower() not in known]
        if unknown:
            raise forms.ValidationError(
                {"customers": _("No account: %(entries)s") % {"entries": ", ".join(unknown[:10])}}
            )
        data["customer_ids"] = sorted(pk for pk, _email in found)
        return data


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
    actions = ["issue_to_segment", "pause", "resume", "export_csv"]
    list_filter = ["kind", "discount_type", "is_active"]
    search_fields = ["name"]
    filter_horizontal = ["eligible_categories"]
    readonly_fields = ["budget_spent", "created_at", "updated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        # Correlated subqueries: only the campaigns on the page are counted.
        return selectors.campaigns_with_statistics(super().get_queryset(request))

    @admin.display(description=_("issued"), ordering="issued")
    def issued(self, campaign: Any) -> int:
        return int(campaign.issued)

    @admin.display(description=_("e-mailed"), ordering="emailed")
    def emailed(self, campaign: Any) -> int:
        return int(campaign.emailed)

    @admin.display(description=_("applied"), ordering="applied")
    def applied(self, campaign: Any) -> int:
        return int(campaign.applied)

    @admin.display(description=_("redeemed"), ordering="redeemed")
    def redeemed(self, campaign: Any) -> int:
        return int(campaign.redeemed)

    @admin.display(description=_("redemption rate"))
    def redemption_rate(self, campaign: Any) -> str:
        rate = selectors.redemption_rate(campaign.issued, campaign.redeemed)
        return "-" if rate is None else f"{rate:.1%}"

    @admin.display(description=_("discount spent"), ordering="spent")
    def discount_spent(self, campaign: Any) -> str:
        return f"{quantize(campaign.spent, campaign.currency)} {campaign.currency}"

    @admin.display(description=_("revenue"), ordering="revenue")
    def revenue(self, campaign: Any) -> str:
        return f"{quantize(campaign.revenue, campaign.currency)} {campaign.currency}"

    @admin.action(description=_("Issue codes to a segment…"))
    def issue_to_segment(
        self, request: HttpRequest, queryset: QuerySet[Campaign]
    ) -> TemplateResponse | None:
        form = IssueToSegmentForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            for campaign in queryset.order_by("pk"):
                services.issue_run_create(
                    campaign,
                    segment=form.cleaned_data["segment"],
                    mode=form.cleaned_data["mode"],
                    parameter_days=form.cleaned_data["parameter_days"],
                    parameter_orders=form.cleaned_data["parameter_orders"],
                    customer_ids=form.cleaned_data["customer_ids"],
                    actor=_staff(request),
                )
            self.message_user(
                request,
                _("Issuing started; follow its progress under “Issue runs”."),
                messages.SUCCESS,
            )
            return None
        return TemplateResponse(
            request,
            "admin/promotions/campaign/issue_to_segment.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Issue codes to a segment"),
                "opts": self.model._meta,
                "form": form,
                "campaigns": queryset,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description=_("Pause the selected campaigns"))
    def pause(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._set_active(request, queryset, is_active=False)

    @admin.action(description=_("Resume the selected campaigns"))
    def resume(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._set_active(request, queryset, is_active=True)

    def _set_active(
        self, request: HttpRequest, queryset: QuerySet[Campaign], *, is_active: bool
    ) -> None:
        changed = sum(
            services.campaign_set_active(pk, is_active=is_active, actor=_staff(request))
            for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(
            request,
            ngettext("%(count)d campaign changed.", "%(count)d campaigns changed.", changed)
            % {"count": changed},
        )

    @admin.action(description=_("Export statistics as CSV"))
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> HttpResponse:
        stats = selectors.campaign_statistics(list(queryset.values_list("pk", flat=True)))
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="campaigns.csv"'
        writer = csv.writer(response)
        writer.writerow(["id", "name", "kind", "currency", *EXPORT_COLUMNS])
        for campaign in queryset.order_by("pk"):
            row = stats.get(campaign.pk, {})
            for money in ("spent", "revenue"):
                row[money] = quantize(row.get(money, Decimal(0)), campaign.currency)
            writer.writerow(
                [
                    campaign.pk,
                    campaign.name,
                    campaign.kind,
                    campaign.currency,
                    *["" if row.get(column) is None else row[column] for column in EXPORT_COLUMNS],
                ]
            )
        return response


class HolderInline(admin.TabularInline):
    model = CouponHolder
    extra = 0
    raw_id_fields = ["customer"]
    readonly_fields = ["uses", "emailed_at", "applied_at"]


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
class RedemptionAdmin(ReadOnlyAdmin):
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


@admin.register(IssueRun)
class IssueRunAdmin(admin.ModelAdmin):
    """Progress of issuing to a segment. Runs start from the campaign's "Issue codes" action."""

    list_display = [
        "campaign",
        "segment",
        "mode",
        "status",
        "progress",
        "issued",
        "already_had",
        "total",
        "started_by",
        "started_at",
        "finished_at",
    ]
    list_filter = ["status", "segment"]
    list_select_related = ["campaign", "started_by"]
    raw_id_fields = ["explicit_customers", "started_by"]
    readonly_fields = [
        "campaign",
        "segment",
        "mode",
        "parameter_days",
        "parameter_orders",
        "explicit_customers",
        "status",
        "total",
        "issued",
        "already_had",
        "started_by",
        "started_at",
        "finished_at",
        "error",
    ]
    actions = ["run_again"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # one way to start a run: the campaign's action, through the same service

    @admin.display(description=_("progress"))
    def progress(self, run: IssueRun) -> str:
        done = run.issued + run.already_had
        return f"{done}/{run.total}" if run.total else "-"

    @admin.action(description=_("Run again (issues only what is missing)"))
    def run_again(self, request: HttpRequest, queryset: QuerySet[IssueRun]) -> None:
        for pk in queryset.values_list("pk", flat=True):
            services.issue_run_restart(pk)


@admin.register(CouponMisuse)
class CouponMisuseAdmin(ReadOnlyAdmin):
    """Codes entered by someone other than their owner: signals of sharing or probing."""

    list_display = ["coupon", "customer", "attempted_at"]
    search_fields = ["customer__email", "coupon__code"]
    raw_id_fields = ["coupon", "customer"]


@admin.register(CodeFailures)
class CodeFailuresAdmin(ReadOnlyAdmin):
    list_display = ["customer", "hour", "failures"]
    search_fields = ["customer__email"]
    raw_id_fields = ["customer"]
