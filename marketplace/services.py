"""Every write of the shared kernel. Each lifecycle change writes its outbox event with it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from core import clock, outbox
from core.errors import PermissionDenied
from marketplace import errors, validation
from marketplace.choices import CancelledBy, ClaimStatus, OrderStatus, RefundKind, SellerStatus
from marketplace.models import (
    Address,
    BuyerMessage,
    Chargeback,
    Feedback,
    GuaranteeClaim,
    Offer,
    Order,
    Refund,
    Seller,
    User,
)

ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "is_po_box")


def order_event_payload(order: Order, **extra: Any) -> dict[str, Any]:
    """The fields every order event carries, so handlers rarely need to reload the order."""
    return {
        "order_id": order.pk,
        "seller_id": order.seller_id,
        "buyer_id": order.buyer_id,
        "status": order.status,
        **extra,
    }


# --- Accounts -------------------------------------------------------------------------------------


def user_register(*, email: str, password: str, full_name: str = "", language: str = "en") -> User:
    email = email.strip().lower()
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email, password=password, full_name=full_name, language=language
            )
            outbox.emit("user.registered", {"user_id": user.pk})
    except IntegrityError as error:
        raise errors.EmailTaken() from error
    return user


# --- Addresses ------------------------------------------------------------------------------------


def _clean_address(data: dict[str, Any]) -> dict[str, Any]:
    cleaned = {key: data[key] for key in ADDRESS_FIELDS if key in data}
    for key in ("name", "line1", "line2", "city", "region", "postal_code", "country"):
        if key in cleaned:
            cleaned[key] = " ".join(str(cleaned[key]).split())
    if "country" in cleaned:
        cleaned["country"] = cleaned["country"].upper()
    return cleaned


def _validate_address(values: dict[str, Any]) -> None:
    field_errors: dict[str, list[str]] = {}
    for required in ("name", "line1", "city", "postal_code", "country"):
        if not values.get(required):
            field_errors[required] = [_("This field is required.")]
    if not field_errors:
        problem = validation.postal_code_error(values["country"], values["postal_code"])
        if problem == "country_not_supported":
            field_errors["country"] = [_("We do not deliver to this country.")]
        elif problem:
            field_errors["postal_code"] = [_("This postal code is not valid for the country.")]
    if field_errors:
        raise errors.AddressInvalid(fields=field_errors)
    values["postal_code"] = validation.normalise_postal_code(
        values["country"], values["postal_code"]
    )


def address_create(owner: User, *, data: dict[str, Any], make_default: bool = False) -> Address:
    values = _clean_address(data)
    values.setdefault("line2", "")
    values.setdefault("region", "")
    values.setdefault("is_po_box", False)
    _validate_address(values)
    with transaction.atomic():
        # Lock the owner's row so two parallel "make default" calls serialise.
        User.objects.select_for_update().filter(pk=owner.pk).first()
        has_default = Address.objects.filter(owner=owner, is_default=True).exists()
        if make_default and has_default:
            Address.objects.filter(owner=owner, is_default=True).update(is_default=False)
        address = Address.objects.create(
            owner=owner, is_default=make_default or not has_default, **values
        )
        outbox.emit("address.created", {"address_id": address.pk, "owner_id": owner.pk})
    return address


def address_update(
    owner: User, *, address_id: int, data: dict[str, Any], make_default: bool | None = None
) -> Address:
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=owner.pk).first()
        address = Address.objects.filter(owner=owner, pk=address_id).first()
        if address is None:
            raise errors.AddressNotFound()
        values = {key: getattr(address, key) for key in ADDRESS_FIELDS}
        values.update(_clean_address(data))
        _validate_address(values)
        for key, value in values.items():
            setattr(address, key, value)
        if make_default:
            Address.objects.filter(owner=owner, is_default=True).exclude(pk=address.pk).update(
                is_default=False
            )
            address.is_default = True
        address.save()
    return address


def address_delete(owner: User, *, address_id: int) -> None:
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=owner.pk).first()
        address = Address.objects.filter(owner=owner, pk=address_id).first()
        if address is None:
            raise errors.AddressNotFound()
        was_default = address.is_default
        address.delete()
        if was_default:
            successor = Address.objects.filter(owner=owner).order_by("-created_at").first()
            if successor is not None:
                successor.is_default = True
                successor.save(update_fields=["is_default"])


# --- Offers ---------------------------------------------------------------------------------------


def offer_update(
    seller: Seller,
    *,
    offer_id: int,
    price: Decimal | None = None,
    stock: int | None = None,
    is_active: bool | None = None,
    handling_days: int | None = None,
) -> Offer:
    """Change what a seller may change of their own offer."""
    field_errors: dict[str, list[str]] = {}
    if price is not None and price <= 0:
        field_errors["price"] = [_("The price must be positive.")]
    if stock is not None and stock < 0:
        field_errors["stock"] = [_("Stock cannot be negative.")]
    if handling_days is not None and not 0 <= handling_days <= 30:
        field_errors["handling_days"] = [_("Handling time must be 0 to 30 business days.")]
    if field_errors:
        raise errors.OfferInvalid(fields=field_errors)
    with transaction.atomic():
        offer = Offer.objects.select_for_update().filter(seller=seller, pk=offer_id).first()
        if offer is None:
            raise errors.OfferNotFound()
        changed: dict[str, Any] = {}
        for name, value in (
            ("price", price),
            ("stock", stock),
            ("is_active", is_active),
            ("handling_days", handling_days),
        ):
            if value is not None and getattr(offer, name) != value:
                changed[name] = value
                setattr(offer, name, value)
        if changed:
            offer.save(update_fields=[*changed, "updated_at"])
            outbox.emit(
                "offer.updated",
                {
                    "offer_id": offer.pk,
                    "seller_id": seller.pk,
                    "changed": {key: str(value) for key, value in changed.items()},
                },
            )
    return offer


# --- Order lifecycle ------------------------------------------------------------------------------


def _seller_order_for_update(seller: Seller, order_id: int) -> Order:
    order = Order.objects.select_for_update(of=("self",)).filter(seller=seller, pk=order_id).first()
    if order is None:
        raise errors.OrderNotFound()
    return order


def _buyer_order(buyer: User, order_id: int, *, for_update: bool = False) -> Order:
    queryset = Order.objects.filter(buyer=buyer, pk=order_id)
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    order = queryset.first()
    if order is None:
        raise errors.OrderNotFound()
    return order


def order_ship(
    seller: Seller,
    *,
    order_id: int,
    carrier: str,
    tracking_number: str,
    now: datetime | None = None,
) -> Order:
    """The seller hands the parcel to a carrier. A malformed tracking number is refused."""
    now = now or clock.now()
    carrier = carrier.strip().lower()
    tracking = validation.normalise_tracking_number(tracking_number)
    if carrier not in validation.CARRIERS:
        raise errors.TrackingInvalid(
            _("Unknown carrier."), fields={"carrier": [_("Choose one of the listed carriers.")]}
        )
    if not tracking or len(tracking) > 60:
        raise errors.TrackingInvalid(
            fields={"tracking_number": [_("Enter the tracking number of the parcel.")]}
        )
    # A known carrier's number must have its format; an unverifiable carrier is accepted but the
    # shipment does not count as validly tracked (it weighs on the valid tracking rate).
    is_valid = validation.is_valid_tracking(carrier, tracking)
    if carrier != validation.OTHER_CARRIER and not is_valid:
        raise errors.TrackingInvalid(
            fields={"tracking_number": [_("This is not a valid tracking number for the carrier.")]}
        )
    with transaction.atomic():
        order = _seller_order_for_update(seller, order_id)
        if order.status != OrderStatus.PLACED:
            raise errors.OrderStateInvalid()
        order.status = OrderStatus.SHIPPED
        order.shipped_at = now
        order.carrier = carrier
        order.tracking_number = tracking
        order.has_valid_tracking = is_valid
        order.save(
            update_fields=[
                "status",
                "shipped_at",
                "carrier",
                "tracking_number",
                "has_valid_tracking",
                "updated_at",
            ]
        )
        outbox.emit(
            "order.shipped",
            order_event_payload(
                order,
                shipped_at=now.isoformat(),
                ship_by=order.ship_by.isoformat(),
                has_valid_tracking=is_valid,
            ),
        )
    return order


def order_deliver(order_id: int, *, now: datetime | None = None) -> Order:
    """The carrier reports delivery (a carrier webhook or staff)."""
    now = now or clock.now()
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).filter(pk=order_id).first()
        if order is None:
            raise errors.OrderNotFound()
        if order.status != OrderStatus.SHIPPED:
            raise errors.OrderStateInvalid()
        order.status = OrderStatus.DELIVERED
        order.delivered_at = now
        order.save(update_fields=["status", "delivered_at", "updated_at"])
        outbox.emit("order.delivered", order_event_payload(order, delivered_at=now.isoformat()))
    return order


def order_cancel(
    order_id: int,
    *,
    by: str,
    actor: User,
    reason: str = "",
    now: datetime | None = None,
) -> Order:
    """Cancel before shipment and give the stock back. ``by`` says whose decision it was."""
    now = now or clock.now()
    if by not in CancelledBy.values:
        raise ValueError(f"unknown canceller {by!r}")
    with transaction.atomic():
        queryset = Order.objects.select_for_update(of=("self",)).filter(pk=order_id)
        if by == CancelledBy.SELLER:
            queryset = queryset.filter(seller__owner=actor)
        elif by == CancelledBy.BUYER:
            queryset = queryset.filter(buyer=actor)
        elif not actor.is_staff:
            raise PermissionDenied()
        order = queryset.first()
        if order is None:
            raise errors.OrderNotFound()
        if order.status != OrderStatus.PLACED:
            raise errors.OrderStateInvalid(_("Only orders that have not shipped can be cancelled."))
        lines = list(order.lines.order_by("offer_id"))
        for line in lines:  # offer-id order: the same lock order as checkout
            Offer.objects.filter(pk=line.offer_id).update(stock=F("stock") + line.quantity)
        order.status = OrderStatus.CANCELLED
        order.cancelled_at = now
        order.cancelled_by = by
        order.cancel_reason = reason[:300]
        order.save(
            update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason", "updated_at"]
        )
        outbox.emit(
            "order.cancelled",
            order_event_payload(
                order,
                cancelled_by=by,
                cancelled_at=now.isoformat(),
                reason=order.cancel_reason,
                lines=[{"offer_id": line.offer_id, "quantity": line.quantity} for line in lines],
            ),
        )
    return order


def message_send(
    buyer: User, *, order_id: int, body: str, now: datetime | None = None
) -> BuyerMessage:
    now = now or clock.now()
    body = body.strip()
    if not body:
        raise errors.DomainError(_("The message is empty."), code="message_empty")
    with transaction.atomic():
        order = _buyer_order(buyer, order_id)
        message = BuyerMessage.objects.create(order=order, body=body[:4000], sent_at=now)
        outbox.emit(
            "message.sent",
            order_event_payload(order, message_id=message.pk, sent_at=now.isoformat()),
        )
    return message


def message_reply(
    seller: Seller, *, message_id: int, body: str, now: datetime | None = None
) -> BuyerMessage:
    now = now or clock.now()
    body = body.strip()
    if not body:
        raise errors.DomainError(_("The reply is empty."), code="message_empty")
    with transaction.atomic():
        message = (
            BuyerMessage.objects.select_for_update(of=("self",))
            .select_related("order")
            .filter(pk=message_id, order__seller=seller)
            .first()
        )
        if message is None:
            raise errors.MessageNotFound()
        if message.replied_at is not None:
            raise errors.MessageAlreadyReplied()
        message.reply_body = body[:4000]
        message.replied_at = now
        message.save(update_fields=["reply_body", "replied_at"])
        outbox.emit(
            "message.replied",
            order_event_payload(
                message.order,
                message_id=message.pk,
                sent_at=message.sent_at.isoformat(),
                replied_at=now.isoformat(),
            ),
        )
    return message


def feedback_leave(
    buyer: User, *, order_id: int, rating: int, comment: str = "", now: datetime | None = None
) -> Feedback:
    now = now or clock.now()
    if not 1 <= rating <= 5:
        raise errors.DomainError(
            _("The rating must be 1 to 5 stars."),
            code="validation_error",
            fields={"rating": [_("Choose 1 to 5 stars.")]},
        )
    with transaction.atomic():
        order = _buyer_order(buyer, order_id, for_update=True)
        if order.status not in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
            raise errors.OrderStateInvalid(_("Feedback can be left once the order has shipped."))
        try:
            with transaction.atomic():
                feedback = Feedback.objects.create(
                    order=order, rating=rating, comment=comment.strip()[:2000], left_at=now
                )
        except IntegrityError as error:
            raise errors.FeedbackExists() from error
        outbox.emit(
            "feedback.left", order_event_payload(order, rating=rating, left_at=now.isoformat())
        )
    return feedback


def claim_file(
    buyer: User, *, order_id: int, reason: str, now: datetime | None = None
) -> GuaranteeClaim:
    now = now or clock.now()
    if not reason.strip():
        raise errors.DomainError(
            _("Tell us what went wrong."),
            code="validation_error",
            fields={"reason": [_("This field is required.")]},
        )
    with transaction.atomic():
        order = _buyer_order(buyer, order_id, for_update=True)
        if order.status == OrderStatus.CANCELLED:
            raise errors.OrderStateInvalid(_("A cancelled order cannot be claimed."))
        try:
            with transaction.atomic():
                claim = GuaranteeClaim.objects.create(
                    order=order, reason=reason.strip()[:2000], filed_at=now, status=ClaimStatus.OPEN
                )
        except IntegrityError as error:
            raise errors.ClaimExists() from error
        outbox.emit(
            "claim.filed", order_event_payload(order, claim_id=claim.pk, filed_at=now.isoformat())
        )
    return claim


def chargeback_file(
    order_id: int,
    *,
    amount: Decimal,
    is_seller_fault: bool,
    now: datetime | None = None,
) -> Chargeback:
    """Recorded when the payment provider reports a chargeback."""
    now = now or clock.now()
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).filter(pk=order_id).first()
        if order is None:
            raise errors.OrderNotFound()
        chargeback = Chargeback.objects.create(
            order=order,
            amount=amount,
            currency=order.currency,
            is_seller_fault=is_seller_fault,
            filed_at=now,
        )
        outbox.emit(
            "chargeback.filed",
            order_event_payload(
                order,
                chargeback_id=chargeback.pk,
                is_seller_fault=is_seller_fault,
                filed_at=now.isoformat(),
            ),
        )
    return chargeback


def refund_issue(
    order_id: int,
    *,
    amount: Decimal,
    kind: str = RefundKind.REFUND,
    reason: str = "",
    actor: User | None = None,
    now: datetime | None = None,
) -> Refund:
    now = now or clock.now()
    if amount <= 0:
        raise errors.DomainError(_("The amount must be positive."), code="refund_amount_invalid")
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).filter(pk=order_id).first()
        if order is None:
            raise errors.OrderNotFound()
        if actor is not None and not actor.is_staff and order.seller.owner_id != actor.pk:
            raise errors.OrderNotFound()
        already = sum((refund.amount for refund in order.refunds.all()), Decimal(0))
        if already + amount > order.total:
            raise errors.DomainError(
                _("Refunds cannot exceed the order total."), code="refund_exceeds_total"
            )
        refund = Refund.objects.create(
            order=order,
            amount=amount,
            currency=order.currency,
            kind=kind,
            reason=reason[:300],
            issued_at=now,
        )
        outbox.emit(
            "refund.issued",
            order_event_payload(order, refund_id=refund.pk, kind=kind, issued_at=now.isoformat()),
        )
    return refund


# --- Sellers --------------------------------------------------------------------------------------


def seller_set_status(
    seller_id: int,
    *,
    status: str,
    reason: str,
    actor: User | None,
    now: datetime | None = None,
) -> Seller:
    """Activate, suspend or deactivate a seller. Leaving "active" also ends the owner's sessions and
    API tokens at once, so nobody keeps acting on a stale login."""
    from django.contrib.sessions.models import Session
    from rest_framework.authtoken.models import Token

    now = now or clock.now()
    if status not in SellerStatus.values:
        raise ValueError(f"unknown seller status {status!r}")
    with transaction.atomic():
        seller = Seller.objects.select_for_update().filter(pk=seller_id).first()
        if seller is None:
            raise errors.DomainError(_("No such seller."), code="seller_not_found", status=404)
        previous = seller.status
        if previous == status:
            return seller
        seller.status = status
        seller.save(update_fields=["status", "updated_at"])
        if status != SellerStatus.ACTIVE:
            Token.objects.filter(user_id=seller.owner_id).delete()
            owner_key = str(seller.owner_id)
            stale = [
                session.pk
                for session in Session.objects.filter(expire_date__gt=now).iterator()
                if session.get_decoded().get("_auth_user_id") == owner_key
            ]
            Session.objects.filter(pk__in=stale).delete()
        outbox.emit(
            "seller.status_changed",
            {
                "seller_id": seller.pk,
                "previous": previous,
                "status": status,
                "reason": reason[:2000],
                "actor_id": actor.pk if actor else None,
                "changed_at": now.isoformat(),
            },
        )
    return seller
