from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from checkout import services as checkout
from marketplace.models import Order
from marketplace.services import order_deliver, order_ship
from promotions import errors, services
from promotions.choices import DiscountType, IssueMode, Segment
from promotions.models import CodeFailures, Coupon, CouponHolder, CouponMisuse, IssueRun, Redemption
from promotions.selectors import segment_customers
from tests.conftest import client_for
from tests.factories import AddressFactory, OfferFactory, UserFactory
from tests.marketplace.helpers import place_order
from tests.promotions.factories import CampaignFactory


@pytest.mark.django_db
def test_failed_codes_are_limited_per_account_and_foreign_codes_are_flagged(
    shopper, shopper_b, offer
):
    foreign = services.coupon_issue_personal(CampaignFactory(), customer=shopper_b)
    with pytest.raises(errors.CouponInvalid):
        services.coupon_quote(shopper, code=foreign.code, lines=[(offer, 1)])
    for _ in range(9):
        with pytest.raises(errors.CouponInvalid):
            services.coupon_quote(shopper, code="WRONG", lines=[(offer, 1)])
    with pytest.raises(errors.CouponAttemptsExceeded):
        services.coupon_quote(shopper, code=foreign.code, lines=[(offer, 1)])
    assert CodeFailures.objects.get(customer=shopper).failures == 10
    assert list(CouponMisuse.objects.values_list("customer_id", "coupon_id")) == [
        (shopper.pk, foreign.pk)
    ]
    mine = services.coupon_issue_personal(CampaignFactory(), customer=shopper_b)
    assert services.coupon_quote(shopper_b, code=mine.code, lines=[(offer, 1)]).discount > 0


@pytest.mark.django_db(transaction=True)
def test_one_customer_using_a_group_code_twice_in_parallel_gets_one_discount():
    buyer = UserFactory()
    address = AddressFactory(owner=buyer)
    offer = OfferFactory(stock=10, price=Decimal("10.00"))
    run = IssueRun.objects.create(
        campaign=CampaignFactory(), segment=Segment.EXPLICIT, mode=IssueMode.SHARED
    )
    run.explicit_customers.add(buyer, UserFactory())
    services.issue_run_execute(run.pk)
    code = Coupon.objects.get(campaign=run.campaign).code
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            barrier.wait()
            checkout.checkout_place(
                buyer,
                lines=[checkout.CartLine(offer.pk, 1)],
                address_id=address.pk,
                coupon_code=code,
            )
            outcomes.append("ok")
        except errors.CouponUsedUp:
            outcomes.append("used_up")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "used_up"]
    assert Redemption.objects.count() == 1
    assert Order.objects.filter(discount_total__gt=0).count() == 1
    assert CouponHolder.objects.get(customer=buyer).uses == 1


@pytest.mark.django_db
def test_loyal_and_inactive_segments_with_a_pinned_clock(seller):
    now = timezone.now()
    loyal, casual, sleeper = (UserFactory(date_joined=now - timedelta(days=500)) for _ in "abc")
    for buyer in (loyal, casual, sleeper):
        AddressFactory(owner=buyer)
    for buyer, count, days_ago in ((loyal, 3, 20), (casual, 1, 20), (sleeper, 1, 400)):
        for _ in range(count):
            order = place_order(
                buyer, OfferFactory(seller=seller), now=now - timedelta(days=days_ago)
            )
            order_ship(
                seller,
                order_id=order.pk,
                carrier="dhl",
                tracking_number="00340434161234567890",
                now=now - timedelta(days=days_ago - 1),
            )
            order_deliver(order.pk, now=now - timedelta(days=days_ago - 2))
    loyal_run = IssueRun(campaign=CampaignFactory(), segment=Segment.LOYAL, parameter_orders=3)
    inactive_run = IssueRun(
        campaign=CampaignFactory(), segment=Segment.INACTIVE, parameter_days=180
    )
    assert list(segment_customers(loyal_run, now=now)) == [loyal]
    assert list(segment_customers(inactive_run, now=now)) == [sleeper]
    assert list(segment_customers(inactive_run, now=now - timedelta(days=300))) == []


@pytest.mark.django_db
def test_staff_export_campaign_statistics_as_csv(client, staff, shopper):
    campaign = CampaignFactory(name="Spring", discount_type=DiscountType.PERCENT)
    services.coupon_issue_personal(campaign, customer=shopper)
    client.force_login(staff)
    response = client.post(
        "/admin/promotions/campaign/", {"action": "export_csv", "_selected_action": [campaign.pk]}
    )
    lines = response.content.decode().splitlines()
    assert (
        lines[0]
        == "id,name,kind,currency,issued,emailed,applied,redeemed,redemption_rate,spent,revenue"
    )
    assert lines[1] == f"{campaign.pk},Spring,welcome,EUR,1,1,0,0,0.0,0.00,0.00"


@pytest.mark.django_db
def test_validate_endpoint_enforces_the_attempt_limit(shopper, offer):
    client = client_for(shopper)
    body = {"code": "NOPE", "lines": [{"offer_id": offer.pk, "quantity": 1}]}
    codes = [
        client.post("/api/coupons/validate/", body, format="json").json()["code"] for _ in range(11)
    ]
    assert codes == ["coupon_invalid"] * 10 + ["coupon_attempts_exceeded"]
