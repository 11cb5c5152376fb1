from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from invitations import selectors, services
from invitations.models import Draw, Drop, Invitation, InvitationRequest


@admin.register(Drop)
class DropAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "offer",
        "units",
        "status",
        "request_opens_at",
        "request_closes_at",
        "held_units",
    ]
    list_filter = ["status"]
    raw_id_fields = ["offer"]
    readonly_fields = ["status", "seed_hash", "held_units", "figures"]
    exclude = ["seed"]
    actions = ["dry_run", "draw_now", "verify"]

    def save_model(self, request: HttpRequest, obj: Drop, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = services.drop_create(
            offer=obj.offer,
            units=obj.units,
            opens_at=obj.request_opens_at,
            closes_at=obj.request_closes_at,
            eligible_countries=obj.eligible_countries,
            purchase_window_hours=obj.purchase_window_hours,
        )
        obj.pk = created.pk

    @admin.display(description=_("figures"))
    def figures(self, drop: Drop) -> Any:
        return selectors.drop_figures(drop) if drop.pk else "-"

    @admin.action(description=_("Dry run of the screening rules"))
    def dry_run(self, request: HttpRequest, queryset: QuerySet[Drop]) -> None:
        for drop in queryset:
            self.message_user(request, f"{drop}: {services.screening_batch(drop, dry_run=True)}")

    @admin.action(description=_("Draw now"))
    def draw_now(self, request: HttpRequest, queryset: QuerySet[Drop]) -> None:
        for drop in queryset:
            draw = services.draw_run(drop.pk)
            self.message_user(request, f"{drop}: {len(draw.winner_request_ids)} winners")

    @admin.action(description=_("Verify the draws"))
    def verify(self, request: HttpRequest, queryset: QuerySet[Drop]) -> None:
        for drop in queryset:
            for draw in drop.draws.all():
                ok, _again, _stored = services.draw_verify(drop.pk, draw.round)
                self.message_user(
                    request,
                    f"{draw}: {'OK' if ok else 'MISMATCH'}",
                    messages.INFO if ok else messages.ERROR,
                )


@admin.register(InvitationRequest)
class InvitationRequestAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "drop",
        "customer",
        "state",
        "screened_category",
        "is_automated_verdict",
        "network",
        "created_at",
    ]
    list_filter = [
        "state",
        "screened_category",
        "is_automated_verdict",
        ("appeal_text", admin.EmptyFieldListFilter),
    ]
    search_fields = ["customer__email", "network", "device_id"]
    raw_id_fields = ["drop", "customer", "address"]
    readonly_fields = ["verdict", "state", "screened_category", "is_automated_verdict"]
    actions = ["admit", "screen_out"]

    @admin.action(description=_("Admit (override the screening; appeals)"))
    def admit(self, request: HttpRequest, queryset: QuerySet[InvitationRequest]) -> None:
        for row in queryset:
            services.verdict_override(
                row.pk, screened_out=False, actor=request.user, reason="admitted in admin"
            )  # type: ignore[arg-type]

    @admin.action(description=_("Screen out"))
    def screen_out(self, request: HttpRequest, queryset: QuerySet[InvitationRequest]) -> None:
        for row in queryset:
            services.verdict_override(
                row.pk, screened_out=True, actor=request.user, reason="screened out in admin"
            )  # type: ignore[arg-type]


@admin.register(Draw)
class DrawAdmin(admin.ModelAdmin):
    list_display = ["drop", "round", "units", "drawn_at"]
    readonly_fields = [
        "drop",
        "round",
        "units",
        "eligible_request_ids",
        "winner_request_ids",
        "drawn_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["pk", "drop", "customer", "round", "status", "expires_at", "order"]
    list_filter = ["status", "round"]
    search_fields = ["customer__email"]
    raw_id_fields = ["request", "drop", "customer", "order"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
