from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from invitations.choices import DropStatus, InvitationStatus, RequestState
from marketplace.models import Address, Offer, Order


class Drop(TimeStampedModel):
    """An invite-only sale of a few units of one offer."""

    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="+")
    units = models.PositiveIntegerField(_("units"))
    request_opens_at = models.DateTimeField(_("requests open"))
    request_closes_at = models.DateTimeField(_("requests close"))
    eligible_countries = models.JSONField(_("eligible countries"), default=list)
    purchase_window_hours = models.PositiveIntegerField(_("purchase window (hours)"), default=72)
    limit_per_customer = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(
        max_length=10, choices=DropStatus.choices, default=DropStatus.SCHEDULED
    )
    # Commit-reveal: the hash is public from the start, the seed only after the first draw.
    seed = models.CharField(max_length=64, editable=False)
    seed_hash = models.CharField(max_length=64, editable=False)
    held_units = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("drop")
        constraints = [
            models.CheckConstraint(
                condition=Q(request_closes_at__gt=models.F("request_opens_at")), name="drop_window"
            ),
            models.CheckConstraint(condition=Q(units__gte=1), name="drop_units_positive"),
        ]

    def __str__(self) -> str:
        return f"Drop {self.pk}: {self.units} x offer {self.offer_id}"


class InvitationRequest(models.Model):
    """One account's request for an invitation to one drop."""

    drop = models.ForeignKey(Drop, on_delete=models.CASCADE, related_name="requests")
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    address = models.ForeignKey(Address, null=True, on_delete=models.SET_NULL, related_name="+")
    address_key = models.CharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(null=True)
    network = models.CharField(max_length=50, blank=True)
    device_id = models.CharField(max_length=100, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    state = models.CharField(
        max_length=14, choices=RequestState.choices, default=RequestState.RECEIVED
    )
    verdict = models.JSONField(default=dict)
    screened_category = models.CharField(max_length=20, blank=True)
    is_automated_verdict = models.BooleanField(default=True)
    appeal_text = models.TextField(blank=True)
    created_at = models.DateTimeField(db_index=True)
    # When the customer was told they were not drawn (sent in batches after the draw).
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["drop", "customer"], name="one_request_per_drop_account"
            )
        ]
        indexes = [
            models.Index(fields=["drop", "state"]),
            models.Index(fields=["network", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"request {self.pk} ({self.state})"


class Draw(models.Model):
    """One round of the lottery: its inputs, seed and winners, so anyone can replay it."""

    drop = models.ForeignKey(Drop, on_delete=models.CASCADE, related_name="draws")
    round = models.PositiveIntegerField()
    units = models.PositiveIntegerField()
    eligible_request_ids = models.JSONField(default=list)
    winner_request_ids = models.JSONField(default=list)
    drawn_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["drop", "round"], name="one_draw_per_round")]

    def __str__(self) -> str:
        return f"draw {self.drop_id}/{self.round}"


class Invitation(models.Model):
    """A winner's right to buy one held unit within the purchase window."""

    request = models.OneToOneField(
        InvitationRequest, on_delete=models.CASCADE, related_name="invitation"
    )
    drop = models.ForeignKey(Drop, on_delete=models.CASCADE, related_name="invitations")
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    round = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.INVITED
    )
    expires_at = models.DateTimeField()
    order = models.OneToOneField(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"invitation {self.pk} ({self.status})"
