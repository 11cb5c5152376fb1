"""Concurrent checkouts never sell more than the stock (real threads, separate connections)."""

from __future__ import annotations

import pytest
from django.db import connection

from checkout import services
from checkout.errors import OutOfStock
from marketplace.models import Offer, Order, OrderLine
from tests.factories import AddressFactory, OfferFactory, UserFactory
from tests.utils import parallel

BUYERS = 60
STOCK = 10


@pytest.mark.django_db(transaction=True)
def test_sixty_concurrent_checkouts_for_stock_ten_sell_exactly_ten():
    offer = OfferFactory(stock=STOCK)
    buyers = [UserFactory() for _ in range(BUYERS)]
    addresses = [AddressFactory(owner=buyer) for buyer in buyers]

    def buy(index: int) -> str:
        try:
            services.checkout_place(
                buyers[index],
                lines=[services.CartLine(offer.pk, 1)],
                address_id=addresses[index].pk,
            )
            return "ok"
        except OutOfStock:
            return "out_of_stock"
        except Exception as error:  # noqa: BLE001 - any other outcome fails the test below
            return repr(error)
        finally:
            connection.close()

    outcomes = parallel(BUYERS, buy)

    assert sorted(set(outcomes)) == ["ok", "out_of_stock"]
    assert outcomes.count("ok") == STOCK
    assert outcomes.count("out_of_stock") == BUYERS - STOCK
    offer.refresh_from_db()
    assert offer.stock == 0
    assert Order.objects.filter(lines__offer=offer).count() == STOCK
    assert OrderLine.objects.filter(offer=offer).count() == STOCK
    assert Offer.objects.get(pk=offer.pk).stock == 0
