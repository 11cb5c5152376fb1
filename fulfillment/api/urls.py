from django.urls import path

from fulfillment.api import views

urlpatterns = [
    path(
        "offers/<int:offer_id>/shippability/",
        views.OfferShippabilityView.as_view(),
        name="api-offer-shippability",
    ),
    path(
        "seller/shipping-templates/", views.TemplateListView.as_view(), name="api-seller-templates"
    ),
    path(
        "seller/shipping-templates/<int:template_id>/",
        views.TemplateDetailView.as_view(),
        name="api-seller-template",
    ),
]
