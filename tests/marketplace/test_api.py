from __future__ import annotations

import pytest
from django.core import mail

from core import outbox
from marketplace.choices import OrderStatus
from marketplace.models import Address, Feedback, GuaranteeClaim, Offer, Order, User
from tests.conftest import client_for
from tests.factories import CategoryFactory, OfferFactory, ProductFactory
from tests.marketplace.helpers import place_order


@pytest.mark.django_db
def test_register_then_log_in_with_a_token(api):
    registered = api.post(
        "/api/auth/register/",
        {"email": "New@Example.test", "password": "a-long-password-1"},
        format="json",
    )
    assert registered.status_code == 201
    login = api.post(
        "/api/auth/token/",
        {"email": "new@example.test", "password": "a-long-password-1"},
        format="json",
    )
    assert login.status_code == 200
    assert login.json()["token"] == registered.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {login.json()['token']}")
    assert api.get("/api/me/").json()["email"] == "new@example.test"


@pytest.mark.django_db
def test_register_twice_with_one_email_is_refused(api, shopper):
    response = api.post(
        "/api/auth/register/",
        {"email": shopper.email.upper(), "password": "a-long-password-1"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "email_taken"
    assert User.objects.filter(email=shopper.email).count() == 1


@pytest.mark.django_db
def test_wrong_password_gets_the_error_envelope(api, shopper):
    response = api.post(
        "/api/auth/token/", {"email": shopper.email, "password": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "login_failed",
        "detail": "E-mail address or password is wrong.",
        "fields": {},
    }


@pytest.mark.django_db
def test_errors_are_translated_for_german_clients(api, shopper):
    response = api.get("/api/me/orders/", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.django_db
def test_products_filter_by_category_including_sub_categories(api):
    consoles = CategoryFactory(slug="consoles")
    handheld = CategoryFactory(slug="handheld", parent=consoles)
    books = CategoryFactory(slug="books")
    in_parent = ProductFactory(category=consoles, title="Console")
    in_child = ProductFactory(category=handheld, title="Handheld")
    ProductFactory(category=books, title="Novel")
    response = api.get(f"/api/products/?category={consoles.pk}")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [in_parent.pk, in_child.pk]
    searched = api.get("/api/products/?q=novel").json()["results"]
    assert [row["title"] for row in searched] == ["Novel"]
    bad = api.get("/api/products/?category=abc")
    assert bad.status_code == 400
    assert bad.json()["fields"] == {"category": ["A valid integer is required."]}


@pytest.mark.django_db
def test_product_detail_lists_buyable_offers_cheapest_first(api, seller, seller_b):
    product = ProductFactory()
    cheap = OfferFactory(product=product, seller=seller, price="9.50")
    OfferFactory(product=product, seller=seller_b, price="12.00", is_active=False)
    response = api.get(f"/api/products/{product.pk}/")
    assert response.status_code == 200
    offers = response.json()["offers"]
    assert [offer["id"] for offer in offers] == [cheap.pk]
    assert offers[0]["price"] == {"amount": "9.50", "currency": "EUR"}
    assert api.get("/api/products/999999/").json()["code"] == "product_not_found"


@pytest.mark.django_db
def test_address_create_validates_postal_code_per_country(shopper):
    client = client_for(shopper)
    bad = client.post(
        "/api/me/addresses/",
        {"name": "A", "line1": "x", "city": "Wien", "postal_code": "12345", "country": "AT"},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "address_invalid"
    assert list(bad.json()["fields"]) == ["postal_code"]
    good = client.post(
        "/api/me/addresses/",
        {
            "name": "A",
            "line1": "Ring 1",
            "city": "London",
            "postal_code": "sw1a 1aa",
            "country": "gb",
            "is_default": True,
        },
        format="json",
    )
    assert good.status_code == 201
    assert good.json()["postal_code"] == "SW1A 1AA"
    assert good.json()["is_default"] is True
    assert Address.objects.filter(owner=shopper, is_default=True).count() == 1


@pytest.mark.django_db
def test_checkout_over_the_api_places_one_order_per_seller(shopper, seller, seller_b):
    offer_a = OfferFactory(seller=seller, price="10.00", stock=3)
    offer_b = OfferFactory(seller=seller_b, price="2.50", stock=3, currency="EUR")
    response = client_for(shopper).post(
        "/api/checkout/",
        {
            "address_id": shopper.addresses.get().pk,
            "lines": [
                {"offer_id": offer_a.pk, "quantity": 2},
                {"offer_id": offer_b.pk, "quantity": 1},
            ],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="cart-1",
    )
    assert response.status_code == 201
    totals = sorted(order["total"]["amount"] for order in response.json()["orders"])
    assert totals == ["2.50", "20.00"]
    assert Order.objects.filter(buyer=shopper).count() == 2
    assert Offer.objects.get(pk=offer_a.pk).stock == 1
    assert Offer.objects.get(pk=offer_b.pk).stock == 2


@pytest.mark.django_db
def test_checkout_refusals_have_codes_and_change_nothing(shopper, seller):
    offer = OfferFactory(seller=seller, stock=1)
    client = client_for(shopper)

    def attempt(key, lines, address_id=None):
        return client.post(
            "/api/checkout/",
            {"address_id": address_id or shopper.addresses.get().pk, "lines": lines},
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
        )

    assert attempt("a", [{"offer_id": offer.pk, "quantity": 2}]).json()["code"] == "out_of_stock"
    assert attempt("b", []).json()["code"] == "validation_error"
    assert attempt("c", [{"offer_id": 999999, "quantity": 1}]).json()["code"] == "offer_not_found"
    assert (
        attempt("d", [{"offer_id": offer.pk, "quantity": 1}], address_id=999999).json()["code"]
        == "address_not_found"
    )
    Offer.objects.filter(pk=offer.pk).update(is_active=False)
    assert attempt("e", [{"offer_id": offer.pk, "quantity": 1}]).json()["code"] == "offer_inactive"
    assert Order.objects.count() == 0
    assert Offer.objects.get(pk=offer.pk).stock == 1


@pytest.mark.django_db
def test_order_lifecycle_through_the_api_writes_every_event(shopper, seller):
    offer = OfferFactory(seller=seller, stock=5)
    order = place_order(shopper, offer, 2)
    buyer, seller_client = client_for(shopper), client_for(seller.owner)

    message = buyer.post(f"/api/me/orders/{order.pk}/messages/", {"body": "Gift wrap?"})
    assert message.status_code == 201
    reply = seller_client.post(
        f"/api/seller/messages/{message.json()['id']}/reply/", {"body": "Yes"}
    )
    assert reply.status_code == 200
    bad_tracking = seller_client.post(
        f"/api/seller/orders/{order.pk}/ship/", {"carrier": "ups", "tracking_number": "123"}
    )
    assert bad_tracking.json()["code"] == "tracking_number_invalid"
    shipped = seller_client.post(
        f"/api/seller/orders/{order.pk}/ship/",
        {"carrier": "ups", "tracking_number": "1z999aa10123456784"},
    )
    assert shipped.status_code == 200
    assert shipped.json()["tracking_number"] == "1Z999AA10123456784"
    assert buyer.post(f"/api/me/orders/{order.pk}/cancel/").json()["code"] == (
        "order_state_invalid"
    )
    feedback = buyer.post(f"/api/me/orders/{order.pk}/feedback/", {"rating": 2})
    again = buyer.post(f"/api/me/orders/{order.pk}/feedback/", {"rating": 5})
    claim = buyer.post(f"/api/me/orders/{order.pk}/claim/", {"reason": "Broken"})
    assert (feedback.status_code, again.json()["code"], claim.status_code) == (
        201,
        "feedback_already_left",
        201,
    )
    assert Feedback.objects.get(order=order).rating == 2
    assert GuaranteeClaim.objects.filter(order=order).count() == 1
    topics = list(
        outbox.OutboxEvent.objects.exclude(topic="email.queued")
        .order_by("created_at")
        .values_list("topic", flat=True)
    )
    assert topics == [
        "order.placed",
        "message.sent",
        "message.replied",
        "order.shipped",
        "feedback.left",
        "claim.filed",
    ]


@pytest.mark.django_db
def test_seller_cancel_gives_stock_back_and_buyer_gets_a_confirmation_mail(shopper, seller):
    offer = OfferFactory(seller=seller, stock=5)
    order = place_order(shopper, offer, 2)
    outbox.relay()
    assert [message.to for message in mail.outbox] == [[shopper.email]]
    response = client_for(seller.owner).post(
        f"/api/seller/orders/{order.pk}/cancel/", {"reason": "damaged in storage"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == OrderStatus.CANCELLED
    assert response.json()["cancelled_by"] == "seller"
    assert Offer.objects.get(pk=offer.pk).stock == 5


@pytest.mark.django_db
def test_inactive_seller_offers_cannot_be_bought(shopper, seller):
    from marketplace.services import seller_set_status

    offer = OfferFactory(seller=seller)
    seller_set_status(seller.pk, status="deactivated", reason="policy", actor=None)
    response = client_for(shopper).post(
        "/api/checkout/",
        {
            "address_id": shopper.addresses.get().pk,
            "lines": [{"offer_id": offer.pk, "quantity": 1}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="x",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "seller_not_active"
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_api_errors_speak_german_when_asked(shopper):
    response = client_for(shopper).get("/api/me/orders/999/", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 404
    assert response.json() == {
        "code": "order_not_found",
        "detail": "Diese Bestellung gibt es nicht.",
        "fields": {},
    }


@pytest.mark.django_db
def test_token_authentication_refuses_unknown_and_inactive_and_brings_the_address(shopper):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=shopper)
    bad = client_for(None)
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert bad.get("/api/me/").json()["code"] == "authentication_failed"
    good = client_for(None)
    good.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert good.get("/api/me/").json()["email"] == shopper.email
    from marketplace.authentication import TokenWithAddressAuthentication

    user, _key = TokenWithAddressAuthentication().authenticate_credentials(token.key)
    assert user.default_address_facts == ("DE", "10115", False)
    User.objects.filter(pk=shopper.pk).update(is_active=False)
    assert good.get("/api/me/").status_code == 401
