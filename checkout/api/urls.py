from django.urls import path

from checkout.api import views

urlpatterns = [
    path("checkout/", views.CheckoutView.as_view(), name="api-checkout"),
    path("cart/quote/", views.CartQuoteView.as_view(), name="api-cart-quote"),
    path("staff/orders/", views.StaffOrderView.as_view(), name="api-staff-order"),
    path("products/<int:product_id>/", views.ProductDetailView.as_view(), name="api-product"),
]
