from django.urls import path

from dashboard.health import views

urlpatterns = [
    path("", views.health_page, name="health"),
    path("violations/<int:violation_id>/fixed/", views.violation_fixed, name="health-fixed"),
    path("appeal/", views.appeal, name="health-appeal"),
]
