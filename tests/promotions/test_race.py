from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from checkout import services as checkout
from marketplace.models import Offer, Order
from promotions import errors, services
from promotions.models import Campaign, CouponHolder, Redemption
from tests.factories import AddressFactory, OfferFactory, UserFactory
from tests.promotions.factories import CampaignFactory

PARALLEL = 50


@pytest.mark.django_db(transaction=True)
def test_fifty_parallel_checkouts_with_one_single_use_code_give_exactly_one_discount():
    buyer = UserFactory()
    address = AddressFactory(owner=buyer)
    offer = OfferFactory(stock=PARALLEL, price=Decimal("20.00"))
    campaign = CampaignFactory(percent=Decimal("25"), budget=Decimal("1000"))
    coupon = services.coupon_issue_personal(campaign, customer=buyer)
    barrier = threading.Barrier(PARALLEL)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        try:
            barrier.wait()
            checkout.checkout_place(
                buyer,
                lines=[checkout.CartLine(offer.pk, 1)],
                address_id=address.pk,
                coupon_code=coupon.display_code,
            )
            result = "ok"
        except errors.CouponUsedUp:
            result = "coupon_used_up"
        except Exception as error:  # noqa: BLE001 - anything else fails the assertions below
            result = repr(error)
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(set(outcomes)) == ["coupon_used_up", "ok"]
    assert outcomes.count("ok") == 1
    assert Order.objects.count() == 1
    assert Order.objects.get().discount_total == Decimal("5.00")
    assert Redemption.objects.count() == 1
    assert CouponHolder.objects.get(coupon=coupon).uses == 1
    assert Campaign.objects.get(pk=campaign.pk).budget_spent == Decimal("5.00")
    assert Offer.objects.get(pk=offer.pk).stock == PARALLEL - 1
