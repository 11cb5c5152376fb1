"""Reads of fulfillment for the seller dashboard and staff."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from fulfillment.choices import IncidentStatus
from fulfillment.models import CoverageReport, Incident
from marketplace.models import Seller


def seller_incidents(seller: Seller) -> QuerySet[Incident]:
    return (
        Incident.objects.filter(seller=seller)
        .exclude(status=IncidentStatus.RESOLVED)
        .select_related("offer__product")
        .order_by("-opened_at")
    )


def seller_coverage(seller: Seller) -> list[dict[str, Any]]:
    """The latest coverage report of each of the seller's offers and countries."""
    latest = (
        CoverageReport.objects.filter(offer__seller=seller)
        .select_related("offer__product")
        .order_by("offer_id", "country", "-created_at")
        .distinct("offer_id", "country")
    )
    rows: dict[int, dict[str, Any]] = {}
    for report in latest:
        row = rows.setdefault(
            report.offer_id,
            {"offer": report.offer, "countries": [], "checked_at": report.created_at},
        )
        row["countries"].append(report)
    return list(rows.values())
