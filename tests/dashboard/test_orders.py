from __future__ import annotations

import pytest
from django.urls import reverse

from marketplace.choices import OrderStatus
from marketplace.models import BuyerMessage, Offer, Order
from marketplace.services import message_send
from tests.factories import OfferFactory
from tests.marketplace.helpers import place_order


@pytest.fixture
def seller_client(client, seller):
    client.force_login(seller.owner)
    return client


@pytest.fixture
def order(shopper, seller):
    return place_order(shopper, OfferFactory(seller=seller, stock=5), 2)


@pytest.mark.django_db
def test_anonymous_is_sent_to_the_login_page(client):
    response = client.get(reverse("dashboard:orders"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("dashboard:login"))


@pytest.mark.django_db
def test_a_shopper_without_seller_account_is_refused_clearly(client, shopper):
    client.force_login(shopper)
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 403
    assert b"This dashboard is for sellers" in response.content


@pytest.mark.django_db
def test_seller_logs_in_with_email_and_password(client, seller):
    response = client.post(
        reverse("dashboard:login"),
        {"username": seller.owner.email, "password": "correct-horse-battery"},
    )
    assert response.status_code == 302
    assert client.get(reverse("dashboard:home")).status_code == 200


@pytest.mark.django_db
def test_home_shows_counts_and_chart_data(seller_client, order):
    response = seller_client.get(reverse("dashboard:home"))
    assert response.status_code == 200
    assert response.context["to_ship"] == 1
    assert sum(response.context["orders_chart"]["values"]) == 1
    assert b'id="orders-chart-data"' in response.content


@pytest.mark.django_db
def test_order_list_is_scoped_and_its_query_count_is_fixed(
    seller_client, seller, shopper, seller_b, django_assert_num_queries
):
    for _ in range(3):
        place_order(shopper, OfferFactory(seller=seller))
    place_order(shopper, OfferFactory(seller=seller_b))
    # session, user, seller, count, page of orders, lines, messages
    with django_assert_num_queries(7):
        response = seller_client.get(reverse("dashboard:orders"))
    assert response.status_code == 200
    assert {order.seller_id for order in response.context["page"]} == {seller.pk}
    assert len(response.context["page"]) == 3


@pytest.mark.django_db
def test_ship_form_calls_the_service_and_shows_errors(seller_client, order):
    url = reverse("dashboard:order-ship", args=[order.pk])
    bad = seller_client.post(url, {"carrier": "dhl", "tracking_number": "12"})
    assert bad.status_code == 400
    assert b"not a valid tracking number" in bad.content
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PLACED
    good = seller_client.post(url, {"carrier": "dhl", "tracking_number": "00340434161234567890"})
    assert good.status_code == 302
    shipped = Order.objects.get(pk=order.pk)
    assert (shipped.status, shipped.carrier, shipped.has_valid_tracking) == ("shipped", "dhl", True)


@pytest.mark.django_db
def test_cancel_form_gives_stock_back(seller_client, order):
    offer_id = order.lines.get().offer_id
    response = seller_client.post(
        reverse("dashboard:order-cancel", args=[order.pk]), {"reason": "out of stock"}
    )
    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).cancelled_by == "seller"
    assert Offer.objects.get(pk=offer_id).stock == 5


@pytest.mark.django_db
def test_reply_form_answers_the_buyer(seller_client, shopper, order):
    message = message_send(shopper, order_id=order.pk, body="When?")
    response = seller_client.post(
        reverse("dashboard:order-reply", args=[order.pk]),
        {"message_id": message.pk, "body": "Tomorrow"},
    )
    assert response.status_code == 302
    assert BuyerMessage.objects.get(pk=message.pk).reply_body == "Tomorrow"


@pytest.mark.django_db
def test_seller_cannot_see_or_act_on_another_sellers_order(client, seller_b, order):
    client.force_login(seller_b.owner)
    before = Order.objects.filter(pk=order.pk).values().get()
    assert client.get(reverse("dashboard:order", args=[order.pk])).status_code == 404
    shipped = client.post(
        reverse("dashboard:order-ship", args=[order.pk]),
        {"carrier": "dhl", "tracking_number": "00340434161234567890"},
    )
    cancelled = client.post(reverse("dashboard:order-cancel", args=[order.pk]), {"reason": "x"})
    assert (shipped.status_code, cancelled.status_code) == (404, 404)
    assert Order.objects.filter(pk=order.pk).values().get() == before


@pytest.mark.django_db
def test_offer_form_updates_my_offer_only(seller_client, seller, seller_b):
    mine = OfferFactory(seller=seller, stock=1)
    theirs = OfferFactory(seller=seller_b, stock=1)
    ok = seller_client.post(
        reverse("dashboard:offer-update", args=[mine.pk]),
        {"price": "15.00", "stock": "7", "is_active": "on"},
    )
    refused = seller_client.post(
        reverse("dashboard:offer-update", args=[theirs.pk]), {"price": "1.00", "stock": "0"}
    )
    assert (ok.status_code, refused.status_code) == (302, 404)
    assert Offer.objects.get(pk=mine.pk).stock == 7
    assert Offer.objects.get(pk=theirs.pk).stock == 1


@pytest.mark.django_db
def test_deactivated_seller_sees_a_banner(seller_client, seller):
    from marketplace.models import Seller

    Seller.objects.filter(pk=seller.pk).update(status="suspended")
    response = seller_client.get(reverse("dashboard:home"))
    assert b"Your seller account is suspended" in response.content
