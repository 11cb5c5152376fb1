"""Reads of the dashboard's order pages, always scoped to one seller.

The shared order reads (marketplace.selectors) prefetch lines and messages for the API and the
order page; the dashboard's list and overview need neither, so they get narrower queries here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from marketplace.choices import OrderStatus
from marketplace.models import BuyerMessage, Order, Seller

LIST_FIELDS = (
    "id",
    "placed_at",
    "ship_by",
    "ship_name",
    "ship_city",
    "ship_country",
    "status",
    "total",
    "currency",
)


@dataclass(frozen=True)
class OrderCounts:
    to_ship: int
    overdue: int
    open_messages: int


def order_list(
    seller: Seller,
    *,
    today: date,
    status: str | None = None,
    is_overdue: bool = False,
    is_awaiting_reply: bool = False,
) -> QuerySet[Order]:
    """One page's worth of columns, with the number of buyer messages still waiting for a reply."""
    orders = (
        Order.objects.filter(seller=seller)
        .only(*LIST_FIELDS)
        .annotate(open_messages=Count("messages", filter=Q(messages__replied_at__isnull=True)))
    )
    if status:
        orders = orders.filter(status=status)
    if is_overdue:
        orders = orders.filter(status=OrderStatus.PLACED, ship_by__lt=today)
    if is_awaiting_reply:
        orders = orders.filter(open_messages__gt=0)
    return orders.order_by("-placed_at", "-pk")


def order_counts(seller: Seller, *, today: date) -> OrderCounts:
    """The overview's three numbers in two statements (orders, then messages)."""
    placed = Q(status=OrderStatus.PLACED)
    counts = Order.objects.filter(seller=seller).aggregate(
        to_ship=Count("pk", filter=placed),
        overdue=Count("pk", filter=placed & Q(ship_by__lt=today)),
    )
    open_messages = BuyerMessage.objects.filter(
        order__seller=seller, replied_at__isnull=True
    ).count()
    return OrderCounts(
        to_ship=counts["to_ship"], overdue=counts["overdue"], open_messages=open_messages
    )


def orders_per_day(seller: Seller, *, now: datetime, days: int) -> list[tuple[date, int]]:
    """Orders placed on each of the last ``days`` days (today included), zero days too.

    Days are calendar days of the active time zone (UTC unless a view activates another), the same
    one TruncDate groups by.
    """
    first = timezone.localdate(now) - timedelta(days=days - 1)
    counted = dict(
        Order.objects.filter(seller=seller, placed_at__date__gte=first)
        .annotate(day=TruncDate("placed_at"))
        .values("day")
        .annotate(count=Count("pk"))
        .values_list("day", "count")
    )
    return [
        (first + timedelta(days=offset), counted.get(first + timedelta(days=offset), 0))
        for offset in range(days)
    ]
