"""The project's routes plus a bare Django JSON view: the baseline for endpoint benchmarks."""

from django.http import HttpRequest, JsonResponse
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response

from checkout import storefront
from checkout.api.views import ProductDetailView
from config.urls import urlpatterns as project_urlpatterns

BARE_BODY = {
    "id": 1,
    "title": "Console",
    "offers": [{"id": 1, "price": {"amount": "499.00", "currency": "EUR"}, "in_stock": True}],
}


def bare(request: HttpRequest) -> JsonResponse:
    return JsonResponse(BARE_BODY)


def one_lookup(request: HttpRequest, offer_id: int) -> JsonResponse:
    """One primary-key lookup through the ORM: the floor for any endpoint that reads a row."""
    from marketplace.models import Offer

    offer = Offer.objects.get(pk=offer_id)
    return JsonResponse({"id": offer.pk, "price": str(offer.price)})


class ProductDetailWithoutShippability(ProductDetailView):
    """The same product page with the same authentication, minus the shippability decision."""

    def get(self, request: Request, product_id: int) -> Response:
        page = storefront.product_page(product_id, user=None)
        return Response(page)


urlpatterns = [
    path("bench/bare/", bare),
    path("bench/lookup/<int:offer_id>/", one_lookup),
    path("bench/products/<int:product_id>/", ProductDetailWithoutShippability.as_view()),
    *project_urlpatterns,
]
