from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from marketplace.choices import OrderStatus
from marketplace.models import BuyerMessage, Offer, Order
from marketplace.services import message_send, order_cancel
from tests.dashboard.conftest import NOW, snapshot
from tests.factories import OfferFactory
from tests.marketplace.helpers import place_order

TRACKING = "00340434161234567890"


# --- List


@pytest.mark.django_db
def test_order_list_shows_my_orders_only_in_a_fixed_number_of_queries(
    seller_client, seller, shopper, seller_b, django_assert_num_queries
):
    offer = OfferFactory(seller=seller, stock=50)
    for _ in range(3):
        place_order(shopper, offer)
    place_order(shopper, OfferFactory(seller=seller_b))
    # session, user, seller, count, page of orders with their open-message counts
    with django_assert_num_queries(5):
        few = seller_client.get(reverse("dashboard:orders"))
    for _ in range(4):
        message_send(shopper, order_id=place_order(shopper, offer).pk, body="Hi")
    with django_assert_num_queries(5):
        more = seller_client.get(reverse("dashboard:orders"))
    assert {order.seller_id for order in few.context["page"]} == {seller.pk}
    assert (len(few.context["page"]), len(more.context["page"])) == (3, 7)


@pytest.mark.django_db
def test_order_list_filters_by_status(seller_client, seller, shopper, order):
    place_order(shopper, OfferFactory(seller=seller))
    order_cancel(order.pk, by="seller", actor=seller.owner, reason="broken")
    response = seller_client.get(reverse("dashboard:orders"), {"status": "cancelled"})
    assert [row.pk for row in response.context["page"]] == [order.pk]


@pytest.mark.django_db
def test_order_list_filters_overdue_and_awaiting_reply(seller_client, seller, shopper):
    offer = OfferFactory(seller=seller, stock=20, handling_days=1)
    late = place_order(shopper, offer, now=NOW - timedelta(days=7))
    asked = place_order(shopper, offer, now=NOW - timedelta(hours=2))
    place_order(shopper, offer, now=NOW - timedelta(hours=1))
    message_send(shopper, order_id=asked.pk, body="Gift wrap?")
    with time_machine.travel(NOW, tick=False):
        overdue = seller_client.get(reverse("dashboard:orders"), {"overdue": "on"})
        waiting = seller_client.get(reverse("dashboard:orders"), {"awaiting_reply": "on"})
    assert [row.pk for row in overdue.context["page"]] == [late.pk]
    assert [(row.pk, row.open_messages) for row in waiting.context["page"]] == [(asked.pk, 1)]
    assert "1 awaiting a reply" in waiting.content.decode()


@pytest.mark.django_db
def test_order_list_ignores_an_unknown_status(seller_client, order):
    response = seller_client.get(reverse("dashboard:orders"), {"status": "lost"})
    assert response.status_code == 200
    assert [row.pk for row in response.context["page"]] == [order.pk]


@pytest.mark.django_db
def test_order_list_pages_keep_the_filter(seller_client, seller, shopper):
    offer = OfferFactory(seller=seller, stock=60)
    for _ in range(26):
        place_order(shopper, offer)
    response = seller_client.get(reverse("dashboard:orders"), {"status": "placed"})
    assert len(response.context["page"]) == 25
    assert 'href="?status=placed&amp;page=2"' in response.content.decode()


# --- Detail


