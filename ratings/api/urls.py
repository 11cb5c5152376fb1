from django.urls import path

from ratings.api import views

urlpatterns = [
    path("seller/rating/", views.MyRatingView.as_view(), name="api-seller-rating"),
    path(
        "seller/rating/history/",
        views.MyRatingHistoryView.as_view(),
        name="api-seller-rating-history",
    ),
    path(
        "seller/rating/orders/", views.MyOrderScoresView.as_view(), name="api-seller-order-scores"
    ),
    path(
        "seller/rating/orders/<int:order_id>/",
        views.MyOrderScoreView.as_view(),
        name="api-seller-order-score",
    ),
    path(
        "sellers/<int:seller_id>/rating/",
        views.PublicRatingView.as_view(),
        name="api-public-rating",
    ),
]
