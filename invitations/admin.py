"""Staff tools for drops: create, dry run of the screening, draw now, verify, figures, appeals.

Every action calls a service, so admin, tasks and API behave the same.
"""

from __future__ import annotations

import json
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin
from core.errors import DomainError
from invitations import selectors, services
from invitations.choices import AppealStatus
from invitations.models import Draw, Drop, Invitation, InvitationRequest
from marketplace.models import User


def _actor(request: HttpRequest) -> User:
    """Admin views run for signed-in staff only."""
    return cast(User, request.user)


class DropForm(forms.ModelForm):
    class Meta:
        model = Drop
        fields = [
            "offer",
            "units",
            "request_opens_at",
            "request_closes_at",
            "eligible_countries",
            "purchase_window_hours",
            "limit_per_customer",
        ]
        help_texts = {
            "eligible_countries": _('ISO country codes as a JSON list, e.g. ["DE", "AT"].'),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        offer, units = data.get("offer"), data.get("units")
        if self.instance.pk is None and offer is not None and units and offer.stock < units:
            raise forms.ValidationError(
                _("The offer has %(stock)d in stock, fewer than the drop's units."),
                params={"stock": offer.stock},
            )
        countries = data.get("eligible_countries")
        if not isinstance(countries, list) or not countries:
            self.add_error("eligible_countries", _("Name at least one country."))
        return data


@admin.register(Drop)
class DropAdmin(admin.ModelAdmin):
    form = DropForm
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
    actions = ["dry_run", "draw_now", "verify", "redraw_freed_units"]

    def get_readonly_fields(self, request: HttpRequest, obj: Drop | None = None) -> Any:
        shown = ["status", "seed_hash", "held_units", "figures", "draws_summary"]
        if obj is not None and obj.pk:
            # Once announced, what the seed and the requests were bound to does not change.
            return [*shown, "offer", "units", "limit_per_customer", "request_opens_at"]
        return shown

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
            limit_per_customer=obj.limit_per_customer,
        )
        obj.pk = created.pk
        obj.seed_hash = created.seed_hash

    @admin.display(description=_("figures"))
    def figures(self, drop: Drop) -> Any:
        if not drop.pk:
            return "-"
        return format_html_join(
            "", "<div>{}: {}</div>", sorted(selectors.drop_figures(drop).items())
        )

    @admin.display(description=_("draws"))
    def draws_summary(self, drop: Drop) -> Any:
        if not drop.pk:
            return "-"
        return format_html_join(
            "",
            "<div>round {}: {} units, {} eligible, {} winners, {}</div>",
            (
                (
                    d.round,
                    d.units,
                    len(d.eligible_request_ids),
                    len(d.winner_request_ids),
                    d.drawn_at,
                )
                for d in drop.draws.order_by("round")
            ),
        )

    @admin.action(description=_("Dry run of the screening rules (writes nothing)"))
    def dry_run(self, request: HttpRequest, queryset: QuerySet[Drop]) -> None:
        for drop in queryset:
            result = services.screening_batch(drop, dry_run=True)
            self.message_user(
                request,
                format_html(
                    "{}",
                    _(
                        "%(drop)s: %(requests)d requests, %(out)d would be screened out "
                        "(%(new)d newly, %(back)d readmitted). Per rule (count, sample request "
                        "ids): %(rules)s"
                    )
                    % {
                        "drop": drop,
                        "requests": result["requests"],
                        "out": result["screened_out"],
                        "new": result["newly_screened_out"],
                        "back": result["readmitted"],
                        "rules": json.dumps(result["by_rule"]),
                    },
                ),
            )

    @admin.action(description=_("Close the request window and draw now"))
    def draw_now(self, request: HttpRequest, queryset: QuerySet[Drop]) -> None:
        for drop in queryset:
            try:
                draw = services.drop_draw_now(drop.pk)
            except DomainError as error:
                self.message_user(request, f"{drop}: {error.detail}", messages.ERROR)
                continue
            self.message_user(
                request,
                _("%(drop)s: round %(round)d, %(winners)d winners")
                % {"drop": drop, "round": draw.round, "winners": len(draw.winner_request_ids)},
            )

    @admin.action(description=_("Verify the draws from their seed"))
    def verify(self, request: HttpRequest, queryset: QuerySet[Drop]) -> None:
        for drop in queryset:
            for draw in drop.draws.order_by("round"):
                matches, _again, _stored = services.draw_verify(drop.pk, draw.round)
                self.message_user(
                    request,
                    (_("%(draw)s: OK") if matches else _("%(draw)s: MISMATCH")) % {"draw": draw},
                    messages.INFO if matches else messages.ERROR,
                )

    @admin.action(description=_("Draw again for freed units now"))
    def redraw_freed_units(self, request: HttpRequest, queryset: QuerySet[Drop]) -> None:
        draws = services.drops_redraw()
        self.message_user(request, _("%(count)d further rounds drawn") % {"count": len(draws)})


