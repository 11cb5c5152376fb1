from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse

from dashboard.constants import CHART_DAYS
from marketplace.services import message_reply, message_send, order_ship
from tests.dashboard.conftest import NOW
from tests.factories import OfferFactory
from tests.marketplace.helpers import place_order


@pytest.mark.django_db
def test_overview_counts_orders_to_ship_overdue_and_open_messages(
    seller_client, seller, seller_b, shopper
):
    offer = OfferFactory(seller=seller, stock=20, handling_days=1)
    overdue = place_order(shopper, offer, now=NOW - timedelta(days=7))
    fresh = place_order(shopper, offer, now=NOW - timedelta(hours=1))
    shipped = place_order(shopper, offer, now=NOW - timedelta(days=3))
    order_ship(seller, order_id=shipped.pk, carrier="dhl", tracking_number="00340434161234567890")
    answered = message_send(shopper, order_id=fresh.pk, body="Colour?")
    message_reply(seller, message_id=answered.pk, body="Blue")
    message_send(shopper, order_id=overdue.pk, body="Where is it?")
    place_order(shopper, OfferFactory(seller=seller_b), now=NOW - timedelta(days=7))

    with time_machine.travel(NOW, tick=False):
        response = seller_client.get(reverse("dashboard:home"))

    counts = response.context["counts"]
    assert (counts.to_ship, counts.overdue, counts.open_messages) == (2, 1, 1)


@pytest.mark.django_db
def test_overview_chart_has_one_bar_per_day_for_the_last_30_days(seller_client, seller, shopper):
    offer = OfferFactory(seller=seller, stock=20)
    place_order(shopper, offer, now=NOW - timedelta(days=CHART_DAYS))  # a day too old
    place_order(shopper, offer, now=NOW - timedelta(days=CHART_DAYS - 1))
    place_order(shopper, offer, now=NOW - timedelta(minutes=5))
    place_order(shopper, offer, now=NOW - timedelta(minutes=1))

    with time_machine.travel(NOW, tick=False):
        response = seller_client.get(reverse("dashboard:home"))

    chart = response.context["orders_chart"]
    assert len(chart["labels"]) == CHART_DAYS
    assert (chart["labels"][0], chart["labels"][-1]) == ("2025-02-11", "2025-03-12")
    assert chart["values"] == [1] + [0] * (CHART_DAYS - 2) + [2]
    assert b'<script id="orders-chart-data" type="application/json">' in response.content
    assert b'<canvas id="orders-chart"' in response.content


@pytest.mark.django_db
def test_overview_query_count_does_not_grow_with_orders(
    seller_client, seller, shopper, django_assert_num_queries
):
    offer = OfferFactory(seller=seller, stock=50)
    for days in range(12):
        order = place_order(shopper, offer, now=NOW - timedelta(days=days))
        message_send(shopper, order_id=order.pk, body="Hello")
    # session, user, seller, order counts, open messages, orders per day
    with time_machine.travel(NOW, tick=False), django_assert_num_queries(6):
        response = seller_client.get(reverse("dashboard:home"))
    assert response.context["counts"].to_ship == 12
    assert date.fromisoformat(response.context["orders_chart"]["labels"][-1]) == NOW.date()
