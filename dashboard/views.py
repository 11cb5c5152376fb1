"""The dashboard shell: sign-in and the overview page."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from core import clock
from dashboard.access import seller_required
from dashboard.constants import CHART_DAYS
from dashboard.forms import SellerLoginForm
from dashboard.orders import selectors


class LoginView(auth_views.LoginView):
    template_name = "dashboard/login.html"
    authentication_form = SellerLoginForm
    redirect_authenticated_user = True


@seller_required
def home(request: HttpRequest) -> HttpResponse:
    seller = request.seller  # type: ignore[attr-defined]
    now = clock.now()
    per_day = selectors.orders_per_day(seller, now=now, days=CHART_DAYS)
    context = {
        "counts": selectors.order_counts(seller, today=timezone.localdate(now)),
        "chart_days": CHART_DAYS,
        "orders_chart": {
            "labels": [day.isoformat() for day, _count in per_day],
            "values": [count for _day, count in per_day],
        },
    }
    return render(request, "dashboard/home.html", context)
