"""Placing an order: every rule of a purchase in one durable transaction.

Checks that only read (offers, address, shippability) run first, outside the transaction; the
transaction then takes the stock with guarded updates, writes orders, lines and events together.
Capabilities that take part in a purchase (shippability, coupons, invitations) add their step here.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import OperationalError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from checkout import errors
from core import clock, outbox
from core.clock import add_business_days
from core.money import quantize
from fulfillment import services as fulfillment
from invitations import services as drops
from marketplace.choices import SellerStatus
from marketplace.models import Address, Offer, Order, OrderLine, User
from marketplace.services import order_event_payload
from promotions import services as promotions

logger = logging.getLogger(__name__)

MAX_LINES = 50  # a cart bigger than this is a script, not a shopper
MAX_QUANTITY = 100  # per line; bulk buyers use the business channel
RETRY_ATTEMPTS = 3  # serialization failures and deadlocks (SQLSTATE 40001, 40P01)
RETRY_SQLSTATES = {"40001", "40P01"}


@dataclass(frozen=True)
class CartLine:
    offer_id: int
    quantity: int


@dataclass
class PlannedOrder:
    """What checkout will write for one seller."""

    seller_id: int
    offers: list[tuple[Offer, int]]
    promised_delivery_earliest: Any = None
    promised_delivery_latest: Any = None
    fulfilment_channel: str = ""
    discounts: dict[int, Decimal] = field(default_factory=dict)


@dataclass
class CheckoutResult:
    checkout_reference: uuid.UUID
    orders: list[Order]


def _merge_lines(lines: Sequence[CartLine]) -> list[CartLine]:
    if not lines:
        raise errors.CartInvalid(
            _("The cart is empty."), fields={"lines": [_("Add at least one line.")]}
        )
    quantities: dict[int, int] = defaultdict(int)
    for line in lines:
        if not 1 <= line.quantity <= MAX_QUANTITY:
            raise errors.CartInvalid(
                fields={"lines": [_("Quantities must be 1 to %(max)d.") % {"max": MAX_QUANTITY}]}
            )
        quantities[line.offer_id] += line.quantity
    if len(quantities) > MAX_LINES:
        raise errors.CartInvalid(
            fields={"lines": [_("At most %(max)d lines.") % {"max": MAX_LINES}]}
        )
    merged = [CartLine(offer_id, quantity) for offer_id, quantity in sorted(quantities.items())]
    if any(line.quantity > MAX_QUANTITY for line in merged):
        raise errors.CartInvalid(
            fields={"lines": [_("Quantities must be 1 to %(max)d.") % {"max": MAX_QUANTITY}]}
        )
    return merged


def _load_offers(lines: list[CartLine]) -> dict[int, Offer]:
    offers = Offer.objects.select_related("seller", "product", "product__category").in_bulk(
        [line.offer_id for line in lines]
    )
    for line in lines:
        offer = offers.get(line.offer_id)
        if offer is None:
            raise errors.OfferUnavailable(
                _("No such offer."),
                code="offer_not_found",
                status=404,
                extra={"offer_id": line.offer_id},
            )
        if not offer.is_active or not offer.product.is_active:
            raise errors.OfferUnavailable(extra={"offer_id": offer.pk})
        if offer.seller.status != SellerStatus.ACTIVE:
            raise errors.SellerNotActive(extra={"offer_id": offer.pk})
    return offers


def checkout_place(
    buyer: User,
    *,
    lines: Sequence[CartLine],
    address_id: int,
    coupon_code: str | None = None,
    override: fulfillment.OverrideRequest | None = None,
    in_transaction: Callable[[CheckoutResult], None] | None = None,
    now: datetime | None = None,
) -> CheckoutResult:
    """Place one order per seller for the cart, or refuse it whole and change nothing.

    ``override``: staff placing a shopper's order that shippability refuses, allowed only while a
    confirmed incident explains the refusal; the override is audited with the order.
    ``in_transaction``: called with the result inside the checkout's transaction (the API stores its
    idempotent answer there, so the answer and the orders commit together).
    """
    now = now or clock.now()
    merged = _merge_lines(lines)
    address = Address.objects.filter(owner=buyer, pk=address_id).first()
    if address is None:
        raise errors.CheckoutAddressNotFound()
    offers = _load_offers(merged)
    # Invitation-only offers: the buyer needs a valid invitation; its unit is already held for them.
    invitations: dict[int, Any] = {}
    for line in merged:
        offer = offers[line.offer_id]
        if offer.requires_invitation:
            invitations[offer.pk] = drops.invitation_for_checkout(
                buyer, offer, line.quantity, now=now
            )
            offer.stock = max(offer.stock, 1)  # the held unit is this buyer's stock

    plans: dict[int, PlannedOrder] = {}
    overridden: list[tuple[int, Any, str]] = []
    for line in merged:
        offer = offers[line.offer_id]
        plan = plans.setdefault(offer.seller_id, PlannedOrder(seller_id=offer.seller_id, offers=[]))
        plan.offers.append((offer, line.quantity))
        plan.fulfilment_channel = offer.fulfilment_channel
        decision = fulfillment.shippability(offer, address, now=now)
        if not decision.is_shippable:
            if override is None:
                fulfillment.refusal_record(
                    offer, decision=decision, address=address, quantity=line.quantity, now=now
                )
                raise fulfillment.ShippabilityRefused(decision, offer.pk)
            incident = fulfillment.override_incident(offer, decision, override)
            overridden.append((offer.seller_id, incident, decision.reason_code))
            continue
        # An order promises the latest window of its lines: it arrives when its last item does.
        if plan.promised_delivery_latest is None or decision.latest > plan.promised_delivery_latest:
            plan.promised_delivery_earliest = decision.earliest
            plan.promised_delivery_latest = decision.latest

    # A coupon is checked before the transaction and redeemed inside it with guarded updates.
    coupon = None
    if coupon_code:
        coupon = promotions.coupon_quote(
            buyer,
            code=coupon_code,
            lines=[(offers[line.offer_id], line.quantity) for line in merged],
            now=now,
            mark_applied=False,  # the redemption marks it, in the same statement
        )
        for plan in plans.values():
            for offer, _quantity in plan.offers:
                if offer.pk in coupon.line_discounts:
                    plan.discounts[offer.pk] = coupon.line_discounts[offer.pk]

    for attempt in range(1, RETRY_ATTEMPTS + 1):
        try:
            result = _commit(
                buyer,
                address,
                merged,
                plans,
                now,
                coupon,
                override,
                overridden,
                invitations,
                in_transaction,
            )
            return result
        except OperationalError as error:
            sqlstate = getattr(getattr(error, "__cause__", None), "sqlstate", None)
            if sqlstate not in RETRY_SQLSTATES or attempt == RETRY_ATTEMPTS:
                raise
            logger.info("checkout retried after %s", sqlstate)
            time.sleep(0.01 * attempt)
    raise AssertionError("unreachable")


def _commit(
    buyer: User,
    address: Address,
    merged: list[CartLine],
    plans: dict[int, PlannedOrder],
    now: datetime,
    coupon: promotions.CouponQuote | None = None,
    override: fulfillment.OverrideRequest | None = None,
    overridden: list[tuple[int, Any, str]] | None = None,
    invitations: dict[int, Any] | None = None,
    in_transaction: Callable[[CheckoutResult], None] | None = None,
) -> CheckoutResult:
    reference = uuid.uuid4()
    offers_by_id = {offer.pk: offer for plan in plans.values() for offer, _quantity in plan.offers}
    with transaction.atomic(durable=True):
        # Offer-id order: two carts with the same offers take their row locks in the same order.
        invitations = invitations or {}
        for line in merged:
            if line.offer_id in invitations:
                continue  # the unit was taken from stock when the invitation was drawn
            taken = Offer.objects.filter(
                pk=line.offer_id, stock__gte=line.quantity, is_active=True
            ).update(stock=F("stock") - line.quantity)
            if taken != 1:
                raise errors.OutOfStock(extra={"offer_id": line.offer_id})

        orders: list[Order] = []
        for seller_id in sorted(plans):
            plan = plans[seller_id]
            currency = plan.offers[0][0].currency
            if any(offer.currency != currency for offer, _quantity in plan.offers):
                raise errors.CartInvalid(_("One seller's offers must share a currency."))
            line_rows = []
            subtotal = Decimal(0)
            discount_total = Decimal(0)
            for offer, quantity in plan.offers:
                gross = quantize(offer.price * quantity, currency)
                discount = plan.discounts.get(offer.pk, Decimal(0))
                subtotal += gross
                discount_total += discount
                line_rows.append((offer, quantity, gross, discount))
            handling = max(offer.handling_days for offer, _quantity in plan.offers)
            order = Order.objects.create(
                buyer=buyer,
                seller_id=seller_id,
                checkout_reference=reference,
                currency=currency,
                subtotal=subtotal,
                discount_total=discount_total,
                total=subtotal - discount_total,
                address=address,
                ship_name=address.name,
                ship_line1=address.line1,
                ship_line2=address.line2,
                ship_city=address.city,
                ship_region=address.region,
                ship_postal_code=address.postal_code,
                ship_country=address.country,
                fulfilment_channel=plan.fulfilment_channel,
                placed_at=now,
                ship_by=add_business_days(now.date(), handling),
                promised_delivery_earliest=plan.promised_delivery_earliest,
                promised_delivery_latest=plan.promised_delivery_latest,
            )
            OrderLine.objects.bulk_create(
                [
                    OrderLine(
                        order=order,
                        offer=offer,
                        product_title=offer.product.title,
                        quantity=quantity,
                        unit_price=offer.price,
                        discount=discount,
                        line_total=gross - discount,
                    )
                    for offer, quantity, gross, discount in line_rows
                ]
            )
            outbox.emit(
                "order.placed",
                order_event_payload(
                    order,
                    checkout_reference=str(reference),
                    placed_at=now.isoformat(),
                    ship_by=order.ship_by.isoformat(),
                    total=str(order.total),
                    currency=currency,
                    lines=[
                        {
                            "offer_id": offer.pk,
                            "quantity": quantity,
                            "line_total": str(gross - discount),
                        }
                        for offer, quantity, gross, discount in line_rows
                    ],
                ),
            )
            orders.append(order)
        by_seller = {order.seller_id: order for order in orders}
        quantities = {line.offer_id: line.quantity for line in merged}
        for offer_id, invitation in invitations.items():
            # Guarded: invited and unexpired, once; a lost race raises and rolls all of this back.
            drops.invitation_consume(
                invitation.pk,
                order=by_seller[offers_by_id[offer_id].seller_id],
                quantity=quantities[offer_id],
                now=now,
            )
        for seller_id, incident, refused_reason in overridden or []:
            fulfillment.override_record(
                incident,
                order=by_seller[seller_id],
                request=override,
                refused_reason=refused_reason,
            )
        if coupon is not None:
            promotions.coupon_redeem(
                coupon, customer=buyer, orders=orders, checkout_reference=reference, now=now
            )
        result = CheckoutResult(checkout_reference=reference, orders=orders)
        if in_transaction is not None:
            in_transaction(result)
    return result
