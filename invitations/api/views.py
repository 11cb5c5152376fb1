from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import clock
from core.api.client import client_ip
from invitations import errors, selectors, services
from invitations.api import serializers as s
from invitations.api.authentication import TokenLoginWithIntakeFacts


@extend_schema(tags=["drops"])
class DropListView(ListAPIView):
    """Open and upcoming drops. Public on purpose: the programme is announced to everyone."""

    permission_classes = [AllowAny]
    serializer_class = s.DropOutput
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        return selectors.drops_visible(now=clock.now())

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        now = clock.now()
        page = self.paginate_queryset(selectors.drops_visible(now=now))
        return self.get_paginated_response(
            s.DropOutput(
                [selectors.drop_json(drop, now=now) for drop in page or []], many=True
            ).data
        )


class DropDetailView(APIView):
    """One drop with its draws. Public on purpose: after the draw anyone may check it against the
    seed hash published before (commit-reveal)."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: s.DropDetailOutput}, tags=["drops"])
    def get(self, request: Request, drop_id: int) -> Response:
        drop = selectors.drop_public(drop_id)
        if drop is None:
            raise errors.DropNotFound()
        return Response(s.DropDetailOutput(selectors.drop_detail_json(drop, now=clock.now())).data)


class RequestCreateView(APIView):
    # The token login reads the request's facts in the same statement (api.authentication).
    authentication_classes = [TokenLoginWithIntakeFacts, SessionAuthentication]

    @extend_schema(
        request=s.DropRequestInput,
        parameters=[
            OpenApiParameter(
                "X-Device-Id",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="The app's device identifier, if it has one.",
            )
        ],
        responses={201: s.RequestOutput, 200: s.RequestOutput},
        # The schemes of every other shopper endpoint: the login here is the same token login.
        auth=[{"tokenAuth": []}, {"cookieAuth": []}],
        tags=["drops"],
        description="Request an invitation: free, one per account and drop (a repeat returns the "
        "first request with 200, never a second one). The request has been stored when the "
        "answer comes. Errors: drop_not_found, drop_not_open, address_required, "
        "address_not_found, country_not_eligible.",
    )
    def post(self, request: Request, drop_id: int) -> Response:
        data = s.DropRequestInput(data=request.data or {})
        data.is_valid(raise_exception=True)
        invitation_request, created = services.request_create(
            drop_id,
            request.user,  # type: ignore[arg-type]
            ip_address=client_ip(request),
            device_id=request.headers.get("X-Device-Id", "")[:100],
            user_agent=request.headers.get("User-Agent", "")[:300],
            address_id=data.validated_data.get("address_id"),
            prefetched=getattr(request.user, "intake_facts", None),
        )
        return Response(
            s.RequestOutput(selectors.request_json(invitation_request)).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


@extend_schema(tags=["drops"])
class MyRequestsView(ListAPIView):
    """My invitation requests with their state; when screened out, why and how to appeal."""

    serializer_class = s.RequestOutput
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        return selectors.my_requests(self.request.user)  # type: ignore[arg-type]

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            s.RequestOutput([selectors.request_json(row) for row in page or []], many=True).data
        )


class RequestAppealView(APIView):
    @extend_schema(
        request=s.DropAppealInput,
        responses={200: s.RequestOutput},
        tags=["drops"],
        description="Appeal a screened-out request with a short text; staff decide. Errors: "
        "drop_request_not_found, drop_request_not_screened_out, drop_appeal_decided.",
    )
    def post(self, request: Request, request_id: int) -> Response:
        data = s.DropAppealInput(data=request.data)
        data.is_valid(raise_exception=True)
        appealed = services.request_appeal(
            request.user,  # type: ignore[arg-type]
            request_id=request_id,
            text=data.validated_data["text"],
        )
        return Response(s.RequestOutput(selectors.request_json(appealed)).data)
