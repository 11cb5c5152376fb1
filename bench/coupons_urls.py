"""bench.urls plus a DRF view with the project's authentication doing one primary-key lookup: it
shows how much of a DRF endpoint's cost is the framework, not the endpoint's own work."""

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.urls import urlpatterns as bench_urlpatterns


class OneLookupApiView(APIView):
    def post(self, request: Request) -> Response:
        from marketplace.models import Offer

        offer = Offer.objects.get(pk=request.data["lines"][0]["offer_id"])
        return Response({"id": offer.pk, "price": str(offer.price)})


urlpatterns = [
    path("bench/api-lookup/", OneLookupApiView.as_view()),
    *bench_urlpatterns,
]
