from django.db import models
from django.utils.translation import gettext_lazy as _


class CampaignKind(models.TextChoices):
    WELCOME = "welcome", _("welcome offer")
    LOYALTY = "loyalty", _("loyalty discount")
    REACTIVATION = "reactivation", _("reactivation offer")
    HOLIDAY = "holiday", _("holiday")
    LAUNCH = "launch", _("launch")
    CUSTOM = "custom", _("custom")


class DiscountType(models.TextChoices):
    PERCENT = "percent", _("percent")
    FIXED = "fixed", _("fixed amount")


class Segment(models.TextChoices):
    NEW = "new", _("new customers")
    LOYAL = "loyal", _("loyal customers")
    INACTIVE = "inactive", _("inactive customers")
    EXPLICIT = "explicit", _("explicit list")


class IssueMode(models.TextChoices):
    PERSONAL = "personal", _("one personal code per customer")
    SHARED = "shared", _("one group code for the whole segment")


class IssueStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class CouponState(models.TextChoices):
    USABLE = "usable", _("usable")
    USED = "used", _("used")
    NOT_STARTED = "not_started", _("not started")
    EXPIRED = "expired", _("expired")
    PAUSED = "paused", _("paused")
    BUDGET_EXHAUSTED = "budget_exhausted", _("budget exhausted")
