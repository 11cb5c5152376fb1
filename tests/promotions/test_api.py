from __future__ import annotations

from decimal import Decimal

import pytest

from marketplace.models import Order
from promotions import services
from tests.conftest import client_for
from tests.factories import OfferFactory
from tests.promotions.factories import CampaignFactory


@pytest.mark.django_db
def test_validate_returns_the_discount_per_line(shopper, seller):
    offer = OfferFactory(seller=seller, price=Decimal("30.00"))
    coupon = services.coupon_issue_personal(
        CampaignFactory(percent=Decimal("10")), customer=shopper
    )
    response = client_for(shopper).post(
        "/api/coupons/validate/",
        {"code": coupon.display_code, "lines": [{"offer_id": offer.pk, "quantity": 1}]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == {
        "code": coupon.display_code,
        "discount": {"amount": "3.00", "currency": "EUR"},
        "lines": [{"offer_id": offer.pk, "discount": {"amount": "3.00", "currency": "EUR"}}],
    }


@pytest.mark.django_db
def test_validate_refuses_in_the_error_envelope(shopper, shopper_b, offer):
    coupon = services.coupon_issue_personal(CampaignFactory(), customer=shopper_b)
    response = client_for(shopper).post(
        "/api/coupons/validate/",
        {"code": coupon.code, "lines": [{"offer_id": offer.pk, "quantity": 1}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "coupon_invalid",
        "detail": "This code is not valid.",
        "fields": {},
    }


@pytest.mark.django_db
def test_wallet_shows_my_codes_with_state_and_cart_applicability(shopper, shopper_b, seller):
    offer = OfferFactory(seller=seller, price=Decimal("10.00"))
    mine = services.coupon_issue_personal(
        CampaignFactory(name="Welcome", min_order_value=Decimal("15")), customer=shopper
    )
    services.coupon_issue_personal(CampaignFactory(name="Not mine"), customer=shopper_b)
    client = client_for(shopper)
    listed = client.get("/api/me/coupons/").json()["results"]
    assert [(row["code"], row["state"], row["applies_to_cart"]) for row in listed] == [
        (mine.display_code, "usable", None)
    ]
    one = client.get(f"/api/me/coupons/?cart={offer.pk}:1").json()["results"][0]
    two = client.get(f"/api/me/coupons/?cart={offer.pk}:2").json()["results"][0]
    assert (one["applies_to_cart"], one["cart_error_code"]) == (False, "coupon_min_order_not_met")
    assert one["cart_hint"] == "Add 5.00 EUR to use this code."
    assert (two["applies_to_cart"], two["cart_discount"]) == (
        True,
        {"amount": "2.00", "currency": "EUR"},
    )


@pytest.mark.django_db
def test_cart_quote_and_checkout_apply_the_same_coupon(shopper, seller):
    offer = OfferFactory(seller=seller, price=Decimal("10.00"))
    coupon = services.coupon_issue_personal(
        CampaignFactory(percent=Decimal("50")), customer=shopper
    )
    body = {
        "address_id": shopper.addresses.get().pk,
        "lines": [{"offer_id": offer.pk, "quantity": 1}],
        "coupon_code": coupon.display_code,
    }
    client = client_for(shopper)
    quote = client.post("/api/cart/quote/", body, format="json").json()
    placed = client.post("/api/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY="c-1")
    again = client.post("/api/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY="c-2")
    assert quote["coupon"]["discount"] == {"amount": "5.00", "currency": "EUR"}
    assert quote["totals"] == [{"amount": "5.00", "currency": "EUR"}]
    assert placed.status_code == 201
    assert placed.json()["orders"][0]["total"] == {"amount": "5.00", "currency": "EUR"}
    assert again.json()["code"] == "coupon_used_up"
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_coupon_errors_and_shippability_sentences_speak_german(shopper, offer):
    client = client_for(shopper)
    refused = client.post(
        "/api/coupons/validate/",
        {"code": "ABCD", "lines": [{"offer_id": offer.pk, "quantity": 1}]},
        format="json",
        HTTP_ACCEPT_LANGUAGE="de",
    )
    shippable = client.get(
        f"/api/offers/{offer.pk}/shippability/?address={shopper.addresses.get().pk}",
        HTTP_ACCEPT_LANGUAGE="de",
    )
    assert refused.json()["detail"] == "Dieser Code ist nicht gültig."
    assert shippable.json()["message"] == "Dieser Artikel ist an diese Adresse lieferbar."


@pytest.mark.django_db
def test_wallet_refuses_a_malformed_cart_cleanly(shopper):
    response = client_for(shopper).get("/api/me/coupons/?cart=&page=1")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert response.json()["fields"] == {"cart": ["Use offer_id:quantity, e.g. 12:1."]}