@admin.register(InvitationRequest)
class InvitationRequestAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "drop",
        "customer",
        "state",
        "screened_category",
        "score",
        "is_automated_verdict",
        "appeal_status",
        "network",
        "created_at",
    ]
    list_filter = [
        "state",
        "appeal_status",
        "screened_category",
        "is_automated_verdict",
        "drop",
    ]
    search_fields = ["customer__email", "network", "device_id", "address_key"]
    raw_id_fields = ["drop", "customer", "address"]
    readonly_fields = [
        "drop",
        "customer",
        "address",
        "address_key",
        "ip_address",
        "network",
        "device_id",
        "user_agent",
        "created_at",
        "verdict",
        "state",
        "screened_category",
        "is_automated_verdict",
        "appeal_text",
        "appeal_status",
        "appealed_at",
        "notified_at",
    ]
    actions = ["admit_appeal", "reject_appeal", "admit", "screen_out"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("score"))
    def score(self, row: InvitationRequest) -> Any:
        return (row.verdict or {}).get("score")

    @admin.action(description=_("Appeal: admit (takes part in the next draw)"))
    def admit_appeal(self, request: HttpRequest, queryset: QuerySet[InvitationRequest]) -> None:
        self._decide(request, queryset, admit=True)

    @admin.action(description=_("Appeal: reject"))
    def reject_appeal(self, request: HttpRequest, queryset: QuerySet[InvitationRequest]) -> None:
        self._decide(request, queryset, admit=False)

    def _decide(
        self, request: HttpRequest, queryset: QuerySet[InvitationRequest], *, admit: bool
    ) -> None:
        decided = 0
        for row in queryset.filter(appeal_status=AppealStatus.PENDING):
            services.appeal_decide(
                row.pk,
                admit=admit,
                actor=_actor(request),
                reason="appeal decided in admin",
            )
            decided += 1
        self.message_user(request, _("%(count)d appeals decided") % {"count": decided})

    @admin.action(description=_("Override: admit (the rules will not screen it out again)"))
    def admit(self, request: HttpRequest, queryset: QuerySet[InvitationRequest]) -> None:
        for row in queryset:
            services.verdict_override(
                row.pk,
                screened_out=False,
                actor=_actor(request),
                reason="admitted in admin",
            )

    @admin.action(description=_("Override: screen out"))
    def screen_out(self, request: HttpRequest, queryset: QuerySet[InvitationRequest]) -> None:
        for row in queryset:
            services.verdict_override(
                row.pk,
                screened_out=True,
                actor=_actor(request),
                reason="screened out in admin",
            )


@admin.register(Draw)
class DrawAdmin(ReadOnlyAdmin):
    list_display = ["drop", "round", "units", "algorithm", "drawn_at"]
    list_filter = ["round"]
    raw_id_fields = ["drop"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["pk", "drop", "customer", "round", "quantity", "status", "expires_at", "order"]
    list_filter = ["status", "round"]
    search_fields = ["customer__email"]
    raw_id_fields = ["request", "drop", "customer", "order"]
