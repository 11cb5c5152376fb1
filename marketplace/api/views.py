"""Shopper and seller API of the kernel. Thin: parse, authorise, call one service or selector."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.authtoken.models import Token
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import IsSeller
from core.api.throttling import ScopedRateThrottle
from core.errors import DomainError
from marketplace import errors, selectors, services
from marketplace.api import serializers as s
from marketplace.choices import CancelledBy, OrderStatus
from marketplace.models import Category

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="Unique per user and operation; a retry with the same key replays the response.",
)


class LoginFailed(DomainError):
    code = "login_failed"
    status = 400
    default_detail = _lazy("E-mail address or password is wrong.")


class LoginLocked(DomainError):
    code = "login_locked"
    status = 429
    default_detail = _lazy("Too many failed logins; try again later.")


# --- Accounts (public on purpose: one cannot log in while logged out otherwise) -------------------


class RegisterView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "register"

    @extend_schema(request=s.RegisterInput, responses={201: s.TokenOutput}, tags=["accounts"])
    def post(self, request: Request) -> Response:
        data = s.RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data)
        token, _created = Token.objects.get_or_create(user=user)
        return Response(
            s.TokenOutput(
                {"token": token.key, "user_id": user.pk, "email": user.email, "is_seller": False}
            ).data,
            status=status.HTTP_201_CREATED,
        )


class LoginView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(request=s.LoginInput, responses={200: s.TokenOutput}, tags=["accounts"])
    def post(self, request: Request) -> Response:
        data = s.LoginInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=data.validated_data["email"].lower(),
            password=data.validated_data["password"],
        )
        if getattr(request._request, "axes_locked_out", False):
            raise LoginLocked(_("Too many failed logins; try again later."))
        if user is None or not user.is_active:
            raise LoginFailed(_("E-mail address or password is wrong."))
        token, _created = Token.objects.get_or_create(user=user)
        return Response(
            s.TokenOutput(
                {
                    "token": token.key,
                    "user_id": user.pk,
                    "email": user.email,
                    "is_seller": selectors.seller_for_user(user) is not None,
                }
            ).data
        )


class MeView(APIView):
    @extend_schema(responses={200: s.MeOutput}, tags=["accounts"])
    def get(self, request: Request) -> Response:
        user = request.user
        return Response(
            s.MeOutput(
                {
                    "id": user.pk,
                    "email": user.email,
                    "full_name": user.full_name,
                    "language": user.language,
                    "date_joined": user.date_joined,
                    "is_seller": selectors.seller_for_user(user) is not None,
                }
            ).data
        )


# --- Catalogue (public on purpose: shoppers browse before they sign in) ---------------------------


@extend_schema(tags=["catalogue"])
class CategoryListView(ListAPIView):
    """The whole tree, unpaginated: it is small and every client wants all of it."""

    permission_classes = [AllowAny]
    serializer_class = s.CategoryOutput
    pagination_class = None
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        return Category.objects.order_by("path")


@extend_schema(
    parameters=[
        OpenApiParameter("category", OpenApiTypes.INT, description="Includes sub-categories."),
        OpenApiParameter("q", OpenApiTypes.STR, description="Words in title or brand."),
    ],
    tags=["catalogue"],
)
class ProductListView(ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = s.ProductListOutput
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        category = self.request.query_params.get("category")
        if category is not None and not category.isdigit():
            raise DomainError(
                _("The category must be a number."),
                code="validation_error",
                fields={"category": [_("A valid integer is required.")]},
            )
        return selectors.product_list(
            category_id=int(category) if category else None,
            search=self.request.query_params.get("q", "")[:100] or None,
        )


# --- My addresses ---------------------------------------------------------------------------------


@extend_schema(tags=["addresses"])
class AddressListView(ListAPIView):
    serializer_class = s.AddressOutput
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        return selectors.address_list(self.request.user)

    @extend_schema(request=s.AddressInput, responses={201: s.AddressOutput}, tags=["addresses"])
    def post(self, request: Request) -> Response:
        data = s.AddressInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        make_default = bool(values.pop("is_default", False))
        address = services.address_create(request.user, data=values, make_default=make_default)
        return Response(s.AddressOutput(address).data, status=status.HTTP_201_CREATED)


class AddressDetailView(APIView):
    @extend_schema(responses={200: s.AddressOutput}, tags=["addresses"])
    def get(self, request: Request, address_id: int) -> Response:
        address = selectors.address_get(request.user, address_id)
        if address is None:
            raise errors.AddressNotFound()
        return Response(s.AddressOutput(address).data)

    @extend_schema(
        request=s.AddressPatchInput, responses={200: s.AddressOutput}, tags=["addresses"]
    )
    def patch(self, request: Request, address_id: int) -> Response:
        data = s.AddressPatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        make_default = values.pop("is_default", None)
        address = services.address_update(
            request.user, address_id=address_id, data=values, make_default=make_default
        )
        return Response(s.AddressOutput(address).data)

    @extend_schema(responses={204: None}, tags=["addresses"])
    def delete(self, request: Request, address_id: int) -> Response:
        services.address_delete(request.user, address_id=address_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- My orders ------------------------------------------------------------------------------------


def _status_filter(request: Request) -> str | None:
    status_filter = request.query_params.get("status")
    if status_filter and status_filter not in OrderStatus.values:
        raise DomainError(
            _("Unknown order status."),
            code="validation_error",
            fields={"status": [_("Choose one of: %s") % ", ".join(OrderStatus.values)]},
        )
    return status_filter or None


STATUS_PARAMETER = OpenApiParameter("status", OpenApiTypes.STR, enum=OrderStatus.values)


@extend_schema(parameters=[STATUS_PARAMETER], tags=["orders"])
class MyOrderListView(ListAPIView):
    serializer_class = s.OrderOutput
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        return selectors.buyer_orders(self.request.user, status=_status_filter(self.request))


class MyOrderDetailView(APIView):
    @extend_schema(responses={200: s.OrderOutput}, tags=["orders"])
    def get(self, request: Request, order_id: int) -> Response:
        order = selectors.buyer_order(request.user, order_id)
        if order is None:
            raise errors.OrderNotFound()
        return Response(s.OrderOutput(order).data)


class MyOrderCancelView(APIView):
    @extend_schema(request=s.CancelInput, responses={200: s.OrderOutput}, tags=["orders"])
    def post(self, request: Request, order_id: int) -> Response:
        data = s.CancelInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.order_cancel(
            order_id, by=CancelledBy.BUYER, actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(s.OrderOutput(selectors.buyer_order(request.user, order_id)).data)


class MyOrderMessageView(APIView):
    @extend_schema(request=s.MessageInput, responses={201: s.MessageOutput}, tags=["orders"])
    def post(self, request: Request, order_id: int) -> Response:
        data = s.MessageInput(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.message_send(
            request.user, order_id=order_id, body=data.validated_data["body"]
        )
        return Response(s.MessageOutput(message).data, status=status.HTTP_201_CREATED)


class MyOrderFeedbackView(APIView):
    @extend_schema(request=s.FeedbackInput, responses={201: s.FeedbackOutput}, tags=["orders"])
    def post(self, request: Request, order_id: int) -> Response:
        data = s.FeedbackInput(data=request.data)
        data.is_valid(raise_exception=True)
        feedback = services.feedback_leave(request.user, order_id=order_id, **data.validated_data)
        return Response(
            s.FeedbackOutput(
                {
                    "order_id": feedback.order_id,
                    "rating": feedback.rating,
                    "comment": feedback.comment,
                    "left_at": feedback.left_at,
                }
            ).data,
            status=status.HTTP_201_CREATED,
        )


class MyOrderClaimView(APIView):
    @extend_schema(request=s.ClaimInput, responses={201: s.ClaimOutput}, tags=["orders"])
    def post(self, request: Request, order_id: int) -> Response:
        data = s.ClaimInput(data=request.data)
        data.is_valid(raise_exception=True)
        claim = services.claim_file(
            request.user, order_id=order_id, reason=data.validated_data["reason"]
        )
        return Response(
            s.ClaimOutput(
                {"order_id": claim.order_id, "status": claim.status, "filed_at": claim.filed_at}
            ).data,
            status=status.HTTP_201_CREATED,
        )


# --- Seller API -----------------------------------------------------------------------------------


@extend_schema(tags=["seller"])
class SellerOfferListView(ListAPIView):
    permission_classes = [IsAuthenticated, IsSeller]
    serializer_class = s.SellerOfferOutput
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        return selectors.seller_offers(self.request.seller)


class SellerOfferDetailView(APIView):
    permission_classes = [IsAuthenticated, IsSeller]

    @extend_schema(responses={200: s.SellerOfferOutput}, tags=["seller"])
    def get(self, request: Request, offer_id: int) -> Response:
        offer = selectors.seller_offer(request.seller, offer_id)
        if offer is None:
            raise errors.OfferNotFound()
        return Response(s.SellerOfferOutput(offer).data)

    @extend_schema(
        request=s.SellerOfferPatchInput, responses={200: s.SellerOfferOutput}, tags=["seller"]
    )
    def patch(self, request: Request, offer_id: int) -> Response:
        data = s.SellerOfferPatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.offer_update(request.seller, offer_id=offer_id, **data.validated_data)
        return Response(s.SellerOfferOutput(selectors.seller_offer(request.seller, offer_id)).data)


@extend_schema(parameters=[STATUS_PARAMETER], tags=["seller"])
class SellerOrderListView(ListAPIView):
    permission_classes = [IsAuthenticated, IsSeller]
    serializer_class = s.OrderOutput
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        return selectors.seller_orders(self.request.seller, status=_status_filter(self.request))


class SellerOrderDetailView(APIView):
    permission_classes = [IsAuthenticated, IsSeller]

    @extend_schema(responses={200: s.OrderOutput}, tags=["seller"])
    def get(self, request: Request, order_id: int) -> Response:
        order = selectors.seller_order(request.seller, order_id)
        if order is None:
            raise errors.OrderNotFound()
        return Response(s.OrderOutput(order).data)


class SellerOrderShipView(APIView):
    permission_classes = [IsAuthenticated, IsSeller]

    @extend_schema(request=s.ShipInput, responses={200: s.OrderOutput}, tags=["seller"])
    def post(self, request: Request, order_id: int) -> Response:
        data = s.ShipInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.order_ship(request.seller, order_id=order_id, **data.validated_data)
        return Response(s.OrderOutput(selectors.seller_order(request.seller, order_id)).data)


class SellerOrderCancelView(APIView):
    permission_classes = [IsAuthenticated, IsSeller]

    @extend_schema(request=s.CancelInput, responses={200: s.OrderOutput}, tags=["seller"])
    def post(self, request: Request, order_id: int) -> Response:
        data = s.CancelInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.order_cancel(
            order_id,
            by=CancelledBy.SELLER,
            actor=request.user,
            reason=data.validated_data["reason"],
        )
        return Response(s.OrderOutput(selectors.seller_order(request.seller, order_id)).data)


class SellerMessageReplyView(APIView):
    permission_classes = [IsAuthenticated, IsSeller]

    @extend_schema(request=s.ReplyInput, responses={200: s.MessageOutput}, tags=["seller"])
    def post(self, request: Request, message_id: int) -> Response:
        data = s.ReplyInput(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.message_reply(
            request.seller, message_id=message_id, body=data.validated_data["body"]
        )
        return Response(s.MessageOutput(message).data)
