"""Drops, invitation requests with their screening verdicts, draws and invitations.

Held units: a drop's units leave the offer's stock when round 1 is drawn and sit in
``Drop.held_units`` (never below zero, a CHECK). A winner's checkout takes its unit from that hold,
not from the offer's stock, so nobody without an invitation can buy it and no unit is sold twice.
``held_units`` always equals the units of open invitations plus units freed by expired or cancelled
ones; freed units go to a further round, or back to the offer's stock once nobody is left to draw.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from invitations.choices import AppealStatus, DropStatus, InvitationStatus, RequestState
from invitations.constants import LIMIT_PER_CUSTOMER, LOTTERY_ALGORITHM, PURCHASE_WINDOW_HOURS
from marketplace.models import Address, Offer, Order


class Drop(TimeStampedModel):
    """An invite-only sale of a few units of one offer."""

    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="+")
    units = models.PositiveIntegerField(_("units"))
    request_opens_at = models.DateTimeField(_("requests open"))
    request_closes_at = models.DateTimeField(_("requests close"))
    eligible_countries = models.JSONField(_("eligible countries"), default=list)
    purchase_window_hours = models.PositiveIntegerField(
        _("purchase window (hours)"), default=PURCHASE_WINDOW_HOURS
    )
    limit_per_customer = models.PositiveSmallIntegerField(
        _("limit per customer"), default=LIMIT_PER_CUSTOMER
    )
    status = models.CharField(
        _("status"), max_length=10, choices=DropStatus.choices, default=DropStatus.SCHEDULED
    )
    # Commit-reveal: the hash is public from the start, the seed only after the first draw.
    seed = models.CharField(max_length=64, editable=False)
    seed_hash = models.CharField(_("seed hash (sha256)"), max_length=64, editable=False)
    held_units = models.PositiveIntegerField(_("held units"), default=0)

    class Meta:
        verbose_name = _("drop")
        verbose_name_plural = _("drops")
        constraints = [
            models.CheckConstraint(
                condition=Q(request_closes_at__gt=models.F("request_opens_at")), name="drop_window"
            ),
            models.CheckConstraint(condition=Q(units__gte=1), name="drop_units_positive"),
            models.CheckConstraint(
                condition=Q(limit_per_customer__gte=1), name="drop_limit_per_customer_positive"
            ),
            models.CheckConstraint(condition=Q(held_units__gte=0), name="drop_held_not_negative"),
        ]
        indexes = [models.Index(fields=["status", "request_closes_at"])]

    def __str__(self) -> str:
        return f"Drop {self.pk}: {self.units} x offer {self.offer_id}"


class InvitationRequest(models.Model):
    """One account's request for an invitation to one drop, with its screening verdict."""

    # No index of its own: the unique (drop, customer) and the (drop, state) index lead with it,
    # and every index is one more write per request at intake and per winner at the draw.
    drop = models.ForeignKey(
        Drop, on_delete=models.CASCADE, related_name="requests", db_index=False
    )
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    address = models.ForeignKey(Address, null=True, on_delete=models.SET_NULL, related_name="+")
    address_key = models.CharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(null=True)
    network = models.CharField(max_length=50, blank=True)
    device_id = models.CharField(max_length=100, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    # The draw writes no request row: until its batched follow-up copies it here, a winner's state
    # is its invitation's status, and "received" in a drawn drop without one is "not drawn"
    # (selectors.shown_state, services.draws).
    state = models.CharField(
        max_length=14, choices=RequestState.choices, default=RequestState.RECEIVED
    )
    # Every rule that fired, the score and the threshold; a staff decision adds "override".
    verdict = models.JSONField(default=dict)
    screened_category = models.CharField(max_length=20, blank=True)
    is_automated_verdict = models.BooleanField(default=True)
    # Two facts of the verdict kept as columns for the batch screening, which reads them on every
    # request of a drop: no delivered order when the request came (no_purchase_history fired),
    # and a cluster rule of an earlier batch screening in the verdict (it may have to be lifted).
    is_fresh = models.BooleanField(default=False, db_default=False)
    has_batch_rules = models.BooleanField(default=False, db_default=False)
    appeal_text = models.TextField(blank=True)
    appeal_status = models.CharField(
        max_length=10, choices=AppealStatus.choices, blank=True, default="", db_default=""
    )
    appealed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)
    # When the customer was told they were not drawn (sent in batches after the draw).
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("invitation request")
        verbose_name_plural = _("invitation requests")
        constraints = [
            models.UniqueConstraint(
                fields=["drop", "customer"], name="one_request_per_drop_account"
            )
        ]
        indexes = [
            models.Index(fields=["drop", "state"]),
            models.Index(fields=["network", "created_at"]),
            models.Index(fields=["device_id", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"request {self.pk} ({self.state})"


class Draw(models.Model):
    """One round of the lottery: its inputs, seed rule and winners, so anyone can replay it."""

    drop = models.ForeignKey(Drop, on_delete=models.CASCADE, related_name="draws")
    round = models.PositiveIntegerField()
    units = models.PositiveIntegerField()
    algorithm = models.CharField(
        max_length=40, default=LOTTERY_ALGORITHM, db_default=LOTTERY_ALGORITHM
    )
    # An integer array stored uncompressed (see migration 0004): a million ids are written in a
    # fraction of the time a compressed JSON list takes, and read back as a list all the same.
    eligible_request_ids = ArrayField(models.BigIntegerField(), default=list)
    winner_request_ids = models.JSONField(default=list)
    drawn_at = models.DateTimeField()

    class Meta:
        verbose_name = _("draw")
        verbose_name_plural = _("draws")
        constraints = [models.UniqueConstraint(fields=["drop", "round"], name="one_draw_per_round")]

    def __str__(self) -> str:
        return f"draw {self.drop_id}/{self.round}"


class Invitation(models.Model):
    """A winner's right to buy the units held for them within the purchase window, once."""

    request = models.OneToOneField(
        InvitationRequest, on_delete=models.CASCADE, related_name="invitation"
    )
    drop = models.ForeignKey(Drop, on_delete=models.CASCADE, related_name="invitations")
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    round = models.PositiveIntegerField()
    quantity = models.PositiveSmallIntegerField(default=1, db_default=1)
    status = models.CharField(
        max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.INVITED
    )
    expires_at = models.DateTimeField()
    # One order per invitation: the unique key of a one-to-one field.
    order = models.OneToOneField(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The order was cancelled and its units went back to the drop (once: guarded on this field).
    returned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="invitation_quantity"),
            models.CheckConstraint(
                condition=~Q(status=InvitationStatus.PURCHASED) | Q(order__isnull=False),
                name="purchased_invitation_has_order",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"]),
            models.Index(fields=["drop", "status"]),
        ]

    def __str__(self) -> str:
        return f"invitation {self.pk} ({self.status})"
