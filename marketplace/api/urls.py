from django.urls import path

from marketplace.api import views

urlpatterns = [
    path("auth/register/", views.RegisterView.as_view(), name="api-register"),
    path("auth/token/", views.LoginView.as_view(), name="api-login"),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("categories/", views.CategoryListView.as_view(), name="api-categories"),
    path("products/", views.ProductListView.as_view(), name="api-products"),
    path("me/addresses/", views.AddressListView.as_view(), name="api-addresses"),
    path("me/addresses/<int:address_id>/", views.AddressDetailView.as_view(), name="api-address"),
    path("me/orders/", views.MyOrderListView.as_view(), name="api-my-orders"),
    path("me/orders/<int:order_id>/", views.MyOrderDetailView.as_view(), name="api-my-order"),
    path(
        "me/orders/<int:order_id>/cancel/",
        views.MyOrderCancelView.as_view(),
        name="api-my-order-cancel",
    ),
    path(
        "me/orders/<int:order_id>/messages/",
        views.MyOrderMessageView.as_view(),
        name="api-my-order-message",
    ),
    path(
        "me/orders/<int:order_id>/feedback/",
        views.MyOrderFeedbackView.as_view(),
        name="api-my-order-feedback",
    ),
    path(
        "me/orders/<int:order_id>/claim/",
        views.MyOrderClaimView.as_view(),
        name="api-my-order-claim",
    ),
    path("seller/offers/", views.SellerOfferListView.as_view(), name="api-seller-offers"),
    path(
        "seller/offers/<int:offer_id>/",
        views.SellerOfferDetailView.as_view(),
        name="api-seller-offer",
    ),
    path("seller/orders/", views.SellerOrderListView.as_view(), name="api-seller-orders"),
    path(
        "seller/orders/<int:order_id>/",
        views.SellerOrderDetailView.as_view(),
        name="api-seller-order",
    ),
    path(
        "seller/orders/<int:order_id>/ship/",
        views.SellerOrderShipView.as_view(),
        name="api-seller-order-ship",
    ),
    path(
        "seller/orders/<int:order_id>/cancel/",
        views.SellerOrderCancelView.as_view(),
        name="api-seller-order-cancel",
    ),
    path(
        "seller/messages/<int:message_id>/reply/",
        views.SellerMessageReplyView.as_view(),
        name="api-seller-message-reply",
    ),
]
