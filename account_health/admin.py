from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from account_health import services
from account_health.choices import ViolationStatus
from account_health.models import Appeal, Deactivation, HealthScore, LedgerEntry, Policy, Violation
from core.errors import DomainError


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "default_severity", "resolution"]
    list_filter = ["default_severity", "resolution"]
    search_fields = ["code", "name"]


@admin.register(Violation)
class ViolationAdmin(admin.ModelAdmin):
    list_display = [
        "seller",
        "policy",
        "severity",
        "affected_orders",
        "is_repeat",
        "points",
        "status",
        "source",
        "opened_at",
    ]
    list_filter = ["status", "severity", "source", "policy"]
    search_fields = ["seller__display_name", "facts"]
    raw_id_fields = ["seller"]
    readonly_fields = [
        "is_repeat",
        "points",
        "status",
        "source",
        "seller_statement",
        "opened_at",
        "resolved_at",
    ]
    actions = ["resolve"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["seller", "policy", "severity", "affected_orders", "facts", *self.readonly_fields]

    def save_model(self, request: HttpRequest, obj: Violation, form: Any, change: bool) -> None:
        if change:
            return  # facts of a violation are not edited; resolve it and open a new one
        created = services.violation_open(
            obj.seller,
            policy_code=obj.policy.code,
            facts=obj.facts,
            affected_orders=obj.affected_orders,
            severity=obj.severity or None,
        )
        obj.pk = created.pk

    @admin.action(description=_("Resolve (approve the fix)"))
    def resolve(self, request: HttpRequest, queryset: QuerySet[Violation]) -> None:
        for violation in queryset.exclude(status=ViolationStatus.RESOLVED):
            services.violation_resolve(violation.pk, actor=request.user)  # type: ignore[arg-type]


@admin.register(HealthScore)
class HealthScoreAdmin(admin.ModelAdmin):
    list_display = ["seller", "score", "band", "base", "penalty", "clean_orders", "updated_at"]
    search_fields = ["seller__display_name"]
    readonly_fields = ["seller", "base", "penalty", "clean_orders", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("score"))
    def score(self, row: HealthScore) -> int:
        return services.displayed(row)

    @admin.display(description=_("band"))
    def band(self, row: HealthScore) -> str:
        return services.band_of(services.displayed(row))


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = ["seller", "cause", "rule", "delta", "score_after", "created_at"]
    list_filter = ["cause"]
    search_fields = ["seller__display_name", "rule"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Deactivation)
class DeactivationAdmin(admin.ModelAdmin):
    """Adding one here deactivates a Critical seller (or starts the grace window)."""

    list_display = ["seller", "status", "is_automated", "requested_at", "effective_at"]
    list_filter = ["status", "is_automated"]
    search_fields = ["seller__display_name", "statement"]
    raw_id_fields = ["seller"]
    filter_horizontal = ["policies"]
    fields = [
        "seller",
        "statement",
        "facts",
        "policies",
        "is_automated",
        "status",
        "requested_at",
        "effective_at",
    ]
    readonly_fields = ["status", "requested_at", "effective_at"]
    actions = ["withdraw"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A deactivation is never edited, only listed and withdrawn; both need the permission.
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Deactivation, form: Any, change: bool) -> None:
        try:
            created = services.deactivation_request(
                obj.seller,
                statement=obj.statement,
                facts=obj.facts,
                policy_codes=[policy.code for policy in form.cleaned_data["policies"]],
                is_automated=obj.is_automated,
                actor=request.user,  # type: ignore[arg-type]
            )
        except DomainError as error:
            self.message_user(request, error.detail, messages.ERROR)
            return
        obj.pk = created.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return  # the service stored the policies

    @admin.action(description=_("Withdraw during the grace window"))
    def withdraw(self, request: HttpRequest, queryset: QuerySet[Deactivation]) -> None:
        for deactivation in queryset:
            services.deactivation_withdraw(deactivation.pk, actor=request.user)  # type: ignore[arg-type]


@admin.register(Appeal)
class AppealAdmin(admin.ModelAdmin):
    """The appeals queue: read the plan of action, then approve or deny with reasons."""

    list_display = ["seller", "status", "submitted_at", "decided_by", "decided_at"]
    list_filter = ["status"]
    search_fields = ["seller__display_name"]
    readonly_fields = [
        "deactivation",
        "seller",
        "root_cause",
        "corrective_actions",
        "preventive_measures",
        "status",
        "decided_by",
        "submitted_at",
        "decided_at",
    ]
    fields = [*readonly_fields, "decision_reason"]
    actions = ["approve", "deny"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def _decide(self, request: HttpRequest, queryset: QuerySet[Appeal], approve: bool) -> None:
        for appeal in queryset:
            try:
                services.appeal_decide(
                    appeal.pk,
                    approve=approve,
                    actor=request.user,  # type: ignore[arg-type]
                    reason=appeal.decision_reason or ("approved in admin" if approve else ""),
                )
            except DomainError as error:
                self.message_user(
                    request, f"{appeal}: {error.detail} (write the reasons first)", messages.ERROR
                )

    @admin.action(description=_("Approve: resolve the violations and reinstate"))
    def approve(self, request: HttpRequest, queryset: QuerySet[Appeal]) -> None:
        self._decide(request, queryset, True)

    @admin.action(description=_("Deny"))
    def deny(self, request: HttpRequest, queryset: QuerySet[Appeal]) -> None:
        self._decide(request, queryset, False)
