"""Shoppers and sellers see and change only their own rows; refused writes change nothing."""

from __future__ import annotations

import pytest

from marketplace.models import Address, BuyerMessage, Offer, Order
from tests.conftest import client_for
from tests.factories import OfferFactory
from tests.marketplace.helpers import place_order


@pytest.fixture
def order_of_b(shopper_b, seller_b):
    return place_order(shopper_b, OfferFactory(seller=seller_b))


@pytest.mark.django_db
def test_shopper_cannot_read_another_shoppers_address(shopper, shopper_b):
    address_b = shopper_b.addresses.get()
    response = client_for(shopper).get(f"/api/me/addresses/{address_b.pk}/")
    assert response.status_code == 404
    assert response.json()["code"] == "address_not_found"
    listed = client_for(shopper).get("/api/me/addresses/").json()["results"]
    assert [row["id"] for row in listed] == [shopper.addresses.get().pk]


@pytest.mark.django_db
def test_shopper_cannot_change_or_delete_another_shoppers_address(shopper, shopper_b):
    address_b = shopper_b.addresses.get()
    before = Address.objects.filter(pk=address_b.pk).values().get()
    client = client_for(shopper)
    patched = client.patch(f"/api/me/addresses/{address_b.pk}/", {"city": "Hamburg"}, format="json")
    deleted = client.delete(f"/api/me/addresses/{address_b.pk}/")
    assert patched.status_code == 404
    assert deleted.status_code == 404
    assert Address.objects.filter(pk=address_b.pk).values().get() == before


@pytest.mark.django_db
def test_shopper_cannot_read_or_act_on_another_shoppers_order(shopper, order_of_b):
    client = client_for(shopper)
    before = Order.objects.filter(pk=order_of_b.pk).values().get()
    assert client.get(f"/api/me/orders/{order_of_b.pk}/").status_code == 404
    assert client.get("/api/me/orders/").json()["results"] == []
    for path, body in (
        ("cancel/", {}),
        ("messages/", {"body": "hello"}),
        ("feedback/", {"rating": 1}),
        ("claim/", {"reason": "never arrived"}),
    ):
        response = client.post(f"/api/me/orders/{order_of_b.pk}/{path}", body, format="json")
        assert response.status_code == 404, path
        assert response.json()["code"] == "order_not_found"
    assert Order.objects.filter(pk=order_of_b.pk).values().get() == before
    assert BuyerMessage.objects.count() == 0


@pytest.mark.django_db
def test_seller_cannot_read_or_act_on_another_sellers_orders(seller, order_of_b):
    client = client_for(seller.owner)
    before = Order.objects.filter(pk=order_of_b.pk).values().get()
    assert client.get(f"/api/seller/orders/{order_of_b.pk}/").status_code == 404
    assert client.get("/api/seller/orders/").json()["results"] == []
    shipped = client.post(
        f"/api/seller/orders/{order_of_b.pk}/ship/",
        {"carrier": "dhl", "tracking_number": "00340434161234567890"},
        format="json",
    )
    cancelled = client.post(f"/api/seller/orders/{order_of_b.pk}/cancel/", {}, format="json")
    assert shipped.status_code == 404
    assert cancelled.status_code == 404
    assert Order.objects.filter(pk=order_of_b.pk).values().get() == before


@pytest.mark.django_db
def test_seller_cannot_reply_to_a_message_on_another_sellers_order(seller, shopper_b, order_of_b):
    message = client_for(shopper_b).post(
        f"/api/me/orders/{order_of_b.pk}/messages/", {"body": "Where is it?"}, format="json"
    )
    assert message.status_code == 201
    response = client_for(seller.owner).post(
        f"/api/seller/messages/{message.json()['id']}/reply/", {"body": "Soon"}, format="json"
    )
    assert response.status_code == 404
    assert BuyerMessage.objects.get().replied_at is None


@pytest.mark.django_db
def test_seller_cannot_read_or_change_another_sellers_offer(seller, seller_b):
    offer_b = OfferFactory(seller=seller_b, price="10.00", stock=5)
    client = client_for(seller.owner)
    assert client.get(f"/api/seller/offers/{offer_b.pk}/").status_code == 404
    response = client.patch(f"/api/seller/offers/{offer_b.pk}/", {"stock": 0}, format="json")
    assert response.status_code == 404
    offer_b.refresh_from_db()
    assert (offer_b.stock, str(offer_b.price)) == (5, "10.00")


@pytest.mark.django_db
def test_shopper_without_seller_account_cannot_use_the_seller_api(shopper):
    response = client_for(shopper).get("/api/seller/orders/")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.django_db
def test_anonymous_gets_401_on_private_routes(api):
    for path in ("/api/me/orders/", "/api/me/addresses/", "/api/seller/offers/"):
        response = api.get(path)
        assert response.status_code == 401, path
        assert response.json()["code"] == "not_authenticated"


@pytest.mark.django_db
def test_mass_assignment_fields_are_refused(seller, offer):
    response = client_for(seller.owner).patch(
        f"/api/seller/offers/{offer.pk}/", {"stock": 3, "seller": 999, "product": 1}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert set(response.json()["fields"]) == {"seller", "product"}
    assert Offer.objects.get(pk=offer.pk).stock == 10
