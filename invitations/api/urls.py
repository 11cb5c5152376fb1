from django.urls import path

from invitations.api import views

urlpatterns = [
    path("drops/", views.DropListView.as_view(), name="api-drops"),
    path("drops/<int:drop_id>/", views.DropDetailView.as_view(), name="api-drop"),
    path(
        "drops/<int:drop_id>/requests/", views.RequestCreateView.as_view(), name="api-drop-request"
    ),
    path("me/drop-requests/", views.MyRequestsView.as_view(), name="api-my-drop-requests"),
    path(
        "me/drop-requests/<int:request_id>/appeal/",
        views.RequestAppealView.as_view(),
        name="api-my-drop-request-appeal",
    ),
]
