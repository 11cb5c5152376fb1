from django.urls import path

from promotions.api import views

urlpatterns = [
    path("coupons/validate/", views.ValidateView.as_view(), name="api-coupon-validate"),
    path("me/coupons/", views.WalletView.as_view(), name="api-wallet"),
]