@pytest.mark.django_db
def test_order_page_shows_lines_address_and_messages_in_a_fixed_number_of_queries(
    seller_client, shopper, order, django_assert_num_queries
):
    message_send(shopper, order_id=order.pk, body="Can you send it today?")
    # session, user, seller, order, lines, messages
    with django_assert_num_queries(6):
        response = seller_client.get(reverse("dashboard:order", args=[order.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert order.lines.get().product_title in page
    assert f"{order.ship_postal_code} {order.ship_city}" in page
    assert "Can you send it today?" in page


# --- Ship


@pytest.mark.django_db
def test_ship_form_marks_the_order_shipped(seller_client, order):
    response = seller_client.post(
        reverse("dashboard:order-ship", args=[order.pk]),
        {"carrier": "dhl", "tracking_number": TRACKING},
    )
    assert response.status_code == 302
    shipped = Order.objects.get(pk=order.pk)
    assert (shipped.status, shipped.carrier, shipped.has_valid_tracking) == ("shipped", "dhl", True)
    page = seller_client.get(response["Location"]).content.decode()
    assert f"Order {order.pk} is marked as shipped." in page


@pytest.mark.django_db
def test_ship_form_shows_the_services_refusal_as_a_form_error(seller_client, order):
    before = snapshot(order)
    response = seller_client.post(
        reverse("dashboard:order-ship", args=[order.pk]),
        {"carrier": "dhl", "tracking_number": "12"},
    )
    assert response.status_code == 400
    assert "not a valid tracking number" in response.content.decode()
    assert 'value="12"' in response.content.decode()
    assert snapshot(order) == before


@pytest.mark.django_db
def test_ship_form_refuses_an_unknown_carrier(seller_client, order):
    before = snapshot(order)
    response = seller_client.post(
        reverse("dashboard:order-ship", args=[order.pk]),
        {"carrier": "pigeon", "tracking_number": TRACKING},
    )
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    assert snapshot(order) == before


@pytest.mark.django_db
def test_shipping_a_cancelled_order_says_why_instead_of_failing(seller_client, seller, order):
    order_cancel(order.pk, by="seller", actor=seller.owner, reason="broken")
    before = snapshot(order)
    response = seller_client.post(
        reverse("dashboard:order-ship", args=[order.pk]),
        {"carrier": "dhl", "tracking_number": TRACKING},
    )
    assert response.status_code == 409
    assert 'class="banner error" role="alert"' in response.content.decode()
    assert snapshot(order) == before


# --- Cancel


@pytest.mark.django_db
def test_cancel_form_cancels_and_gives_the_stock_back(seller_client, order):
    offer_id = order.lines.get().offer_id
    response = seller_client.post(
        reverse("dashboard:order-cancel", args=[order.pk]), {"reason": "out of stock"}
    )
    assert response.status_code == 302
    cancelled = Order.objects.get(pk=order.pk)
    assert (cancelled.status, cancelled.cancelled_by, cancelled.cancel_reason) == (
        "cancelled",
        "seller",
        "out of stock",
    )
    assert Offer.objects.get(pk=offer_id).stock == 5


@pytest.mark.django_db
def test_cancel_form_needs_a_reason(seller_client, order):
    before = snapshot(order)
    response = seller_client.post(
        reverse("dashboard:order-cancel", args=[order.pk]), {"reason": ""}
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert snapshot(order) == before


# --- Reply


@pytest.mark.django_db
def test_reply_form_answers_the_buyer(seller_client, shopper, order):
    message = message_send(shopper, order_id=order.pk, body="When?")
    response = seller_client.post(
        reverse("dashboard:order-reply", args=[order.pk]),
        {"message_id": message.pk, "body": "Tomorrow"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:order", args=[order.pk])
    assert BuyerMessage.objects.get(pk=message.pk).reply_body == "Tomorrow"


@pytest.mark.django_db
def test_a_blank_reply_is_refused_on_its_own_message(seller_client, shopper, order):
    message = message_send(shopper, order_id=order.pk, body="When?")
    before = snapshot(order)
    response = seller_client.post(
        reverse("dashboard:order-reply", args=[order.pk]), {"message_id": message.pk, "body": "  "}
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert snapshot(order) == before


@pytest.mark.django_db
def test_a_second_reply_is_refused_as_a_form_error(seller_client, shopper, order):
    message = message_send(shopper, order_id=order.pk, body="When?")
    url = reverse("dashboard:order-reply", args=[order.pk])
    seller_client.post(url, {"message_id": message.pk, "body": "Tomorrow"})
    before = snapshot(order)
    response = seller_client.post(url, {"message_id": message.pk, "body": "Or today"})
    assert response.status_code == 409
    assert 'class="banner error" role="alert"' in response.content.decode()
    assert snapshot(order) == before


# --- Another seller's order


@pytest.mark.django_db
def test_seller_cannot_see_or_act_on_another_sellers_order(client, seller_b, shopper, order):
    message = message_send(shopper, order_id=order.pk, body="When?")
    client.force_login(seller_b.owner)
    before = snapshot(order)
    responses = [
        client.get(reverse("dashboard:order", args=[order.pk])),
        client.post(
            reverse("dashboard:order-ship", args=[order.pk]),
            {"carrier": "dhl", "tracking_number": TRACKING},
        ),
        client.post(reverse("dashboard:order-ship", args=[order.pk]), {"carrier": "dhl"}),
        client.post(reverse("dashboard:order-cancel", args=[order.pk]), {"reason": "x"}),
        client.post(
            reverse("dashboard:order-reply", args=[order.pk]),
            {"message_id": message.pk, "body": "Never"},
        ),
    ]
    assert [response.status_code for response in responses] == [404] * 5
    assert snapshot(order) == before
    assert [row.pk for row in client.get(reverse("dashboard:orders")).context["page"]] == []


@pytest.mark.django_db
def test_replying_through_my_order_to_another_sellers_message_is_refused(
    seller_client, seller_b, shopper, order
):
    theirs = place_order(shopper, OfferFactory(seller=seller_b))
    message = message_send(shopper, order_id=theirs.pk, body="When?")
    before = snapshot(theirs)
    response = seller_client.post(
        reverse("dashboard:order-reply", args=[order.pk]),
        {"message_id": message.pk, "body": "Never"},
    )
    assert response.status_code == 404
    assert snapshot(theirs) == before
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PLACED
