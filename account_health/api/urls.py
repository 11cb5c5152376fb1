from django.urls import path

from account_health.api import views

urlpatterns = [
    path("seller/health/", views.HealthView.as_view(), name="api-seller-health"),
    path("seller/health/ledger/", views.LedgerView.as_view(), name="api-seller-health-ledger"),
    path(
        "seller/health/violations/<int:violation_id>/fixed/",
        views.ViolationFixedView.as_view(),
        name="api-seller-violation-fixed",
    ),
    path(
        "seller/health/deactivation/",
        views.DeactivationView.as_view(),
        name="api-seller-deactivation",
    ),
    path("seller/health/appeals/", views.AppealView.as_view(), name="api-seller-appeal"),
]
