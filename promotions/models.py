from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from marketplace.models import Category, Order, currency_field, money_field
from promotions.choices import CampaignKind, DiscountType, IssueMode, IssueStatus, Segment


class Campaign(TimeStampedModel):
    """A promotion: what discount, for what, when, and how often."""

    name = models.CharField(_("name"), max_length=150)
    kind = models.CharField(_("kind"), max_length=16, choices=CampaignKind.choices)
    discount_type = models.CharField(_("discount type"), max_length=8, choices=DiscountType.choices)
    percent = models.DecimalField(
        _("percent"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal(100))],
    )
    max_discount = money_field(_("discount cap"), null=True, blank=True)
    fixed_amount = money_field(_("fixed amount"), null=True, blank=True)
    currency = currency_field()
    min_order_value = money_field(_("minimum order value"), default=Decimal(0))
    eligible_categories = models.ManyToManyField(
        Category,
        blank=True,
        related_name="+",
        verbose_name=_("eligible categories"),
        help_text=_("Empty means every category; a category includes its sub-categories."),
    )
    starts_at = models.DateTimeField(_("valid from"))
    ends_at = models.DateTimeField(_("valid until"))
    uses_per_code = models.PositiveIntegerField(_("uses per code"), default=1)
    budget = money_field(_("total budget"), null=True, blank=True)
    budget_spent = money_field(_("budget spent"), default=Decimal(0), editable=False)
    is_active = models.BooleanField(_("active"), default=True, help_text=_("Untick to pause."))

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(discount_type="percent", percent__isnull=False, fixed_amount__isnull=True)
                    | Q(discount_type="fixed", fixed_amount__gt=0, percent__isnull=True)
                ),
                name="campaign_discount_matches_type",
            ),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="campaign_window"),
            models.CheckConstraint(
                condition=Q(uses_per_code__gte=1), name="campaign_uses_positive"
            ),
            # The budget can never be overspent, whatever the concurrency.
            models.CheckConstraint(
                condition=Q(budget__isnull=True) | Q(budget_spent__lte=F("budget")),
                name="campaign_budget_not_exceeded",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Coupon(TimeStampedModel):
    """A code. Personal codes have one holder; a group code has one holder per group member."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="coupons")
    code = models.CharField(
        _("code"), max_length=32, unique=True, help_text=_("Normalised: no dashes.")
    )
    # The customer a personal code was made for; null for a group code.
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        constraints = [
            # Issuing is idempotent: one personal code per customer per campaign.
            models.UniqueConstraint(
                fields=["campaign", "customer"],
                condition=Q(customer__isnull=False),
                name="coupon_one_per_customer_per_campaign",
            )
        ]

    def __str__(self) -> str:
        return self.display_code

    @property
    def display_code(self) -> str:
        """The code as printed: XXXX-XXXX-…"""
        return "-".join(self.code[i : i + 4] for i in range(0, len(self.code), 4))


class CouponHolder(models.Model):
    """A customer's right to use a code, bound to the account id (never to an e-mail address)."""

    coupon = models.ForeignKey(Coupon, on_delete=models.CASCADE, related_name="holders")
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="coupon_holdings"
    )
    uses = models.PositiveIntegerField(default=0)
    max_uses = models.PositiveIntegerField(default=1)
    emailed_at = models.DateTimeField(null=True, blank=True)
    # First time the code was accepted for a cart (validation, cart or checkout): "applied".
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["coupon", "customer"], name="coupon_holder_once"),
            models.CheckConstraint(
                condition=Q(uses__lte=F("max_uses")), name="coupon_uses_within_limit"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.coupon} for {self.customer_id}"


class Redemption(models.Model):
    """One order a coupon discounted. One use covers one checkout, which may be several orders."""

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    holder = models.ForeignKey(CouponHolder, on_delete=models.PROTECT, related_name="redemptions")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+")
    checkout_reference = models.UUIDField(db_index=True)
    discount = money_field()
    currency = currency_field()
    order_total = money_field(
        help_text=_("What the customer paid for the order, after the discount.")
    )
    redeemed_at = models.DateTimeField()
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["coupon", "order"], name="redemption_once_per_order")
        ]

    def __str__(self) -> str:
        return f"{self.coupon} on order {self.order_id}"


class IssueRun(TimeStampedModel):
    """Issuing a campaign's codes to a segment, in batches, with its progress."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="issue_runs")
    segment = models.CharField(_("segment"), max_length=10, choices=Segment.choices)
    mode = models.CharField(
        _("mode"), max_length=10, choices=IssueMode.choices, default=IssueMode.PERSONAL
    )
    parameter_days = models.PositiveIntegerField(
        _("days"),
        null=True,
        blank=True,
        help_text=_("New: account younger than this; inactive: last order at least this long ago."),
    )
    parameter_orders = models.PositiveIntegerField(
        _("delivered orders"),
        null=True,
        blank=True,
        help_text=_("Loyal: at least this many delivered orders in the last 365 days."),
    )
    explicit_customers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("customers")
    )
    status = models.CharField(
        max_length=10, choices=IssueStatus.choices, default=IssueStatus.PENDING
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("started by"),
    )
    total = models.PositiveIntegerField(default=0)
    issued = models.PositiveIntegerField(default=0)
    already_had = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("issue run")
        verbose_name_plural = _("issue runs")

    def __str__(self) -> str:
        return f"{self.campaign} → {self.get_segment_display()}"


class CodeFailures(models.Model):
    """Failed code entries of one account in one hour: the limit holds whatever the IP address."""

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    hour = models.DateTimeField()
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "hour"], name="code_failures_per_hour")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.hour:%Y-%m-%d %H}h: {self.failures}"


class CouponMisuse(models.Model):
    """Someone entered a code that exists but belongs to another customer: a signal for staff."""

    coupon = models.ForeignKey(Coupon, on_delete=models.CASCADE, related_name="misuses")
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    attempted_at = models.DateTimeField()

    class Meta:
        verbose_name = _("coupon misuse signal")

    def __str__(self) -> str:
        return f"{self.customer_id} tried {self.coupon_id}"
