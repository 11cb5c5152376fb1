from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import IsSeller
from core.errors import NotFound
from ratings import selectors
from ratings.api import serializers as s
from ratings.constants import BANDS, HALF_LIFE_DAYS, MIN_MATURE_ORDERS, WEIGHTING_VERSION, WINDOW


def rating_body(seller_id: int) -> dict[str, Any]:
    rating = selectors.seller_rating(seller_id)
    metrics = rating.metrics if rating else selectors.seller_rate_metrics(seller_id).as_json()
    is_rated = bool(rating and rating.score is not None)
    return {
        "is_rated": is_rated,
        "score": rating.score if rating else None,
        "band": rating.band if is_rated and rating else None,
        "progress": {
            "mature_orders": rating.mature_orders if rating else 0,
            "needed": MIN_MATURE_ORDERS,
        },
        "scored_orders": rating.scored_orders if rating else 0,
        "weighting": {
            "version": WEIGHTING_VERSION,
            "method": "exponential decay of each order's weight with its age",
            "half_life_days": HALF_LIFE_DAYS,
            "window_days": WINDOW.days,
        },
        "bands": [
            {"band": name, "from": threshold if threshold != float("-inf") else None}
            for name, threshold in BANDS
        ],
        "metrics": metrics,
        "computed_at": rating.computed_at if rating else None,
    }


class MyRatingView(APIView):
    permission_classes = [IsAuthenticated, IsSeller]

    @extend_schema(responses={200: s.RatingOutput}, tags=["seller"])
    def get(self, request: Request) -> Response:
        return Response(s.RatingOutput(rating_body(request.seller.pk)).data)  # type: ignore[attr-defined]


@extend_schema(
    tags=["seller"],
    description="My rating on each day of the last 365 up to today, from the first day it was"
    " computed: a day on which it did not move carries the day before.",
)
class MyRatingHistoryView(ListAPIView):
    permission_classes = [IsAuthenticated, IsSeller]
    serializer_class = s.HistoryOutput
    filter_backends: list[Any] = []
    pagination_class = None

    def get_queryset(self) -> Any:
        return selectors.seller_history(self.request.seller.pk)  # type: ignore[attr-defined]


def _score_row(score: Any) -> dict[str, Any]:
    return {
        "order_id": score.order_id,
        "placed_at": score.placed_at,
        "score": score.score,
        "is_mature": score.is_mature,
        "is_perfect": score.is_perfect,
        "counted_problem": score.counted_problem,
        "trace": score.trace,
    }


@extend_schema(
    tags=["seller"], description="My scored orders, those that cost the most points first."
)
class MyOrderScoresView(ListAPIView):
    permission_classes = [IsAuthenticated, IsSeller]
    serializer_class = s.OrderScoreOutput
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        return selectors.seller_order_scores(self.request.seller.pk)  # type: ignore[attr-defined]

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            s.OrderScoreOutput([_score_row(row) for row in page or []], many=True).data
        )


class MyOrderScoreView(APIView):
    permission_classes = [IsAuthenticated, IsSeller]

    @extend_schema(responses={200: s.OrderScoreOutput}, tags=["seller"])
    def get(self, request: Request, order_id: int) -> Response:
        score = selectors.seller_order_score(request.seller.pk, order_id)  # type: ignore[attr-defined]
        if score is None:
            raise NotFound(code="order_not_found")
        return Response(s.OrderScoreOutput(_score_row(score)).data)


class PublicRatingView(APIView):
    """Public on purpose, but only when RATINGS_VISIBLE_TO_SHOPPERS is on (off by default)."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: s.PublicRatingOutput}, tags=["catalogue"])
    def get(self, request: Request, seller_id: int) -> Response:
        if not settings.RATINGS_VISIBLE_TO_SHOPPERS:
            raise NotFound(code="not_found")
        rating = selectors.seller_rating(seller_id)
        is_rated = bool(rating and rating.score is not None)
        return Response(
            s.PublicRatingOutput(
                {
                    "seller_id": seller_id,
                    "is_rated": is_rated,
                    "band": rating.band if is_rated and rating else None,
                }
            ).data
        )
