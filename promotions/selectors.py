"""Reads of promotions: segments, the wallet, campaign statistics."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Q, QuerySet, Sum

from marketplace.choices import OrderStatus
from marketplace.models import User
from promotions.choices import Segment
from promotions.constants import (
    INACTIVE_MIN_DAYS,
    LOYAL_MIN_DELIVERED_ORDERS,
    NEW_CUSTOMER_MAX_AGE_DAYS,
)
from promotions.models import Campaign, CouponHolder, IssueRun

LOYALTY_WINDOW = timedelta(days=365)


def segment_customers(run: IssueRun, *, now: datetime) -> QuerySet[User]:
    """The customers of a run's segment, evaluated now (at issue time), ordered by id."""
    customers = User.objects.filter(is_active=True, is_staff=False)
    if run.segment == Segment.NEW:
        days = run.parameter_days or NEW_CUSTOMER_MAX_AGE_DAYS
        customers = customers.filter(date_joined__gte=now - timedelta(days=days)).exclude(
            orders__isnull=False
        )
    elif run.segment == Segment.LOYAL:
        minimum = run.parameter_orders or LOYAL_MIN_DELIVERED_ORDERS
        customers = customers.annotate(
            delivered=Count(
                "orders",
                filter=Q(
                    orders__status=OrderStatus.DELIVERED,
                    orders__delivered_at__gte=now - LOYALTY_WINDOW,
                ),
            )
        ).filter(delivered__gte=minimum)
    elif run.segment == Segment.INACTIVE:
        days = run.parameter_days or INACTIVE_MIN_DAYS
        customers = customers.annotate(last_order=Max("orders__placed_at")).filter(
            last_order__lte=now - timedelta(days=days)
        )
    else:
        customers = customers.filter(pk__in=run.explicit_customers.values("pk"))
    return customers.order_by("pk")


def wallet(customer: User) -> QuerySet[CouponHolder]:
    return (
        CouponHolder.objects.filter(customer=customer)
        .select_related("coupon", "coupon__campaign")
        .order_by("-coupon__created_at", "-pk")
    )


def campaign_statistics(campaign_ids: list[int] | None = None) -> dict[int, dict[str, Any]]:
    """Issued codes, redemptions, discount spent and revenue per campaign."""
    campaigns = Campaign.objects.all()
    if campaign_ids is not None:
        campaigns = campaigns.filter(pk__in=campaign_ids)
    rows = campaigns.annotate(
        issued=Count("coupons__holders", distinct=True),
        emailed=Count(
            "coupons__holders", filter=Q(coupons__holders__emailed_at__isnull=False), distinct=True
        ),
        applied=Count(
            "coupons__holders", filter=Q(coupons__holders__applied_at__isnull=False), distinct=True
        ),
        redeemed=Count(
            "coupons__redemptions__checkout_reference",
            filter=Q(coupons__redemptions__reversed_at__isnull=True),
            distinct=True,
        ),
    ).values("pk", "issued", "emailed", "applied", "redeemed")
    money = (
        Campaign.objects.filter(pk__in=[row["pk"] for row in rows])
        .annotate(
            spent=Sum(
                "coupons__redemptions__discount",
                filter=Q(coupons__redemptions__reversed_at__isnull=True),
            ),
            revenue=Sum(
                "coupons__redemptions__order_total",
                filter=Q(coupons__redemptions__reversed_at__isnull=True),
            ),
        )
        .values("pk", "spent", "revenue")
    )
    by_id = {row["pk"]: dict(row) for row in rows}
    for row in by_id.values():
        row["redemption_rate"] = (
            round(row["redeemed"] / row["issued"], 4) if row["issued"] else None
        )
    for row in money:
        by_id[row["pk"]]["spent"] = row["spent"] or Decimal(0)
        by_id[row["pk"]]["revenue"] = row["revenue"] or Decimal(0)
    return by_id
