from django.db import models
from django.utils.translation import gettext_lazy as _


class Severity(models.TextChoices):
    LOW = "low", _("low")
    MEDIUM = "medium", _("medium")
    HIGH = "high", _("high")
    CRITICAL = "critical", _("critical")


class Resolution(models.TextChoices):
    IMMEDIATE = "immediate", _("resolves when the seller marks it fixed")
    REVIEW = "review", _("resolves after staff review")


class ViolationStatus(models.TextChoices):
    OPEN = "open", _("open")
    PENDING_REVIEW = "pending_review", _("fixed, awaiting review")
    RESOLVED = "resolved", _("resolved")


class Source(models.TextChoices):
    STAFF = "staff", _("staff")
    AUTOMATIC = "automatic", _("automatic (rate metric)")


class DeactivationStatus(models.TextChoices):
    PENDING = "pending", _("pending: grace window")
    EFFECTIVE = "effective", _("effective")
    WITHDRAWN = "withdrawn", _("withdrawn")
    REINSTATED = "reinstated", _("reinstated after appeal")


class AppealStatus(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    APPROVED = "approved", _("approved")
    DENIED = "denied", _("denied")


class Band(models.TextChoices):
    HEALTHY = "healthy", _("Healthy")
    AT_RISK = "at_risk", _("At Risk")
    CRITICAL = "critical", _("Critical")
