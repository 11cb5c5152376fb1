"""The seller rating page: band, history chart, metrics against targets, costliest orders."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.access import seller_required
from ratings import selectors
from ratings.constants import HALF_LIFE_DAYS, MIN_MATURE_ORDERS, WEIGHTING_VERSION

WORST_ORDERS = 10


@seller_required
def rating_page(request: HttpRequest) -> HttpResponse:
    seller = request.seller  # type: ignore[attr-defined]
    rating = selectors.seller_rating(seller.pk)
    history = list(selectors.seller_history(seller.pk))
    context = {
        "rating": rating,
        "is_rated": bool(rating and rating.score is not None),
        "needed": MIN_MATURE_ORDERS,
        "weighting_version": WEIGHTING_VERSION,
        "half_life": int(HALF_LIFE_DAYS),
        "metrics": (
            rating.metrics if rating else selectors.seller_rate_metrics(seller.pk).as_json()
        ),
        "worst": list(
            selectors.seller_order_scores(seller.pk).filter(score__lt=100)[:WORST_ORDERS]
        ),
        "history_chart": {
            "labels": [row.day.isoformat() for row in history],
            "values": [row.score for row in history],
            "suggestedMax": 110,
        },
    }
    return render(request, "dashboard/rating/page.html", context)
