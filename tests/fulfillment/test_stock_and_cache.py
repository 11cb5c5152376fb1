"""The cached rule snapshot: a warm check issues no SQL; only changes that matter invalidate it.

Warehouse stock moves with every platform order; only crossing zero is a rule change.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from checkout import services as checkout
from core import outbox
from fulfillment import rules, services
from fulfillment.constants import RULES_VERSION_CHECK_SECONDS
from fulfillment.models import WarehouseAllocation, WarehouseStock
from marketplace import services as marketplace
from marketplace.choices import CancelledBy, FulfilmentChannel
from marketplace.models import Offer
from tests.factories import AddressFactory, OfferFactory, UserFactory
from tests.fulfillment.factories import stock, template, warehouse


def _loaded(offer):
    return Offer.objects.select_related("seller", "product__category").get(pk=offer.pk)


def _warm():
    """A snapshot is loaded and trusted, as in a process that has served a request already; for
    the rest of the test only a version bump in this process drops it (the shared Redis may be
    flushed by other test runs, which must not look like a bump here)."""
    rules.invalidate_local()
    snapshot = rules.snapshot()
    rules._checked_at = time.monotonic() + 3600
    return snapshot


def _still_cached(snapshot) -> bool:
    """Whether this process still trusts ``snapshot``: the version bump drops it."""
    return rules._cached is snapshot


@pytest.mark.django_db
def test_a_warm_check_issues_no_sql(shopper, seller, django_assert_num_queries):
    offer = _loaded(OfferFactory(seller=seller))
    platform = _loaded(OfferFactory(fulfilment_channel=FulfilmentChannel.PLATFORM))
    stock(warehouse(), platform)
    address = shopper.addresses.get()
    _warm()
    with django_assert_num_queries(0):
        for _ in range(100):
            assert services.shippability(offer, address).is_shippable
            assert services.shippability(platform, address).is_shippable


@pytest.mark.django_db
def test_a_template_change_is_seen_by_every_process_after_the_version_check(
    shopper, seller, django_capture_on_commit_callbacks
):
    offer = _loaded(OfferFactory(seller=seller))
    address = shopper.addresses.get()
    snapshot = _warm()
    assert services.shippability(offer, address).reason_code == "ok"
    with django_capture_on_commit_callbacks(execute=True):
        template(seller, includes=(("AT", "", 1, 3),))
    assert not _still_cached(snapshot)
    # Another process keeps its snapshot until its next look at the shared version number.
    other_process = rules.load(version=snapshot.version)
    rules._cached, rules._checked_at = other_process, 0.0
    assert rules.current_version() != snapshot.version
    assert services.shippability(offer, address).reason_code == "seller_does_not_ship_to_region"
    assert RULES_VERSION_CHECK_SECONDS <= 5  # shoppers see a change within seconds


@pytest.mark.django_db
def test_a_warehouse_stock_edit_invalidates_only_when_it_crosses_zero(
    django_capture_on_commit_callbacks,
):
    offer = OfferFactory(fulfilment_channel=FulfilmentChannel.PLATFORM)
    row = stock(warehouse(), offer, 5)
    snapshot = _warm()
    with django_capture_on_commit_callbacks(execute=True):
        row.quantity = 3
        row.save()
    assert _still_cached(snapshot)
    with django_capture_on_commit_callbacks(execute=True):
        row.quantity = 0
        row.save()
    assert not _still_cached(snapshot)
    snapshot = _warm()
    with django_capture_on_commit_callbacks(execute=True):
        WarehouseStock.objects.get(pk=row.pk).save()
    assert _still_cached(snapshot)
    with django_capture_on_commit_callbacks(execute=True):
        row.quantity = 7
        row.save()
    assert not _still_cached(snapshot)


@pytest.mark.django_db
def test_platform_orders_take_warehouse_stock_and_only_the_last_unit_bumps_the_version(
    shopper, django_capture_on_commit_callbacks
):
    offer = OfferFactory(fulfilment_channel=FulfilmentChannel.PLATFORM, stock=10)
    far = warehouse("muc1", "München", areas=(("DE", "", 2, 4),))
    near = warehouse("ber1", "Berlin", areas=(("DE", "1", 1, 1),))
    stock(far, offer, 5)
    stock(near, offer, 2)
    address_id = shopper.addresses.get().pk
    snapshot = _warm()

    def buy(quantity):
        with django_capture_on_commit_callbacks(execute=True):
            order = checkout.checkout_place(
                shopper, lines=[checkout.CartLine(offer.pk, quantity)], address_id=address_id
            ).orders[0]
            outbox.relay()
        return order

    first = buy(1)
    assert _still_cached(snapshot)  # Berlin still holds one: nothing changed for the rules
    second = buy(2)  # Berlin's last unit, then one from Munich
    assert not _still_cached(snapshot)
    assert sorted(
        WarehouseAllocation.objects.values_list("order_id", "warehouse__code", "quantity")
    ) == [(first.pk, "ber1", 1), (second.pk, "ber1", 1), (second.pk, "muc1", 1)]
    assert dict(WarehouseStock.objects.values_list("warehouse__code", "quantity")) == {
        "ber1": 0,
        "muc1": 4,
    }
    assert services.warehouse_stock_allocate(second.pk) == []  # idempotent

    snapshot = _warm()
    with django_capture_on_commit_callbacks(execute=True):
        marketplace.order_cancel(second.pk, by=CancelledBy.BUYER, actor=shopper)
        outbox.relay()
    assert not _still_cached(snapshot)  # Berlin holds stock again
    assert dict(WarehouseStock.objects.values_list("warehouse__code", "quantity")) == {
        "ber1": 1,
        "muc1": 5,
    }
    assert services.warehouse_stock_release(second.pk) == 0  # idempotent
    assert Offer.objects.get(pk=offer.pk).stock == 9


@pytest.mark.django_db
def test_seller_fulfilled_orders_leave_warehouse_stock_alone(shopper, seller):
    offer = OfferFactory(seller=seller)
    row = stock(warehouse(), offer, 5)
    rules.invalidate_local()
    order = checkout.checkout_place(
        shopper, lines=[checkout.CartLine(offer.pk, 2)], address_id=shopper.addresses.get().pk
    ).orders[0]
    outbox.relay()
    assert WarehouseAllocation.objects.filter(order=order).count() == 0
    assert WarehouseStock.objects.get(pk=row.pk).quantity == 5


ORDERS = 24


@pytest.mark.django_db(transaction=True)
def test_concurrent_allocations_never_take_more_than_a_warehouse_holds_nor_deadlock():
    """Half the buyers prefer Berlin, half Munich (their addresses decide), so allocations lock
    the same two rows from opposite ends of the preference list."""
    offer = OfferFactory(fulfilment_channel=FulfilmentChannel.PLATFORM, stock=ORDERS)
    berlin = warehouse("ber1", "Berlin", areas=(("DE", "1", 1, 1), ("DE", "", 3, 3)))
    munich = warehouse("muc1", "München", areas=(("DE", "8", 1, 1), ("DE", "", 3, 3)))
    stock(berlin, offer, 10)
    stock(munich, offer, 10)
    rules.invalidate_local()
    orders = []
    for index in range(ORDERS):
        buyer = UserFactory()
        address = AddressFactory(owner=buyer, postal_code="10115" if index % 2 else "80331")
        orders.append(
            checkout.checkout_place(
                buyer, lines=[checkout.CartLine(offer.pk, 1)], address_id=address.pk
            ).orders[0]
        )
    barrier = threading.Barrier(ORDERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def allocate(order_id: int) -> None:
        try:
            barrier.wait()
            services.warehouse_stock_allocate(order_id)
            result = "ok"
        except Exception as error:  # noqa: BLE001 - any error fails the assertion below
            result = repr(error)
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=allocate, args=(order.pk,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes == ["ok"] * ORDERS
    assert sorted(WarehouseStock.objects.values_list("quantity", flat=True)) == [0, 0]
    allocated = sorted(WarehouseAllocation.objects.values_list("warehouse__code", "quantity"))
    assert sum(quantity for _code, quantity in allocated) == 20
    assert {code for code, _quantity in allocated} == {"ber1", "muc1"}
