from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import clock
from core.api.client import client_ip
from core.api.lean import LeanTokenPost
from core.prepared import BIGINT_MAX
from invitations import errors, selectors, services
from invitations.api import serializers as s


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


class RequestCreateView(LeanTokenPost):
    """Asking for an invitation is the hottest write of a drop: everyone asks the second the window
    opens. A token request that names no address is answered by :meth:`lean` (core.api.lean): the
    token login reads the drop with every fact the screening needs in the same statement, then one
    insert. Everything else (a chosen address, a session, odd input) takes DRF's path in
    :meth:`post`. Both end in ``request_create``."""

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
            device_id=_device_id(request),
            user_agent=request.headers.get("User-Agent", "")[:300],
            address_id=data.validated_data.get("address_id"),
        )
        return Response(
            s.RequestOutput(selectors.request_json(invitation_request)).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def lean(
        self, request: HttpRequest, token: str, *args: Any, drop_id: int, **kwargs: Any
    ) -> tuple[Any, int] | None:
        if drop_id > BIGINT_MAX or not _names_no_address(request):
            return None  # no drop has a larger id: DRF's path answers drop_not_found
        ip_address, device_id, now = client_ip(request), _device_id(request), clock.now()
        found = services.token_login_with_facts(
            token, drop_id=drop_id, ip_address=ip_address, device_id=device_id, now=now
        )
        if found is None or not found[0].is_active:
            return None  # DRF's token authentication gives the 401 with its own words
        customer, facts = found
        request.user = customer  # as DRF's authentication does: middleware and logs see it
        self.check_throttles(request)  # type: ignore[arg-type]  # throttles read user and META
        invitation_request, created = services.request_create(
            drop_id,
            customer,
            ip_address=ip_address,
            device_id=device_id,
            user_agent=request.headers.get("User-Agent", "")[:300],
            prefetched=facts,
        )
        body = _REQUEST_OUTPUT.to_representation(selectors.request_json(invitation_request))
        return body, status.HTTP_201_CREATED if created else status.HTTP_200_OK


# One instance, its fields built once: representing a dict reads them and changes nothing.
_REQUEST_OUTPUT = s.RequestOutput()
# A longer body cannot be the empty object the lean path answers: DRF's path reads it.
SMALL_BODY = 1024


def _device_id(request: Request | HttpRequest) -> str:
    return request.headers.get("X-Device-Id", "")[:100]


def _names_no_address(request: HttpRequest) -> bool:
    """Whether the body leaves the address out (the default address is meant): an empty body or
    an empty JSON object. Anything else (``address_id``, an unknown field, a malformed body), DRF's
    path parses, validates and reads for."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    if length == 0:
        return True
    if length > SMALL_BODY or request.content_type != "application/json":
        return False
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return False  # DRF's parser answers a malformed body with its own error
    return body == {}


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
