from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from account_health import selectors, services
from account_health.api import serializers as s
from core.api.permissions import IsSeller
from core.errors import NotFound


class HealthView(APIView):
    permission_classes = [IsAuthenticated, IsSeller]

    @extend_schema(responses={200: s.HealthOutput}, tags=["seller"])
    def get(self, request: Request) -> Response:
        seller_id = request.seller.pk  # type: ignore[attr-defined]
        body = {
            **selectors.health(seller_id),
            "fix_first": selectors.fix_first(seller_id),
            "history": selectors.history(seller_id),
        }
        return Response(s.HealthOutput(body).data)


@extend_schema(tags=["seller"])
class LedgerView(ListAPIView):
    permission_classes = [IsAuthenticated, IsSeller]
    serializer_class = s.LedgerOutput
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        return selectors.ledger(self.request.seller.pk)  # type: ignore[attr-defined]


class ViolationFixedView(APIView):
    permission_classes = [IsAuthenticated, IsSeller]

    @extend_schema(request=s.FixedInput, responses={200: s.FixFirstOutput}, tags=["seller"])
    def post(self, request: Request, violation_id: int) -> Response:
        data = s.FixedInput(data=request.data)
        data.is_valid(raise_exception=True)
        violation = services.violation_mark_fixed(
            request.seller,
            violation_id=violation_id,
            statement=data.validated_data["statement"],  # type: ignore[attr-defined]
        )
        return Response(s.FixFirstOutput(violation).data)


class DeactivationView(APIView):
    permission_classes = [IsAuthenticated, IsSeller]

    @extend_schema(responses={200: s.DeactivationOutput}, tags=["seller"])
    def get(self, request: Request) -> Response:
        deactivation = selectors.current_deactivation(request.seller.pk)  # type: ignore[attr-defined]
        if deactivation is None:
            raise NotFound(code="deactivation_not_found")
        return Response(
            s.DeactivationOutput(
                {
                    "status": deactivation.status,
                    "statement": deactivation.statement,
                    "facts": deactivation.facts,
                    "is_automated": deactivation.is_automated,
                    "policies": [policy.code for policy in deactivation.policies.all()],
                    "requested_at": deactivation.requested_at,
                    "effective_at": deactivation.effective_at,
                    "appeals": list(deactivation.appeals.all()),
                }
            ).data
        )


class AppealView(APIView):
    permission_classes = [IsAuthenticated, IsSeller]

    @extend_schema(request=s.AppealInput, responses={201: s.AppealOutput}, tags=["seller"])
    def post(self, request: Request) -> Response:
        data = s.AppealInput(data=request.data)
        data.is_valid(raise_exception=True)
        appeal = services.appeal_submit(request.seller, **data.validated_data)  # type: ignore[attr-defined]
        return Response(s.AppealOutput(appeal).data, status=status.HTTP_201_CREATED)
