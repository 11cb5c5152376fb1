"""The invitation's part in checkout, and what a cancelled invitation order gives back.

Checkout calls :func:`invitation_for_checkout` before its transaction (a read: who may buy, how
many) and :func:`invitation_consume` inside it. The unit comes from the drop's hold, not from the
offer's stock: the draw took it from stock already.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F, Sum

from core import clock, outbox
from invitations import errors
from invitations.choices import DropStatus, InvitationStatus, RequestState
from invitations.models import Drop, Invitation, InvitationRequest
from marketplace.models import Offer, Order, OrderLine, User


def invitation_for_checkout(
    customer: User, offer: Offer, quantity: int, *, now: datetime
) -> Invitation:
    """The invitation that lets this customer buy this invitation-only offer, or why not:
    ``invitation_required`` (none, e.g. not drawn, or another account's), ``invitation_expired``,
    ``invitation_used``, ``invitation_quantity`` (more than the units held for them)."""
    valid = (
        Invitation.objects.filter(
            customer=customer,
            drop__offer=offer,
            status=InvitationStatus.INVITED,
            expires_at__gt=now,
        )
        .order_by("expires_at", "pk")
        .first()
    )
    if valid is None:
        latest = (
            Invitation.objects.filter(customer=customer, drop__offer=offer)
            .order_by("-expires_at", "-pk")
            .first()
        )
        if latest is None:
            raise errors.InvitationRequired(extra={"offer_id": offer.pk})
        if latest.status == InvitationStatus.PURCHASED:
            raise errors.InvitationUsed(extra={"offer_id": offer.pk})
        raise errors.InvitationExpired(
            extra={"offer_id": offer.pk, "expired_at": latest.expires_at.isoformat()}
        )
    if not 1 <= quantity <= valid.quantity:
        raise errors.InvitationQuantity(
            fields={"lines": [str(errors.InvitationQuantity.default_detail)]},
            extra={"offer_id": offer.pk, "max_quantity": valid.quantity},
        )
    return valid


def invitation_consume(
    invitation_id: int, *, order: Order, now: datetime, quantity: int = 1
) -> None:
    """Inside the checkout transaction: a guarded update turns the invitation into a purchase
    once (status invited, not expired); the order's one-to-one key allows one order per
    invitation. A lost race raises, and checkout rolls back whole."""
    used = Invitation.objects.filter(
        pk=invitation_id,
        customer_id=order.buyer_id,
        status=InvitationStatus.INVITED,
        expires_at__gt=now,
        quantity__gte=quantity,
    ).update(status=InvitationStatus.PURCHASED, order=order)
    if used != 1:
        status = (
            Invitation.objects.filter(pk=invitation_id).values_list("status", flat=True).first()
        )
        if status == InvitationStatus.PURCHASED:
            raise errors.InvitationUsed()
        raise errors.InvitationExpired()
    invitation = Invitation.objects.only("drop_id", "request_id").get(pk=invitation_id)
    InvitationRequest.objects.filter(pk=invitation.request_id).update(state=RequestState.PURCHASED)
    taken = Drop.objects.filter(pk=invitation.drop_id, held_units__gte=quantity).update(
        held_units=F("held_units") - quantity
    )
    if taken != 1:  # the hold is short: refuse the sale rather than sell a unit twice
        raise errors.InvitationUsed()
    outbox.emit(
        "invitation.purchased",
        {"invitation_id": invitation_id, "order_id": order.pk, "quantity": quantity},
    )


def invitation_order_cancelled(order_id: int, *, now: datetime | None = None) -> int:
    """An invitation's order was cancelled before shipment and its units went back to the offer's
    stock: take them back into the drop's hold so a further round gives them to another
    customer. Once per order (guarded on ``returned_at``). Returns the units taken back."""
    now = now or clock.now()
    invitation = Invitation.objects.filter(order_id=order_id, returned_at__isnull=True).first()
    if invitation is None:
        return 0
    with transaction.atomic():
        # Drop, then offer: the lock order of the draw.
        drop = Drop.objects.select_for_update().get(pk=invitation.drop_id)
        marked = Invitation.objects.filter(pk=invitation.pk, returned_at__isnull=True).update(
            returned_at=now
        )
        if marked != 1:
            return 0
        units = (
            OrderLine.objects.filter(order_id=order_id, offer_id=drop.offer_id).aggregate(
                units=Sum("quantity")
            )["units"]
            or 0
        )
        taken = Offer.objects.filter(pk=drop.offer_id, stock__gte=units).update(
            stock=F("stock") - units
        )
        if not units or taken != 1:
            return 0  # the seller sold or removed the stock meanwhile: nothing to hold
        Drop.objects.filter(pk=drop.pk).update(
            held_units=F("held_units") + units, status=DropStatus.DRAWN
        )
        outbox.emit(
            "invitation.units_returned",
            {"invitation_id": invitation.pk, "drop_id": drop.pk, "units": units},
        )
    return units
