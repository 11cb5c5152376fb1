from django.urls import path

from dashboard.shippability import views

urlpatterns = [path("", views.shippability_page, name="shippability")]
