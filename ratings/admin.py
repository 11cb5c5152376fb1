from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from ratings.models import OrderScore, RatingHistory, SellerRating


@admin.register(SellerRating)
class SellerRatingAdmin(ReadOnlyAdmin):
    list_display = ["seller", "score", "band", "mature_orders", "scored_orders", "computed_at"]
    list_filter = ["band"]
    search_fields = ["seller__display_name"]


@admin.register(OrderScore)
class OrderScoreAdmin(ReadOnlyAdmin):
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
class RatingHistoryAdmin(ReadOnlyAdmin):
    list_display = ["seller", "day", "score", "band"]
    search_fields = ["seller__display_name"]
