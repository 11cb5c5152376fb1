"""The seller dashboard's shippability page: check, incidents, coverage, and what it costs."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from config.celery import app
from fulfillment import rules
from fulfillment.choices import IncidentStatus
from fulfillment.models import CoverageReport, Incident
from tests.factories import AddressFactory, OfferFactory
from tests.fulfillment.factories import at, template


@pytest.fixture
def eager_celery():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.mark.django_db
def test_check_coverage_now_fills_the_table_by_country(
    client, seller, shopper, shopper_b, eager_celery, django_capture_on_commit_callbacks
):
    AddressFactory(country="AT", postal_code="1010")
    offer = OfferFactory(seller=seller, product__title="Lamp")
    template(seller, includes=(("DE", "1", 1, 3),))
    rules.invalidate_local()
    client.force_login(seller.owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("dashboard:shippability-coverage-check"))
    assert response.status_code == 302
    assert sorted(
        CoverageReport.objects.filter(offer=offer).values_list(
            "country", "shippable", "sampled", "unbuyable_regions"
        )
    ) == [("AT", 0, 1, ["AT-10"]), ("DE", 1, 2, ["DE-80"])]
    page = client.get(reverse("dashboard:shippability"))
    assert [row["offer"].pk for row in page.context["coverage"]] == [offer.pk]
    assert b"1 / 2" in page.content
    assert client.get(reverse("dashboard:shippability-coverage-check")).status_code == 405


@pytest.mark.django_db
def test_the_page_shows_my_incidents_as_an_alert_with_blocked_demand(client, seller, seller_b):
    mine = OfferFactory(seller=seller, product__title="Lamp")
    opened = at(date(2026, 11, 23))
    Incident.objects.create(
        offer=mine,
        seller=seller,
        reason="no_warehouse_serves_address",
        status=IncidentStatus.CONFIRMED,
        regions=["DE-80", "DE-81"],
        attempts=57,
        blocked_value="1139.43",
        opened_at=opened,
        last_refusal_at=opened,
    )
    Incident.objects.create(
        offer=mine,
        seller=seller,
        reason="out_of_stock",
        status=IncidentStatus.RESOLVED,
        opened_at=opened,
        last_refusal_at=opened,
    )
    Incident.objects.create(
        offer=OfferFactory(seller=seller_b),
        seller=seller_b,
        reason="out_of_stock",
        opened_at=opened,
        last_refusal_at=opened,
    )
    client.force_login(seller.owner)
    response = client.get(reverse("dashboard:shippability"))
    assert [incident.reason for incident in response.context["incidents"]] == [
        "no_warehouse_serves_address"
    ]
    text = response.content.decode()
    assert "57 refused attempts worth 1139.43 EUR" in text
    assert "DE-80, DE-81" in text
    assert "confirmed the fault" in text


@pytest.mark.django_db
def test_the_page_costs_a_fixed_number_of_queries_however_many_offers(
    client, seller, django_assert_max_num_queries
):
    template(seller)
    for _ in range(3):
        OfferFactory(seller=seller)
    client.force_login(seller.owner)
    url = reverse("dashboard:shippability")
    params = {"offer": seller.offers.first().pk, "country": "DE", "postal_code": "10115"}
    client.get(url, params)  # warm: rules snapshot, session, seller
    with django_assert_max_num_queries(8) as few:
        client.get(url, params)
    for _ in range(20):
        OfferFactory(seller=seller)
    with django_assert_max_num_queries(len(few)):
        response = client.get(url, params)
    assert response.context["decision"].reason_code == "ok"


@pytest.mark.django_db
def test_anonymous_and_non_sellers_are_kept_out(client, shopper):
    url = reverse("dashboard:shippability")
    assert client.get(url).status_code == 302
    client.force_login(shopper)
    assert client.get(url).status_code == 403
    assert client.post(reverse("dashboard:shippability-coverage-check")).status_code == 403


@pytest.mark.django_db
def test_every_dashboard_page_warns_of_my_open_incidents_only(client, seller, seller_b):
    opened = at(date(2026, 11, 23))
    Incident.objects.create(
        offer=OfferFactory(seller=seller_b),
        seller=seller_b,
        reason="out_of_stock",
        opened_at=opened,
        last_refusal_at=opened,
    )
    client.force_login(seller.owner)
    assert 'data-testid="incident-banner"' not in client.get(reverse("dashboard:home")).text

    mine = OfferFactory(seller=seller)
    for reason in ("out_of_stock", "no_warehouse_serves_address"):
        Incident.objects.create(
            offer=mine, seller=seller, reason=reason, opened_at=opened, last_refusal_at=opened
        )
    Incident.objects.create(
        offer=mine,
        seller=seller,
        reason="country_not_served",
        status=IncidentStatus.RESOLVED,
        opened_at=opened,
        last_refusal_at=opened,
    )
    page = client.get(reverse("dashboard:home")).text
    assert 'data-testid="incident-banner"' in page
    assert "2 shippability incidents are open" in page
    assert reverse("dashboard:shippability") in page
