from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core import views as core_views

urlpatterns = [
    path("health/", core_views.health, name="health"),
    path("metrics", core_views.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/", include("marketplace.api.urls")),
    path("api/", include("checkout.api.urls")),
    path("api/", include("promotions.api.urls")),
    path("api/", include("fulfillment.api.urls")),
    path("api/", include("ratings.api.urls")),
    path("api/", include("account_health.api.urls")),
    path("api/", include("invitations.api.urls")),
    path("dashboard/", include("dashboard.urls")),
]
