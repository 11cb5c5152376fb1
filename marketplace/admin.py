"""Staff admin of the kernel. Facts (money, times) are read-only; writes go through services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin
from core.errors import DomainError
from marketplace import services
from marketplace.choices import CancelledBy, SellerStatus
from marketplace.models import (
    Address,
    BuyerMessage,
    Category,
    Chargeback,
    Feedback,
    GuaranteeClaim,
    Offer,
    Order,
    OrderLine,
    Product,
    Refund,
    Seller,
    User,
)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_active", "language"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["date_joined", "last_login"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name", "language")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Seller)
class SellerAdmin(admin.ModelAdmin):
    list_display = ["display_name", "owner", "status", "country", "created_at"]
    list_filter = ["status", "country"]
    search_fields = ["display_name", "owner__email"]
    readonly_fields = ["status", "created_at", "updated_at"]
    raw_id_fields = ["owner"]
    actions = ["suspend", "reactivate"]

    @admin.action(description=_("Suspend the selected sellers"))
    def suspend(self, request: HttpRequest, queryset: QuerySet[Seller]) -> None:
        for seller in queryset:
            services.seller_set_status(
                seller.pk,
                status=SellerStatus.SUSPENDED,
                reason="suspended in admin",
                actor=request.user,  # type: ignore[arg-type]
            )

    @admin.action(description=_("Reactivate the selected sellers"))
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Seller]) -> None:
        for seller in queryset:
            services.seller_set_status(
                seller.pk,
                status=SellerStatus.ACTIVE,
                reason="reactivated in admin",
                actor=request.user,  # type: ignore[arg-type]
            )


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["path", "name"]
    search_fields = ["name", "path"]
    readonly_fields = ["path"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["title", "brand", "category", "is_hazardous", "is_active"]
    list_filter = ["is_active", "is_hazardous"]
    search_fields = ["title", "brand"]
    raw_id_fields = ["category"]


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = [
        "product",
        "seller",
        "price",
        "currency",
        "stock",
        "fulfilment_channel",
        "requires_invitation",
        "is_active",
    ]
    list_filter = ["fulfilment_channel", "requires_invitation", "is_active", "currency"]
    search_fields = ["product__title", "seller__display_name"]
    raw_id_fields = ["product", "seller"]
    list_select_related = ["product", "seller"]


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "postal_code", "city", "country", "is_po_box", "is_default"]
    list_filter = ["country", "is_po_box"]
    search_fields = ["name", "owner__email", "postal_code", "city"]
    raw_id_fields = ["owner"]


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    readonly_fields = [
        "offer",
        "product_title",
        "quantity",
        "unit_price",
        "discount",
        "line_total",
    ]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["id", "buyer", "seller", "status", "total", "currency", "placed_at", "ship_by"]
    list_filter = ["status", "fulfilment_channel", "ship_country"]
    search_fields = ["id", "buyer__email", "seller__display_name", "tracking_number"]
    date_hierarchy = "placed_at"
    list_select_related = ["buyer", "seller"]
    inlines = [OrderLineInline]
    actions = ["mark_delivered", "cancel_orders"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Order._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Mark the selected shipped orders as delivered"))
    def mark_delivered(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        for order in queryset:
            try:
                services.order_deliver(order.pk)
            except DomainError as error:
                self.message_user(request, f"{order}: {error.detail}", messages.WARNING)

    @admin.action(description=_("Cancel the selected orders (platform decision)"))
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        for order in queryset:
            try:
                services.order_cancel(
                    order.pk,
                    by=CancelledBy.PLATFORM,
                    actor=request.user,  # type: ignore[arg-type]
                    reason="cancelled by staff",
                )
            except DomainError as error:
                self.message_user(request, f"{order}: {error.detail}", messages.WARNING)


@admin.register(BuyerMessage)
class BuyerMessageAdmin(ReadOnlyAdmin):
    list_display = ["order", "sent_at", "replied_at"]
    search_fields = ["order__id", "body"]
    raw_id_fields = ["order"]


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    list_display = ["order", "rating", "left_at"]
    list_filter = ["rating"]
    raw_id_fields = ["order"]


@admin.register(GuaranteeClaim)
class GuaranteeClaimAdmin(ReadOnlyAdmin):
    list_display = ["order", "status", "filed_at", "decided_at"]
    list_filter = ["status"]
    raw_id_fields = ["order"]


@admin.register(Chargeback)
class ChargebackAdmin(ReadOnlyAdmin):
    list_display = ["order", "amount", "currency", "is_seller_fault", "filed_at"]
    list_filter = ["is_seller_fault"]
    raw_id_fields = ["order"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["order", "kind", "amount", "currency", "issued_at"]
    list_filter = ["kind"]
    raw_id_fields = ["order"]
