"""Reads of fulfillment for the API, the seller dashboard and staff, each scoped by its owner."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery

from fulfillment.choices import IncidentStatus
from fulfillment.models import CoverageReport, Incident, ShippingTemplate
from marketplace.models import Offer, Seller


def offer_for_decision(offer_id: int) -> Offer | None:
    """Any offer (offers are public), with what the decision reads."""
    return Offer.objects.select_related("seller", "product__category").filter(pk=offer_id).first()


def seller_templates(seller: Seller) -> QuerySet[ShippingTemplate]:
    return (
        ShippingTemplate.objects.filter(seller=seller)
        .prefetch_related("rules", "offers")
        .order_by("pk")
    )


def seller_template(seller: Seller, template_id: int) -> ShippingTemplate | None:
    return seller_templates(seller).filter(pk=template_id).first()


def seller_incidents(seller: Seller) -> QuerySet[Incident]:
    """The seller's unresolved incidents: the dashboard's alert."""
    return (
        Incident.objects.filter(seller=seller)
        .exclude(status=IncidentStatus.RESOLVED)
        .select_related("offer__product")
        .order_by("-opened_at", "-pk")
    )


def open_incident_count_expression() -> Subquery:
    """The open incident count of a seller row, to annotate it in the statement that loads it."""
    return Subquery(
        Incident.objects.filter(seller_id=OuterRef("pk"))
        .exclude(status=IncidentStatus.RESOLVED)
        .order_by()
        .values("seller_id")
        .annotate(count=Count("pk"))
        .values("count")[:1]
    )


def seller_open_incident_count(seller_id: int) -> int:
    """For a badge or banner on every dashboard page: one indexed count."""
    return (
        Incident.objects.filter(seller_id=seller_id).exclude(status=IncidentStatus.RESOLVED).count()
    )


def seller_coverage(seller: Seller) -> list[dict[str, Any]]:
    """The latest coverage report of each of the seller's offers and countries."""
    latest = (
        CoverageReport.objects.filter(offer__seller=seller)
        .select_related("offer__product")
        .order_by("offer_id", "country", "-created_at", "-pk")
        .distinct("offer_id", "country")
    )
    rows: dict[int, dict[str, Any]] = {}
    for report in latest:
        row = rows.setdefault(
            report.offer_id,
            {"offer": report.offer, "countries": [], "checked_at": report.created_at},
        )
        row["countries"].append(report)
        row["checked_at"] = max(row["checked_at"], report.created_at)
    return list(rows.values())
