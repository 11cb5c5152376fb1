"""The dashboard shell: sign-in and the overview page."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import views as auth_views
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core import clock
from dashboard.access import seller_required
from marketplace.choices import OrderStatus
from marketplace.models import BuyerMessage, Order

CHART_DAYS = 30  # the overview shows one month of orders


class LoginView(auth_views.LoginView):
    template_name = "dashboard/login.html"
    redirect_authenticated_user = True


@seller_required
def home(request: HttpRequest) -> HttpResponse:
    seller = request.seller  # type: ignore[attr-defined]
    now = clock.now()
    orders = Order.objects.filter(seller=seller)
    since = (now - timedelta(days=CHART_DAYS - 1)).date()
    per_day = dict(
        orders.filter(placed_at__date__gte=since)
        .annotate(day=TruncDate("placed_at"))
        .values_list("day")
        .annotate(count=Count("id"))
        .values_list("day", "count")
    )
    days = [since + timedelta(days=offset) for offset in range(CHART_DAYS)]
    chart = {
        "labels": [day.isoformat() for day in days],
        "values": [per_day.get(day, 0) for day in days],
    }
    context = {
        "to_ship": orders.filter(status=OrderStatus.PLACED).count(),
        "overdue": orders.filter(status=OrderStatus.PLACED, ship_by__lt=now.date()).count(),
        "open_messages": BuyerMessage.objects.filter(
            order__seller=seller, replied_at__isnull=True
        ).count(),
        "orders_chart": chart,
    }
    return render(request, "dashboard/home.html", context)
