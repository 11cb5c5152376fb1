"""Account health for the seller: score and band, history, fix-first list, ledger, appeal."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from account_health import selectors, services
from core.errors import DomainError
from dashboard.access import seller_required

LEDGER_ROWS = 30


@seller_required
def health_page(request: HttpRequest) -> HttpResponse:
    seller_id = request.seller.pk  # type: ignore[attr-defined]
    history = selectors.history(seller_id)
    context = {
        **selectors.health(seller_id),
        "fix_first": selectors.fix_first(seller_id),
        "ledger": list(selectors.ledger(seller_id)[:LEDGER_ROWS]),
        "deactivation": selectors.current_deactivation(seller_id),
        "history_chart": {
            "labels": [row["at"].strftime("%Y-%m-%d %H:%M") for row in history],
            "values": [row["score"] for row in history],
        },
    }
    return render(request, "dashboard/health/page.html", context)


@seller_required
@require_POST
def violation_fixed(request: HttpRequest, violation_id: int) -> HttpResponse:
    try:
        services.violation_mark_fixed(
            request.seller,
            violation_id=violation_id,
            statement=request.POST.get("statement", ""),  # type: ignore[attr-defined]
        )
        messages.success(request, _("Thank you: your statement was recorded."))
    except DomainError as error:
        messages.error(request, error.detail)
    return redirect("dashboard:health")


@seller_required
@require_POST
def appeal(request: HttpRequest) -> HttpResponse:
    try:
        services.appeal_submit(
            request.seller,  # type: ignore[attr-defined]
            root_cause=request.POST.get("root_cause", ""),
            corrective_actions=request.POST.get("corrective_actions", ""),
            preventive_measures=request.POST.get("preventive_measures", ""),
        )
        messages.success(request, _("Your appeal was submitted; a member of staff will decide."))
    except DomainError as error:
        messages.error(request, error.detail)
    return redirect("dashboard:health")
