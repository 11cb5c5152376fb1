from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from account_health.choices import (
    AppealStatus,
    DeactivationStatus,
    Resolution,
    Severity,
    Source,
    ViolationStatus,
)
from core.models import TimeStampedModel
from marketplace.models import Seller


class Policy(models.Model):
    """A selling policy in the catalogue."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=150)
    default_severity = models.CharField(
        _("default severity"), max_length=10, choices=Severity.choices
    )
    description = models.TextField(_("description"))
    how_to_fix = models.TextField(_("how to fix"))
    resolution = models.CharField(
        _("resolution"), max_length=10, choices=Resolution.choices, default=Resolution.REVIEW
    )

    class Meta:
        verbose_name = _("policy")
        verbose_name_plural = _("policies")

    def __str__(self) -> str:
        return self.name


class Violation(TimeStampedModel):
    """A policy a seller broke; while unresolved it takes its points off the score."""

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="+")
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="violations")
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    affected_orders = models.PositiveIntegerField(_("affected orders"), default=1)
    is_repeat = models.BooleanField(_("repeat"), default=False)
    points = models.PositiveIntegerField(_("points"))
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.STAFF)
    status = models.CharField(
        max_length=16, choices=ViolationStatus.choices, default=ViolationStatus.OPEN
    )
    facts = models.TextField(_("facts"))
    seller_statement = models.TextField(_("seller statement"), blank=True)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("violation")
        verbose_name_plural = _("violations")
        indexes = [models.Index(fields=["seller", "policy", "opened_at"])]
        constraints = [
            # At most one open automatic violation per metric policy and seller.
            models.UniqueConstraint(
                fields=["seller", "policy"],
                condition=Q(source="automatic") & ~Q(status="resolved"),
                name="one_open_automatic_violation",
            )
        ]

    def __str__(self) -> str:
        return f"{self.policy} ({self.seller})"


class HealthScore(models.Model):
    """A seller's running score: base (start plus clean-selling credit) minus open penalties."""

    seller = models.OneToOneField(
        Seller, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    base = models.IntegerField(default=200)
    penalty = models.IntegerField(default=0)
    clean_orders = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.seller_id}: {self.base - self.penalty}"


class LedgerEntry(models.Model):
    """Every change of a score, with its cause."""

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="+")
    violation = models.ForeignKey(
        Violation, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    cause = models.CharField(max_length=30)
    rule = models.CharField(max_length=200)
    delta = models.IntegerField()
    score_after = models.IntegerField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name_plural = _("ledger entries")
        constraints = [
            # A violation takes its points once and gives them back once, however often events come.
            models.UniqueConstraint(
                fields=["violation", "cause"],
                condition=Q(violation__isnull=False),
                name="ledger_once_per_violation_cause",
            )
        ]

    def __str__(self) -> str:
        return f"{self.seller_id} {self.delta:+d} ({self.cause})"


class Deactivation(TimeStampedModel):
    """A decision to deactivate a seller, with the statement of reasons the seller sees."""

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="+")
    statement = models.TextField(_("statement of reasons"))
    facts = models.TextField(_("facts"))
    policies = models.ManyToManyField(Policy, related_name="+", verbose_name=_("policies"))
    is_automated = models.BooleanField(_("automated decision"), default=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField()
    effective_at = models.DateTimeField()
    status = models.CharField(
        max_length=12, choices=DeactivationStatus.choices, default=DeactivationStatus.PENDING
    )

    class Meta:
        verbose_name = _("deactivation")

    def __str__(self) -> str:
        return f"{self.seller} ({self.status})"


class Appeal(TimeStampedModel):
    """The seller's plan of action against a deactivation; a person decides."""

    deactivation = models.ForeignKey(Deactivation, on_delete=models.CASCADE, related_name="appeals")
    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="+")
    root_cause = models.TextField(_("root cause"))
    corrective_actions = models.TextField(_("corrective actions"))
    preventive_measures = models.TextField(_("preventive measures"))
    status = models.CharField(
        max_length=10, choices=AppealStatus.choices, default=AppealStatus.SUBMITTED
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_reason = models.TextField(blank=True)
    submitted_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("appeal")
        constraints = [
            models.UniqueConstraint(
                fields=["deactivation"], condition=Q(status="submitted"), name="one_open_appeal"
            )
        ]

    def __str__(self) -> str:
        return f"appeal {self.pk} ({self.status})"
