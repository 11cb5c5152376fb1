"""The project's routes plus a bare Django JSON view: the baseline for endpoint benchmarks."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns

BARE_BODY = {
    "id": 1,
    "title": "Console",
    "offers": [{"id": 1, "price": {"amount": "499.00", "currency": "EUR"}, "in_stock": True}],
}


def bare(request: HttpRequest) -> JsonResponse:
    return JsonResponse(BARE_BODY)


urlpatterns = [path("bench/bare/", bare), *project_urlpatterns]
