"""The shippability endpoint and the seller's shipping-template API: auth, scoping, shape."""

from __future__ import annotations

import pytest

from fulfillment.models import ShippingTemplate
from tests.conftest import client_for
from tests.factories import AddressFactory, OfferFactory
from tests.fulfillment.factories import template


@pytest.mark.django_db
def test_shippability_answers_for_my_addresses_only_and_shows_the_trace_to_staff_only(
    shopper, shopper_b, staff, offer
):
    mine = shopper.addresses.get()
    theirs = shopper_b.addresses.get()
    client = client_for(shopper)
    ok = client.get(f"/api/offers/{offer.pk}/shippability/?address={mine.pk}")
    other = client.get(f"/api/offers/{offer.pk}/shippability/?address={theirs.pk}")
    missing = client.get(f"/api/offers/{offer.pk}/shippability/?address=999999")
    assert ok.status_code == 200
    assert ok.json() == {
        "shippable": True,
        "fulfilled_by": "seller",
        "reason_code": "ok",
        "message": "This item can be delivered to this address.",
        "ships_from": "DE",
        "delivery_window": ok.json()["delivery_window"],
    }
    assert set(ok.json()["delivery_window"]) == {"earliest", "latest"}
    assert (other.status_code, missing.status_code) == (404, 404)
    assert other.json() == missing.json()
    assert other.json()["code"] == "address_not_found"
    AddressFactory(owner=staff)
    staff_view = client_for(staff).get(
        f"/api/offers/{offer.pk}/shippability/?address={staff.addresses.get().pk}"
    )
    assert [step["rule"] for step in staff_view.json()["trace"]][:3] == [
        "offer_active",
        "seller_active",
        "address_valid",
    ]


@pytest.mark.django_db
def test_shippability_needs_sign_in_a_valid_address_parameter_and_an_existing_offer(shopper, offer):
    address = shopper.addresses.get()
    anonymous = client_for(None).get(f"/api/offers/{offer.pk}/shippability/?address={address.pk}")
    client = client_for(shopper)
    no_address = client.get(f"/api/offers/{offer.pk}/shippability/")
    junk = client.get(f"/api/offers/{offer.pk}/shippability/?address=abc")
    no_offer = client.get(f"/api/offers/999999/shippability/?address={address.pk}")
    assert anonymous.status_code == 401
    assert (no_address.status_code, no_address.json()["code"]) == (400, "validation_error")
    assert list(junk.json()["fields"]) == ["address"]
    assert (no_offer.status_code, no_offer.json()["code"]) == (404, "offer_not_found")


@pytest.mark.django_db
def test_seller_creates_lists_replaces_and_deletes_their_templates(seller):
    own = OfferFactory(seller=seller)
    client = client_for(seller.owner)
    created = client.post(
        "/api/seller/shipping-templates/",
        {
            "name": "EU",
            "is_default": True,
            "handling_days": 2,
            "ships_to_po_boxes": False,
            "rules": [
                {"country": "de", "transit_days_min": 1, "transit_days_max": 2},
                {"country": "DE", "postal_prefix": "18", "is_excluded": True},
                {"country": "AT", "postal_from": "1000", "postal_to": "1999"},
            ],
            "offer_ids": [own.pk],
        },
        format="json",
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["name"], body["is_default"], body["handling_days"], body["offer_ids"]) == (
        "EU",
        True,
        2,
        [own.pk],
    )
    assert [(r["country"], r["is_excluded"]) for r in body["rules"]] == [
        ("DE", False),
        ("DE", True),
        ("AT", False),
    ]
    listed = client.get("/api/seller/shipping-templates/").json()
    assert [row["id"] for row in listed["results"]] == [body["id"]]
    replaced = client.put(
        f"/api/seller/shipping-templates/{body['id']}/",
        {"name": "DE only", "rules": [{"country": "DE"}]},
        format="json",
    )
    assert (replaced.status_code, replaced.json()["name"], len(replaced.json()["rules"])) == (
        200,
        "DE only",
        1,
    )
    assert client.delete(f"/api/seller/shipping-templates/{body['id']}/").status_code == 204
    assert ShippingTemplate.objects.count() == 0


@pytest.mark.django_db
def test_seller_templates_are_scoped_and_validated(seller, seller_b, shopper):
    theirs = template(seller_b)
    client = client_for(seller.owner)
    assert client.get(f"/api/seller/shipping-templates/{theirs.pk}/").status_code == 404
    assert client.delete(f"/api/seller/shipping-templates/{theirs.pk}/").status_code == 404
    put = client.put(
        f"/api/seller/shipping-templates/{theirs.pk}/",
        {"name": "Mine now", "rules": [{"country": "DE"}]},
        format="json",
    )
    assert (put.status_code, put.json()["code"]) == (404, "template_not_found")
    foreign_offer = OfferFactory(seller=seller_b)
    refused = client.post(
        "/api/seller/shipping-templates/",
        {"name": "Mine", "rules": [{"country": "DE"}], "offer_ids": [foreign_offer.pk]},
        format="json",
    )
    assert (refused.status_code, refused.json()["code"]) == (400, "template_invalid")
    assert list(refused.json()["fields"]) == ["offer_ids"]
    backwards = client.post(
        "/api/seller/shipping-templates/",
        {
            "name": "Odd",
            "rules": [
                {"country": "DE", "postal_from": "20000", "postal_to": "10000"},
                {"country": "DE", "transit_days_min": 5, "transit_days_max": 2},
            ],
        },
        format="json",
    )
    assert sorted(backwards.json()["fields"]) == [
        "rules.0.postal_to",
        "rules.1.transit_days_max",
    ]
    assert seller.shipping_templates.count() == 0
    assert ShippingTemplate.objects.get().name == theirs.name
    assert seller_b.shipping_templates.get().rules.count() == 1
    assert client_for(shopper).get("/api/seller/shipping-templates/").status_code == 403
