from django.contrib.auth import views as auth_views
from django.urls import include, path

from dashboard import views
from dashboard.offers import views as offers
from dashboard.orders import views as orders

app_name = "dashboard"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="dashboard:login"), name="logout"),
    path("orders/", orders.order_list, name="orders"),
    path("orders/<int:order_id>/", orders.order_detail, name="order"),
    path("orders/<int:order_id>/ship/", orders.order_ship, name="order-ship"),
    path("orders/<int:order_id>/cancel/", orders.order_cancel, name="order-cancel"),
    path("orders/<int:order_id>/reply/", orders.message_reply, name="order-reply"),
    path("offers/", offers.offer_list, name="offers"),
    path("offers/<int:offer_id>/", offers.offer_update, name="offer-update"),
    path("shippability/", include("dashboard.shippability.urls")),
    path("rating/", include("dashboard.rating.urls")),
    path("health/", include("dashboard.health.urls")),
]
