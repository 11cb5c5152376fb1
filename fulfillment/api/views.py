from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import IsSeller
from core.errors import DomainError, NotFound
from fulfillment import services
from fulfillment.api import serializers as s
from fulfillment.models import ShippingTemplate
from marketplace import selectors as marketplace
from marketplace.models import Offer


class OfferShippabilityView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("address", OpenApiTypes.INT, required=True)],
        responses={200: s.ShippabilityOutput},
        tags=["shippability"],
        description="Whether the offer can be delivered to one of my addresses, and if not why. "
        "The trace of rules is shown to staff only.",
    )
    def get(self, request: Request, offer_id: int) -> Response:
        raw = request.query_params.get("address", "")
        if not raw.isdigit():
            raise DomainError(
                _("Choose one of your addresses."),
                code="validation_error",
                fields={"address": [_("A valid integer is required.")]},
            )
        address = marketplace.address_get(request.user, int(raw))
        if address is None:
            raise NotFound(_("No such address."), code="address_not_found")
        offer = (
            Offer.objects.select_related("seller", "product__category").filter(pk=offer_id).first()
        )
        if offer is None:
            raise NotFound(_("No such offer."), code="offer_not_found")
        decision = services.shippability(offer, address)
        return Response(services.shippability_json(decision, with_trace=request.user.is_staff))


def _templates(seller: Any) -> Any:
    return (
        ShippingTemplate.objects.filter(seller=seller)
        .prefetch_related("rules", "offers")
        .order_by("pk")
    )


@extend_schema(tags=["seller"])
class TemplateListView(ListAPIView):
    permission_classes = [IsAuthenticated, IsSeller]
    serializer_class = s.TemplateOutput
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        return _templates(self.request.seller)

    @extend_schema(request=s.TemplateInput, responses={201: s.TemplateOutput})
    def post(self, request: Request) -> Response:
        data = s.TemplateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        template = services.template_save(
            request.seller, template_id=None, rules_data=values.pop("rules"), **values
        )
        return Response(
            s.TemplateOutput(_templates(request.seller).get(pk=template.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class TemplateDetailView(APIView):
    permission_classes = [IsAuthenticated, IsSeller]

    @extend_schema(responses={200: s.TemplateOutput}, tags=["seller"])
    def get(self, request: Request, template_id: int) -> Response:
        template = _templates(request.seller).filter(pk=template_id).first()
        if template is None:
            raise NotFound(_("No such template."), code="template_not_found")
        return Response(s.TemplateOutput(template).data)

    @extend_schema(request=s.TemplateInput, responses={200: s.TemplateOutput}, tags=["seller"])
    def put(self, request: Request, template_id: int) -> Response:
        data = s.TemplateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        services.template_save(
            request.seller, template_id=template_id, rules_data=values.pop("rules"), **values
        )
        return Response(s.TemplateOutput(_templates(request.seller).get(pk=template_id)).data)

    @extend_schema(responses={204: None}, tags=["seller"])
    def delete(self, request: Request, template_id: int) -> Response:
        services.template_delete(request.seller, template_id=template_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
