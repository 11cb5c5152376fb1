from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from ratings.models import OrderScore, RatingHistory, SellerRating


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SellerRating)
class SellerRatingAdmin(ReadOnly):
    list_display = ["seller", "score", "band", "mature_orders", "scored_orders", "computed_at"]
    list_filter = ["band"]
    search_fields = ["seller__display_name"]


@admin.register(OrderScore)
class OrderScoreAdmin(ReadOnly):
    list_display = [
        "order",
        "seller",
        "score",
        "counted_problem",
        "is_perfect",
        "is_mature",
        "placed_at",
    ]
    list_filter = ["counted_problem", "is_perfect", "is_mature"]
    search_fields = ["order__id", "seller__display_name"]
    raw_id_fields = ["order", "seller"]


@admin.register(RatingHistory)
class RatingHistoryAdmin(ReadOnly):
    list_display = ["seller", "day", "score", "band"]
    search_fields = ["seller__display_name"]
