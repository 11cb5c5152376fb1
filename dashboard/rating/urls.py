from django.urls import path

from dashboard.rating import views

urlpatterns = [path("", views.rating_page, name="rating")]
