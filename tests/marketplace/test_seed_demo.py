from __future__ import annotations

import pytest
from django.core.management import call_command

from marketplace.models import Offer, Order, Product, Seller, User


@pytest.mark.django_db
def test_seed_demo_builds_a_marketplace_once():
    call_command("seed_demo", orders=40)
    assert User.objects.filter(email="admin@demo.test", is_staff=True).exists()
    assert Seller.objects.count() == 20
    assert User.objects.filter(email__startswith="shopper").count() == 200
    assert Product.objects.count() == 500
    assert Order.objects.count() == 40
    assert User.objects.get(email="seller1@demo.test").check_password("demo-pass-123")
    offers_before = Offer.objects.count()
    from invitations.models import Drop, InvitationRequest
    from promotions.models import CouponHolder
    from ratings.models import SellerRating

    assert CouponHolder.objects.count() == 20
    assert Drop.objects.count() == 1
    assert InvitationRequest.objects.count() > 0
    assert SellerRating.objects.count() == 20

    call_command("seed_demo")

    assert Order.objects.count() == 40
    assert Offer.objects.count() == offers_before
