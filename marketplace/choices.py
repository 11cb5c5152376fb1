from django.db import models
from django.utils.translation import gettext_lazy as _


class SellerStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    SUSPENDED = "suspended", _("suspended")
    DEACTIVATED = "deactivated", _("deactivated")


class FulfilmentChannel(models.TextChoices):
    PLATFORM = "platform", _("fulfilled by the platform")
    SELLER = "seller", _("fulfilled by the seller")


class OrderStatus(models.TextChoices):
    PLACED = "placed", _("placed")
    SHIPPED = "shipped", _("shipped")
    DELIVERED = "delivered", _("delivered")
    CANCELLED = "cancelled", _("cancelled")


class CancelledBy(models.TextChoices):
    SELLER = "seller", _("seller")
    BUYER = "buyer", _("buyer")
    PLATFORM = "platform", _("platform")


class RefundKind(models.TextChoices):
    REFUND = "refund", _("refund")
    CONCESSION = "concession", _("concession")


class ClaimStatus(models.TextChoices):
    OPEN = "open", _("open")
    GRANTED = "granted", _("granted")
    DENIED = "denied", _("denied")
    WITHDRAWN = "withdrawn", _("withdrawn")
