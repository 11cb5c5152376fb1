"""Reads of account health for the seller API, the dashboard and staff."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from account_health.choices import ViolationStatus
from account_health.constants import START_SCORE
from account_health.models import Deactivation, HealthScore, LedgerEntry, Violation
from account_health.services import band_of, displayed


def health(seller_id: int) -> dict[str, Any]:
    score = HealthScore.objects.filter(seller_id=seller_id).first()
    value = displayed(score) if score else START_SCORE
    band = band_of(value)
    return {
        "score": value,
        "band": band,
        "colour": {"healthy": "green", "at_risk": "yellow", "critical": "red"}[band],
    }


def fix_first(seller_id: int) -> list[Violation]:
    """Open violations, the ones that give the most points back first."""
    return list(
        Violation.objects.filter(seller_id=seller_id)
        .exclude(status=ViolationStatus.RESOLVED)
        .select_related("policy")
        .order_by("-points", "opened_at")
    )


def ledger(seller_id: int) -> QuerySet[LedgerEntry]:
    return (
        LedgerEntry.objects.filter(seller_id=seller_id)
        .select_related("violation__policy")
        .order_by("-created_at", "-pk")
    )


def history(seller_id: int) -> list[dict[str, Any]]:
    """The score after each change, oldest first, for charts."""
    rows = (
        LedgerEntry.objects.filter(seller_id=seller_id)
        .order_by("created_at", "pk")
        .values_list("created_at", "score_after")
    )
    return [{"at": at, "score": score} for at, score in rows]


def current_deactivation(seller_id: int) -> Deactivation | None:
    return (
        Deactivation.objects.filter(seller_id=seller_id)
        .exclude(status__in=["withdrawn"])
        .prefetch_related("policies", "appeals")
        .order_by("-requested_at")
        .first()
    )
