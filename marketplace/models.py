from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from core.money import CURRENCY_CHOICES, DECIMAL_PLACES, DEFAULT_CURRENCY, MAX_DIGITS, Money
from marketplace.choices import (
    CancelledBy,
    ClaimStatus,
    FulfilmentChannel,
    OrderStatus,
    RefundKind,
    SellerStatus,
)


def money_field(verbose_name: Any = None, **kwargs: Any) -> models.DecimalField:
    return models.DecimalField(
        verbose_name, max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs
    )


def currency_field(**kwargs: Any) -> models.CharField:
    return models.CharField(
        max_length=3, choices=CURRENCY_CHOICES, default=DEFAULT_CURRENCY, **kwargs
    )


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person: shopper, seller owner or staff. Logs in with an e-mail address."""

    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    is_active = models.BooleanField(_("active"), default=True)  # type: ignore[assignment]
    is_staff = models.BooleanField(_("staff status"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now, db_index=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email


class Seller(TimeStampedModel):
    """A business selling on the marketplace; one per owning user."""

    owner = models.OneToOneField(User, on_delete=models.PROTECT, related_name="seller")
    display_name = models.CharField(_("display name"), max_length=120)
    status = models.CharField(
        _("status"), max_length=12, choices=SellerStatus.choices, default=SellerStatus.ACTIVE
    )
    country = models.CharField(_("country"), max_length=2, default="DE")

    class Meta:
        verbose_name = _("seller")
        verbose_name_plural = _("sellers")

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_active_seller(self) -> bool:
        """Whether the seller's offers may be bought."""
        return self.status == SellerStatus.ACTIVE


