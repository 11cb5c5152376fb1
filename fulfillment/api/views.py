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
from fulfillment import errors, selectors, services
from fulfillment.api import serializers as s
from marketplace import selectors as marketplace
from marketplace.models import Seller, User


def _seller(request: Request) -> Seller:
    return request.seller  # type: ignore[attr-defined, no-any-return]  # set by IsSeller


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
        user: User = request.user  # type: ignore[assignment]  # IsAuthenticated
        # Another shopper's address answers exactly like one that does not exist.
        address = marketplace.address_get(user, int(raw))
        if address is None:
            raise NotFound(_("No such address."), code="address_not_found")
        offer = selectors.offer_for_decision(offer_id)
        if offer is None:
            raise NotFound(_("No such offer."), code="offer_not_found")
        decision = services.shippability(offer, address)
        return Response(services.shippability_json(decision, with_trace=user.is_staff))


@extend_schema(tags=["seller"])
class TemplateListView(ListAPIView):
    permission_classes = [IsAuthenticated, IsSeller]
    serializer_class = s.TemplateOutput
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        return selectors.seller_templates(_seller(self.request))

    @extend_schema(request=s.TemplateInput, responses={201: s.TemplateOutput})
    def post(self, request: Request) -> Response:
        data = s.TemplateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        template = services.template_save(
            _seller(request), template_id=None, rules_data=values.pop("rules"), **values
        )
        return Response(
            s.TemplateOutput(selectors.seller_template(_seller(request), template.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class TemplateDetailView(APIView):
    permission_classes = [IsAuthenticated, IsSeller]

    @extend_schema(responses={200: s.TemplateOutput}, tags=["seller"])
    def get(self, request: Request, template_id: int) -> Response:
        template = selectors.seller_template(_seller(request), template_id)
        if template is None:
            raise errors.TemplateNotFound()
        return Response(s.TemplateOutput(template).data)

    @extend_schema(request=s.TemplateInput, responses={200: s.TemplateOutput}, tags=["seller"])
    def put(self, request: Request, template_id: int) -> Response:
        data = s.TemplateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        services.template_save(
            _seller(request), template_id=template_id, rules_data=values.pop("rules"), **values
        )
        return Response(
            s.TemplateOutput(selectors.seller_template(_seller(request), template_id)).data
        )

    @extend_schema(responses={204: None}, tags=["seller"])
    def delete(self, request: Request, template_id: int) -> Response:
        services.template_delete(_seller(request), template_id=template_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
