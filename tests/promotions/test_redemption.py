"""Redemption inside checkout: several sellers' orders, cancellations, and a campaign that changes
between the quote and the commit."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from checkout import services as checkout
from core import outbox
from core.models import OutboxEvent
from marketplace.models import Offer, Order
from marketplace.services import order_cancel
from promotions import errors, services
from promotions.models import Campaign, CouponHolder, Redemption
from promotions.selectors import campaign_statistics
from tests.factories import AddressFactory, OfferFactory, SellerFactory, UserFactory
from tests.promotions.factories import CampaignFactory


def _buy(buyer, lines, code=None):
    return checkout.checkout_place(
        buyer,
        lines=[checkout.CartLine(offer.pk, quantity) for offer, quantity in lines],
        address_id=buyer.addresses.get().pk,
        coupon_code=code,
    )


def _two_seller_checkout(shopper, seller, seller_b, campaign):
    first = OfferFactory(seller=seller, price=Decimal("30.00"))
    second = OfferFactory(seller=seller_b, price=Decimal("10.00"))
    coupon = services.coupon_issue_personal(campaign, customer=shopper)
    orders = _buy(shopper, [(first, 1), (second, 1)], code=coupon.code).orders
    return coupon, orders


@pytest.mark.django_db
def test_one_checkout_with_two_sellers_takes_one_use_and_writes_a_row_per_order(
    shopper, seller, seller_b
):
    campaign = CampaignFactory(percent=Decimal("10"), budget=Decimal("100"))
    coupon, orders = _two_seller_checkout(shopper, seller, seller_b, campaign)
    assert [(order.discount_total, order.total) for order in orders] == [
        (Decimal("3.00"), Decimal("27.00")),
        (Decimal("1.00"), Decimal("9.00")),
    ]
    assert CouponHolder.objects.get(coupon=coupon).uses == 1
    assert sorted(Redemption.objects.values_list("order_id", "discount", "order_total")) == [
        (orders[0].pk, Decimal("3.00"), Decimal("27.00")),
        (orders[1].pk, Decimal("1.00"), Decimal("9.00")),
    ]
    assert Campaign.objects.get(pk=campaign.pk).budget_spent == Decimal("4.00")
    stats = campaign_statistics([campaign.pk])[campaign.pk]
    assert (stats["redeemed"], stats["spent"], stats["revenue"]) == (
        1,
        Decimal("4.00"),
        Decimal("36.00"),
    )
    assert CouponHolder.objects.get(coupon=coupon).applied_at is not None


@pytest.mark.django_db
def test_the_use_comes_back_when_the_last_order_of_the_checkout_is_cancelled(
    shopper, seller, seller_b
):
    campaign = CampaignFactory(percent=Decimal("10"), budget=Decimal("100"))
    coupon, orders = _two_seller_checkout(shopper, seller, seller_b, campaign)
    order_cancel(orders[0].pk, by="buyer", actor=shopper)
    outbox.relay()
    assert CouponHolder.objects.get(coupon=coupon).uses == 1  # the other order still stands
    assert Campaign.objects.get(pk=campaign.pk).budget_spent == Decimal("1.00")
    order_cancel(orders[1].pk, by="buyer", actor=shopper)
    outbox.relay()
    assert CouponHolder.objects.get(coupon=coupon).uses == 0
    assert Campaign.objects.get(pk=campaign.pk).budget_spent == Decimal("0.00")
    assert campaign_statistics([campaign.pk])[campaign.pk]["redeemed"] == 0
    assert [
        event.payload["use_returned"]
        for event in OutboxEvent.objects.filter(topic="coupon.redemption_reversed").order_by(
            "created_at"
        )
    ] == [False, True]


@pytest.mark.django_db(transaction=True)
def test_cancelling_both_orders_at_once_returns_the_use_exactly_once():
    buyer = UserFactory()
    AddressFactory(owner=buyer)
    campaign = CampaignFactory(percent=Decimal("10"), uses_per_code=2)
    coupon, orders = _two_seller_checkout(buyer, SellerFactory(), SellerFactory(), campaign)
    barrier = threading.Barrier(2)
    returned: list[bool] = []

    def reverse(order_id: int) -> None:
        try:
            barrier.wait()
            returned.append(services.redemption_reverse_for_order(order_id))
        finally:
            connection.close()

    threads = [threading.Thread(target=reverse, args=(order.pk,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert returned == [True, True]
    assert CouponHolder.objects.get(coupon=coupon).uses == 0
    assert Redemption.objects.filter(reversed_at__isnull=True).count() == 0
    assert Campaign.objects.get(pk=campaign.pk).budget_spent == Decimal("0.00")


@pytest.mark.django_db
def test_reversing_twice_changes_nothing_the_second_time(shopper, seller):
    offer = OfferFactory(seller=seller, price=Decimal("10.00"))
    campaign = CampaignFactory(percent=Decimal("10"), budget=Decimal("50"))
    coupon = services.coupon_issue_personal(campaign, customer=shopper)
    order = _buy(shopper, [(offer, 1)], code=coupon.code).orders[0]
    assert services.redemption_reverse_for_order(order.pk) is True
    assert services.redemption_reverse_for_order(order.pk) is False
    assert CouponHolder.objects.get(coupon=coupon).uses == 0
    assert Campaign.objects.get(pk=campaign.pk).budget_spent == Decimal("0.00")


def _redeem_after(shopper, offer, campaign, change):
    """Quote, let ``change`` happen, then redeem in a transaction as checkout does."""
    coupon = services.coupon_issue_personal(campaign, customer=shopper)
    quote = services.coupon_quote(shopper, code=coupon.code, lines=[(offer, 1)])
    change()
    order = Order.objects.create(
        buyer=shopper,
        seller=offer.seller,
        checkout_reference="00000000-0000-0000-0000-000000000001",
        currency="EUR",
        subtotal=offer.price,
        discount_total=quote.discount,
        total=offer.price - quote.discount,
        placed_at=campaign.starts_at,
        ship_by=campaign.starts_at.date(),
    )
    with transaction.atomic():
        services.coupon_redeem(
            quote,
            customer=shopper,
            orders=[order],
            checkout_reference=order.checkout_reference,
            now=campaign.starts_at,
        )
    return coupon


@pytest.mark.django_db
def test_a_campaign_paused_after_the_quote_refuses_the_redemption_and_changes_nothing(
    shopper, staff, offer
):
    campaign = CampaignFactory()
    with pytest.raises(errors.CampaignPaused):
        _redeem_after(
            shopper,
            offer,
            campaign,
            lambda: services.campaign_set_active(campaign.pk, is_active=False, actor=staff),
        )
    assert CouponHolder.objects.get(customer=shopper).uses == 0
    assert Redemption.objects.count() == 0


@pytest.mark.django_db
def test_a_budget_spent_after_the_quote_refuses_the_redemption_and_changes_nothing(shopper, offer):
    campaign = CampaignFactory(budget=Decimal("10.00"))
    with pytest.raises(errors.CouponBudgetExhausted):
        _redeem_after(
            shopper,
            offer,
            campaign,
            lambda: Campaign.objects.filter(pk=campaign.pk).update(budget_spent=Decimal("9.50")),
        )
    assert CouponHolder.objects.get(customer=shopper).uses == 0
    assert Campaign.objects.get(pk=campaign.pk).budget_spent == Decimal("9.50")
    assert Redemption.objects.count() == 0


@pytest.mark.django_db
def test_a_failed_redemption_rolls_the_whole_checkout_back(shopper, seller, monkeypatch):
    offer = OfferFactory(seller=seller, stock=3)
    coupon = services.coupon_issue_personal(CampaignFactory(), customer=shopper)
    quote = services.coupon_quote

    def quote_then_spend_elsewhere(*args, **kwargs):
        # Another checkout takes the use between this checkout's quote and its transaction.
        quoted = quote(*args, **kwargs)
        CouponHolder.objects.filter(coupon=coupon).update(uses=1)
        return quoted

    monkeypatch.setattr(checkout.promotions, "coupon_quote", quote_then_spend_elsewhere)
    with pytest.raises(errors.CouponUsedUp):
        _buy(shopper, [(offer, 1)], code=coupon.code)
    assert Offer.objects.get(pk=offer.pk).stock == 3
    assert Order.objects.count() == 0
    assert Redemption.objects.count() == 0
    assert CouponHolder.objects.get(coupon=coupon).uses == 1
