"""Coverage checks after a template or warehouse change, over real customer addresses."""

from __future__ import annotations

import pytest
from django.core import mail

from config.celery import app
from core import outbox
from fulfillment import services
from fulfillment.models import CoverageReport, Warehouse
from fulfillment.services import coverage as coverage_module
from marketplace.choices import FulfilmentChannel
from tests.conftest import client_for
from tests.factories import AddressFactory, OfferFactory, UserFactory
from tests.fulfillment.factories import stock, template, warehouse


@pytest.fixture
def eager_celery():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def customers(shopper, shopper_b):
    """Real customer addresses: Berlin (DE-10), Munich (DE-80), Rügen (DE-18), Vienna (AT-10)."""
    AddressFactory(postal_code="18565", city="Sassnitz")
    AddressFactory(country="AT", postal_code="1010", city="Wien")
    return [shopper, shopper_b]


def _reports(offer):
    return sorted(
        CoverageReport.objects.filter(offer=offer).values_list(
            "country", "sampled", "shippable", "unbuyable_regions", "newly_unbuyable_regions"
        )
    )


@pytest.mark.django_db
def test_a_template_change_reports_exactly_the_regions_it_made_unbuyable_and_mails_the_seller(
    customers, seller, eager_celery, django_capture_on_commit_callbacks
):
    offer = OfferFactory(seller=seller, product__title="Lamp")
    existing = template(seller, includes=(("DE", "", 1, 3), ("AT", "", 2, 4)))
    # No coverage report exists yet: "became unbuyable" comes from the captured rules, not from
    # an earlier report.
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(seller.owner).put(
            f"/api/seller/shipping-templates/{existing.pk}/",
            {
                "name": "Standard",
                "is_default": True,
                "rules": [
                    {"country": "DE", "postal_prefix": "1"},
                    {"country": "AT"},
                ],
            },
            format="json",
        )
    assert response.status_code == 200
    assert _reports(offer) == [
        ("AT", 1, 1, [], []),
        ("DE", 3, 2, ["DE-80"], ["DE-80"]),
    ]
    outbox.relay()
    (message,) = mail.outbox
    assert message.to == [seller.owner.email]
    assert "Lamp (DE): DE-80" in message.body


@pytest.mark.django_db
def test_a_template_change_that_loses_nothing_reports_nothing_new(
    customers, seller, eager_celery, django_capture_on_commit_callbacks
):
    offer = OfferFactory(seller=seller)
    existing = template(seller, includes=(("DE", "8", 1, 3),))
    with django_capture_on_commit_callbacks(execute=True):
        services.template_save(
            seller,
            template_id=existing.pk,
            name="Wider",
            is_default=True,
            handling_days=None,
            ships_to_po_boxes=True,
            rules_data=[{"country": "DE"}],
            offer_ids=[],
        )
    assert _reports(offer) == [("AT", 1, 0, ["AT-10"], []), ("DE", 3, 3, [], [])]
    outbox.relay()
    assert mail.outbox == []


@pytest.mark.django_db
def test_deleting_the_only_template_falls_back_to_the_home_country(
    customers, seller, eager_celery, django_capture_on_commit_callbacks
):
    offer = OfferFactory(seller=seller)
    existing = template(seller, includes=(("DE", "", 1, 3), ("AT", "", 2, 4)))
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(seller.owner).delete(f"/api/seller/shipping-templates/{existing.pk}/")
    assert response.status_code == 204
    assert _reports(offer) == [("AT", 1, 0, ["AT-10"], ["AT-10"]), ("DE", 3, 3, [], [])]


@pytest.mark.django_db
def test_staff_narrowing_a_warehouse_in_admin_reports_the_lost_regions(
    client, customers, seller, staff, eager_celery, django_capture_on_commit_callbacks
):
    offer = OfferFactory(seller=seller, fulfilment_channel=FulfilmentChannel.PLATFORM)
    elsewhere = OfferFactory(seller=seller, fulfilment_channel=FulfilmentChannel.PLATFORM)
    hub = warehouse(areas=(("DE", "1", 1, 2), ("DE", "8", 1, 2)))
    stock(hub, offer)
    north, south = hub.coverage.order_by("pk")
    data = {
        "code": hub.code,
        "name": hub.name,
        "country": "DE",
        "city": hub.city,
        "handling_days": 1,
        "is_active": "on",
        "coverage-TOTAL_FORMS": 2,
        "coverage-INITIAL_FORMS": 2,
        "coverage-MIN_NUM_FORMS": 0,
        "coverage-MAX_NUM_FORMS": 1000,
        "stock-TOTAL_FORMS": 1,
        "stock-INITIAL_FORMS": 1,
        "stock-MIN_NUM_FORMS": 0,
        "stock-MAX_NUM_FORMS": 1000,
        "stock-0-id": hub.stock.get().pk,
        "stock-0-warehouse": hub.pk,
        "stock-0-offer": offer.pk,
        "stock-0-quantity": 10,
    }
    for index, row in enumerate((north, south)):
        data |= {
            f"coverage-{index}-id": row.pk,
            f"coverage-{index}-warehouse": hub.pk,
            f"coverage-{index}-country": "DE",
            f"coverage-{index}-postal_prefix": row.postal_prefix,
            f"coverage-{index}-postal_from": "",
            f"coverage-{index}-postal_to": "",
            f"coverage-{index}-transit_days_min": 1,
            f"coverage-{index}-transit_days_max": 2,
        }
    data["coverage-1-DELETE"] = "on"
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/fulfillment/warehouse/{hub.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]
    assert list(hub.coverage.values_list("postal_prefix", flat=True)) == ["1"]
    assert _reports(offer) == [
        ("AT", 1, 0, ["AT-10"], []),
        ("DE", 3, 2, ["DE-80"], ["DE-80"]),
    ]
    assert _reports(elsewhere) == []  # not held by this warehouse: not affected


@pytest.mark.django_db
def test_staff_deleting_a_warehouse_reports_what_its_offers_lost(
    client, customers, seller, staff, eager_celery, django_capture_on_commit_callbacks
):
    offer = OfferFactory(seller=seller, fulfilment_channel=FulfilmentChannel.PLATFORM)
    hub = warehouse(areas=(("AT", "", 1, 2),))
    stock(hub, offer)
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/fulfillment/warehouse/{hub.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Warehouse.objects.exists()
    assert _reports(offer) == [("AT", 1, 0, ["AT-10"], ["AT-10"]), ("DE", 3, 0, _all_de(), [])]


def _all_de():
    return ["DE-10", "DE-18", "DE-80"]


@pytest.mark.django_db
def test_the_sample_takes_the_newest_address_per_region_a_few_per_country(customers, monkeypatch):
    AddressFactory(postal_code="10999", city="Berlin")  # newer, same region as the shopper
    AddressFactory(postal_code="04109", city="Leipzig", is_po_box=True)  # a PO box: not a region
    AddressFactory(owner=UserFactory(), country="FR", postal_code="75001", city="Paris")
    monkeypatch.setattr(coverage_module, "COVERAGE_SAMPLE_PER_COUNTRY", 2)
    samples = services.sample_addresses()
    assert {
        country: [address.postal_code for address in addresses]
        for country, addresses in samples.items()
    } == {"AT": ["1010"], "DE": ["10999", "18565"], "FR": ["75001"]}
