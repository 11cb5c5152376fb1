from django.urls import path

from dashboard.shippability import views

urlpatterns = [
    path("", views.shippability_page, name="shippability"),
    path("coverage-check/", views.coverage_check, name="shippability-coverage-check"),
]