class Category(models.Model):
    """A node in the catalogue tree; ``path`` makes "this category and below" one indexed query."""

    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=120)
    path = models.CharField(max_length=600, unique=True, editable=False)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "slug"], name="category_slug_unique_in_parent"
            )
        ]

    def __str__(self) -> str:
        return self.path

    def save(self, *args: object, **kwargs: object) -> None:
        self.path = f"{self.parent.path}/{self.slug}" if self.parent else self.slug
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class Product(TimeStampedModel):
    """A thing that can be sold; sellers make offers for it."""

    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    brand = models.CharField(_("brand"), max_length=100, blank=True)
    is_hazardous = models.BooleanField(
        _("hazardous goods"), default=False, help_text=_("Dangerous goods rules apply to shipping.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        indexes = [models.Index(fields=["category", "is_active"])]

    def __str__(self) -> str:
        return self.title


class Offer(TimeStampedModel):
    """A seller's price and stock for a product."""

    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="offers")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="offers")
    price = money_field(_("price"), validators=[MinValueValidator(Decimal("0.01"))])
    currency = currency_field()
    stock = models.IntegerField(_("stock"), default=0)
    fulfilment_channel = models.CharField(
        _("fulfilled by"),
        max_length=10,
        choices=FulfilmentChannel.choices,
        default=FulfilmentChannel.SELLER,
    )
    handling_days = models.PositiveSmallIntegerField(
        _("handling days"), default=1, validators=[MaxValueValidator(30)]
    )
    requires_invitation = models.BooleanField(_("requires invitation"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="offer_stock_not_negative"),
            models.CheckConstraint(condition=Q(price__gt=0), name="offer_price_positive"),
            models.UniqueConstraint(
                fields=["seller", "product"], name="offer_one_per_seller_product"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} by {self.seller}"

    @property
    def price_money(self) -> Money:
        """The price as Money."""
        return Money(self.price, self.currency)


class Address(TimeStampedModel):
    """A delivery address of a shopper."""

    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="addresses")
    name = models.CharField(_("name"), max_length=150)
    line1 = models.CharField(_("address line 1"), max_length=200)
    line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100)
    region = models.CharField(_("region"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=16)
    country = models.CharField(_("country"), max_length=2)
    is_po_box = models.BooleanField(_("PO box"), default=False)
    is_default = models.BooleanField(_("default address"), default=False)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        constraints = [
            models.UniqueConstraint(
                fields=["owner"], condition=Q(is_default=True), name="address_one_default_per_owner"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.postal_code} {self.city}, {self.country}"


class Order(TimeStampedModel):
    """What one buyer bought from one seller in one checkout."""

    buyer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="orders")
    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="orders")
    checkout_reference = models.UUIDField(_("checkout"), db_index=True)
    status = models.CharField(
        _("status"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.PLACED
    )
    currency = currency_field()
    subtotal = money_field(_("subtotal"))
    discount_total = money_field(_("discount"), default=Decimal("0"))
    total = money_field(_("total"))
    # The delivery address as it was at checkout: later edits of the address must not move an order.
    address = models.ForeignKey(Address, null=True, on_delete=models.SET_NULL, related_name="+")
    ship_name = models.CharField(max_length=150)
    ship_line1 = models.CharField(max_length=200)
    ship_line2 = models.CharField(max_length=200, blank=True)
    ship_city = models.CharField(max_length=100)
    ship_region = models.CharField(max_length=100, blank=True)
    ship_postal_code = models.CharField(max_length=16)
    ship_country = models.CharField(max_length=2)
    fulfilment_channel = models.CharField(
        max_length=10, choices=FulfilmentChannel.choices, default=FulfilmentChannel.SELLER
    )
    placed_at = models.DateTimeField(_("placed at"), db_index=True)
    ship_by = models.DateField(_("ship by"))
    promised_delivery_earliest = models.DateField(_("earliest delivery"), null=True, blank=True)
    promised_delivery_latest = models.DateField(_("latest delivery"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    carrier = models.CharField(_("carrier"), max_length=60, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=60, blank=True)
    has_valid_tracking = models.BooleanField(_("valid tracking"), default=False)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.CharField(max_length=10, choices=CancelledBy.choices, blank=True)
    cancel_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at"]
        indexes = [
            models.Index(fields=["seller", "-placed_at"]),
            models.Index(fields=["buyer", "-placed_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
            models.CheckConstraint(
                condition=Q(discount_total__gte=0) & Q(discount_total__lte=F("subtotal")),
                name="order_discount_within_subtotal",
            ),
        ]

    def __str__(self) -> str:
        return f"Order {self.pk}"

    @property
    def total_money(self) -> Money:
        """The total as Money."""
        return Money(self.total, self.currency)


class OrderLine(models.Model):
    """One offer in an order, with the price as it was at checkout."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="order_lines")
    product_title = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_price = money_field()
    discount = money_field(default=Decimal("0"))
    line_total = money_field()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="order_line_quantity_positive"
            ),
            models.UniqueConstraint(fields=["order", "offer"], name="order_line_offer_once"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_title}"


class BuyerMessage(models.Model):
    """A buyer's question about an order and the seller's reply."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="messages")
    body = models.TextField(max_length=4000)
    sent_at = models.DateTimeField()
    reply_body = models.TextField(max_length=4000, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["sent_at"]

    def __str__(self) -> str:
        return f"Message on order {self.order_id}"


class Feedback(models.Model):
    """The buyer's rating of the seller for one order."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="feedback")
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(max_length=2000, blank=True)
    left_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1) & Q(rating__lte=5), name="feedback_rating_1_to_5"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rating}* on order {self.order_id}"


class GuaranteeClaim(models.Model):
    """An A-to-z guarantee claim filed by the buyer."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="claim")
    reason = models.TextField(max_length=2000)
    status = models.CharField(max_length=10, choices=ClaimStatus.choices, default=ClaimStatus.OPEN)
    filed_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"A-to-z claim on order {self.order_id}"


class Chargeback(models.Model):
    """A card chargeback on an order; only the seller's fault counts against the seller."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="chargebacks")
    amount = money_field()
    currency = currency_field()
    is_seller_fault = models.BooleanField(default=True)
    filed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Chargeback on order {self.order_id}"


class Refund(models.Model):
    """Money given back to the buyer: a refund or a goodwill concession."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    kind = models.CharField(max_length=12, choices=RefundKind.choices, default=RefundKind.REFUND)
    amount = money_field()
    currency = currency_field()
    reason = models.CharField(max_length=300, blank=True)
    issued_at = models.DateTimeField()

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_positive")]

    def __str__(self) -> str:
        return f"{self.kind} on order {self.order_id}"
