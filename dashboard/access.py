"""Who may use the dashboard: signed-in users who own a seller account."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from fulfillment.selectors import open_incident_count_expression
from marketplace.models import Seller

View = Callable[..., HttpResponse]


def seller_required(view: View) -> View:
    """Anonymous → login page; signed in without a seller account → a clear 403 page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        # The open incident count for the banner on every page comes with the seller row.
        seller = (
            Seller.objects.filter(owner=request.user)
            .annotate(open_incidents=Coalesce(open_incident_count_expression(), 0))
            .first()
        )
        if seller is None:
            return render(request, "dashboard/not_a_seller.html", status=403)
        request.seller = seller  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper
