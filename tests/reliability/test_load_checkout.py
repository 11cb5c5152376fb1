"""1,000 shoppers race for 100 units over real HTTP (gunicorn, several workers), run after run:
exactly 100 orders each time, every other shopper a clean ``out_of_stock``, no server error."""

from __future__ import annotations

import uuid

import pytest
from django.db.models import Count, Sum

from bench.harness import gunicorn, shoppers_create
from core.models import OutboxEvent
from marketplace.models import Offer, Order, OrderLine
from tests.factories import OfferFactory, SellerFactory
from tests.reliability.conftest import (
    auth,
    checkout_body,
    run_concurrently,
    server_env,
)

BUYERS = 1000
STOCK = 100
RUNS = 3
CLIENT_THREADS = 100
WORKERS = 4


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_thousand_concurrent_checkouts_for_stock_100_sell_exactly_100_in_every_run(figure):
    buyers = shoppers_create(BUYERS)
    seller = SellerFactory()
    runs = []
    with gunicorn(server_env(), workers=WORKERS) as base:
        for run in range(1, RUNS + 1):
            offer = OfferFactory(seller=seller, stock=STOCK)

            def buy(session, buyer, offer_id=offer.pk):
                response = session.post(
                    f"{base}/api/checkout/",
                    json=checkout_body(buyer, offer_id),
                    headers=auth(buyer, **{"Idempotency-Key": uuid.uuid4().hex}),
                    timeout=120,
                )
                return response.status_code, response.json()

            answers, seconds = run_concurrently(buy, buyers, threads=CLIENT_THREADS)
            statuses = [status for status, _body in answers]
            server_errors = sum(status >= 500 for status in statuses)
            orders = Order.objects.filter(lines__offer=offer).distinct()
            runs.append((run, orders.count(), server_errors, seconds))

            assert server_errors == 0
            assert statuses.count(201) == STOCK
            refused = [body for status, body in answers if status != 201]
            assert len(refused) == BUYERS - STOCK
            assert {(body["code"]) for body in refused} == {"out_of_stock"}
            assert statuses.count(409) == BUYERS - STOCK
            # The database agrees with the answers, order by order.
            assert orders.count() == STOCK
            answered = {body["orders"][0]["id"] for status, body in answers if status == 201}
            assert set(orders.values_list("pk", flat=True)) == answered
            assert orders.values("buyer").distinct().count() == STOCK
            lines = OrderLine.objects.filter(offer=offer)
            assert lines.count() == STOCK
            assert lines.aggregate(units=Sum("quantity"))["units"] == STOCK
            assert not Order.objects.filter(pk__in=answered).annotate(n=Count("lines")).exclude(n=1)
            assert Offer.objects.get(pk=offer.pk).stock == 0
            placed = OutboxEvent.objects.filter(topic="order.placed").values_list(
                "payload__order_id", flat=True
            )
            assert answered <= set(placed)

    worst = max(runs, key=lambda row: (abs(row[1] - STOCK), row[2], row[3]))
    figure(
        "1,000 concurrent checkouts for stock 100",
        f"{RUNS} runs x {BUYERS} buyers, {CLIENT_THREADS} client threads, {WORKERS} gunicorn "
        f"workers; orders per run {[row[1] for row in runs]}; worst run #{worst[0]}: "
        f"{worst[1]} orders, {worst[2]} server errors, {worst[3]:.1f} s "
        f"({BUYERS / worst[3]:.0f} checkouts/s)",
    )
