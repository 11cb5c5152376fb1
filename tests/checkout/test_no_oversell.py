"""Concurrent checkouts never sell more than the stock (real threads, separate connections)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from checkout import services
from checkout.errors import OutOfStock
from marketplace.models import Offer, Order, OrderLine
from tests.factories import AddressFactory, OfferFactory, UserFactory

BUYERS = 60
STOCK = 10


@pytest.mark.django_db(transaction=True)
def test_sixty_concurrent_checkouts_for_stock_ten_sell_exactly_ten():
    offer = OfferFactory(stock=STOCK)
    buyers = [UserFactory() for _ in range(BUYERS)]
    addresses = [AddressFactory(owner=buyer) for buyer in buyers]
    barrier = threading.Barrier(BUYERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def buy(index: int) -> None:
        try:
            barrier.wait()
            services.checkout_place(
                buyers[index],
                lines=[services.CartLine(offer.pk, 1)],
                address_id=addresses[index].pk,
            )
            result = "ok"
        except OutOfStock:
            result = "out_of_stock"
        except Exception as error:  # noqa: BLE001 - any other outcome fails the test below
            result = repr(error)
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=buy, args=(i,)) for i in range(BUYERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(set(outcomes)) == ["ok", "out_of_stock"]
    assert outcomes.count("ok") == STOCK
    assert outcomes.count("out_of_stock") == BUYERS - STOCK
    offer.refresh_from_db()
    assert offer.stock == 0
    assert Order.objects.filter(lines__offer=offer).count() == STOCK
    assert OrderLine.objects.filter(offer=offer).count() == STOCK
    assert Offer.objects.get(pk=offer.pk).stock == 0
