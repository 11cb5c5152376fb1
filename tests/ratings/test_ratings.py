from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core import outbox
from core.models import OutboxDelivery, OutboxEvent
from marketplace import services as market
from ratings import services
from ratings.events import on_order_events
from ratings.models import DirtyOrder, OrderScore, RatingHistory, SellerRating
from ratings.selectors import seller_rate_metrics
from tests.conftest import client_for
from tests.factories import OfferFactory
from tests.marketplace.helpers import place_order

TRACKING = "00340434161234567890"


def _history(shopper, seller, now):
    """Twelve orders over two months: good ones, a late one, a claim, a cancellation."""
    orders = []
    for index in range(12):
        placed = now - timedelta(days=70 - index * 3)
        order = place_order(shopper, OfferFactory(seller=seller, stock=5), now=placed)
        orders.append(order)
        if index == 3:
            market.order_cancel(
                order.pk, by="seller", actor=seller.owner, now=placed + timedelta(hours=2)
            )
            continue
        shipped = placed + (timedelta(days=4) if index == 5 else timedelta(hours=6))
        market.order_ship(
            seller, order_id=order.pk, carrier="dhl", tracking_number=TRACKING, now=shipped
        )
        market.order_deliver(order.pk, now=shipped + timedelta(days=1))
        if index == 7:
            market.claim_file(
                shopper, order_id=order.pk, reason="broken", now=shipped + timedelta(days=3)
            )
        if index == 8:
            market.feedback_leave(
                shopper, order_id=order.pk, rating=5, now=shipped + timedelta(days=2)
            )
    return orders


def _ratings():
    return {
        "scores": sorted(
            OrderScore.objects.values_list("order_id", "score", "counted_problem", "is_mature")
        ),
        "sellers": sorted(
            SellerRating.objects.values_list(
                "seller_id", "score", "band", "mature_orders", "scored_orders"
            )
        ),
    }


@pytest.mark.django_db
def test_events_reach_the_rating_through_the_outbox_and_match_the_full_recompute(shopper, seller):
    now = timezone.now()
    _history(shopper, seller, now)
    outbox.relay()
    services.refresh_dirty(now=now)
    incremental = _ratings()
    rating = SellerRating.objects.get(seller=seller)
    assert rating.scored_orders == 12
    assert rating.mature_orders == 12  # 11 delivered over 30 days ago, and the cancellation
    assert OrderScore.objects.get(counted_problem="a_to_z_claim").score == -500
    assert OrderScore.objects.filter(counted_problem="late_shipment").count() == 1
    assert OrderScore.objects.filter(counted_problem="cancelled_by_seller").count() == 1

    OrderScore.objects.all().delete()
    SellerRating.objects.all().delete()
    services.full_recompute(now=now)
    assert _ratings() == incremental


@pytest.mark.django_db
def test_replaying_the_events_twice_and_in_reverse_order_gives_the_same_ratings(shopper, seller):
    now = timezone.now()
    _history(shopper, seller, now)
    outbox.relay()
    services.refresh_dirty(now=now)
    first = _ratings()
    events = list(OutboxEvent.objects.exclude(topic__startswith="email").order_by("created_at"))
    OrderScore.objects.all().delete()
    SellerRating.objects.all().delete()
    replay = [event for event in [*reversed(events), *events] if event.payload.get("order_id")]
    on_order_events(replay[: len(replay) // 3])
    for event in replay[len(replay) // 3 :]:
        on_order_events([event])
    services.refresh_dirty(now=now)
    assert _ratings() == first


@pytest.mark.django_db
def test_a_new_event_marks_one_dirty_order_however_often_it_is_seen(shopper, seller):
    now = timezone.now()
    order = place_order(shopper, OfferFactory(seller=seller), now=now)
    outbox.relay()
    assert services.refresh_dirty(now=now) == 1
    market.order_ship(seller, order_id=order.pk, carrier="dhl", tracking_number=TRACKING, now=now)
    market.order_deliver(order.pk, now=now)
    outbox.relay()
    seen = OutboxEvent.objects.filter(payload__order_id=order.pk, processed_at__isnull=False)
    assert sorted(seen.values_list("topic", flat=True)) == [
        "order.delivered",
        "order.placed",
        "order.shipped",
    ]
    # The handler is idempotent: the claim of the events alone keeps it to one run each.
    assert not OutboxDelivery.objects.filter(handler__endswith="on_order_events").exists()
    assert services.refresh_dirty(now=now) == 1


@pytest.mark.django_db
def test_an_order_event_without_an_order_fails_alone_and_its_neighbours_are_marked(shopper, seller):
    now = timezone.now()
    first = place_order(shopper, OfferFactory(seller=seller), now=now)
    broken = outbox.emit("feedback.left", {"seller_id": seller.pk})
    second = place_order(shopper, OfferFactory(seller=seller), now=now)

    outbox.relay()

    broken.refresh_from_db()
    assert (broken.processed_at, broken.attempts) == (None, 1)
    assert "order_id" in broken.last_error
    assert sorted(DirtyOrder.objects.values_list("order_id", flat=True)) == [first.pk, second.pk]
    assert services.refresh_dirty(now=now) == 2


@pytest.mark.django_db
def test_seller_is_not_yet_rated_below_the_minimum_of_mature_orders(shopper, seller):
    now = timezone.now()
    place_order(shopper, OfferFactory(seller=seller), now=now - timedelta(days=40))
    outbox.relay()
    services.refresh_dirty(now=now)
    rating = SellerRating.objects.get(seller=seller)
    assert (rating.score, rating.band, rating.mature_orders) == (None, "", 0)


def _counts(metrics):
    return {
        name: (rate.numerator, rate.denominator)
        for name, rate in (
            ("defects", metrics.order_defect),
            ("cancelled", metrics.cancellation),
            ("late", metrics.late_shipment),
            ("tracked", metrics.valid_tracking),
        )
    }


@pytest.mark.django_db
def test_rate_metrics_count_against_their_targets(shopper, seller):
    now = timezone.now()
    _history(shopper, seller, now)
    # The metrics are read from the stored order scores, the same pass as the rating.
    assert seller_rate_metrics(seller.pk).order_defect.denominator == 0
    outbox.relay()
    # A month ago every order of the history had happened: twelve in the 60 days of order
    # defects, eight placed in the 30 days of cancellations (the one cancelled was placed 61 days
    # before), eight ship-by days in the 30 days, one of them shipped late, eight shipped.
    services.refresh_dirty(now=now - timedelta(days=30))
    metrics = seller_rate_metrics(seller.pk)
    assert _counts(metrics) == {
        "defects": (1, 12),
        "cancelled": (0, 8),
        "late": (1, 8),
        "tracked": (8, 8),
    }
    assert metrics.order_defect_rate == Decimal("0.0833")
    assert [
        metrics.meets_target(name)
        for name in (
            "order_defect_rate",
            "cancellation_rate",
            "late_shipment_rate",
            "valid_tracking_rate",
        )
    ] == [False, True, False, True]
    # Today, with no event since: time alone moved the orders out of the 30-day windows and four
    # out of the 60 days (the claim's order, placed 49 days ago, still counts).
    services.refresh_dirty(now=now)
    metrics = seller_rate_metrics(seller.pk)
    assert _counts(metrics) == {
        "defects": (1, 8),
        "cancelled": (0, 0),
        "late": (0, 0),
        "tracked": (0, 0),
    }
    assert metrics.meets_target("valid_tracking_rate") is None
    assert SellerRating.objects.get(seller=seller).metric_counts == [8, 1, 0, 0, 0, 0, 0, 0]
    services.refresh_dirty(now=now + timedelta(days=400))
    assert seller_rate_metrics(seller.pk).meets_target("order_defect_rate") is None


@pytest.mark.django_db
def test_rating_api_is_scoped_to_the_seller(shopper, seller, seller_b):
    now = timezone.now()
    orders = _history(shopper, seller, now)
    outbox.relay()
    services.refresh_dirty(now=now)
    mine = client_for(seller.owner).get("/api/seller/rating/").json()
    assert mine["is_rated"] is True
    assert mine["weighting"]["version"] == "exp-decay-half-life-90d-cut-365d-v1"
    assert set(mine["metrics"]) == {
        "order_defect_rate",
        "cancellation_rate",
        "late_shipment_rate",
        "valid_tracking_rate",
    }
    worst = client_for(seller.owner).get("/api/seller/rating/orders/").json()["results"][0]
    assert (worst["score"], worst["counted_problem"]) == (-500, "a_to_z_claim")
    other = client_for(seller_b.owner)
    assert other.get(f"/api/seller/rating/orders/{orders[7].pk}/").status_code == 404
    assert other.get("/api/seller/rating/").json()["is_rated"] is False
    assert client_for(None).get(f"/api/sellers/{seller.pk}/rating/").status_code == 404


@pytest.mark.django_db
def test_shoppers_see_the_band_only_when_the_setting_is_on(settings, shopper, seller):
    settings.RATINGS_VISIBLE_TO_SHOPPERS = True
    response = client_for(None).get(f"/api/sellers/{seller.pk}/rating/")
    assert response.json() == {"seller_id": seller.pk, "is_rated": False, "band": None}


@pytest.mark.django_db
def test_rating_dashboard_page_shows_band_chart_and_costliest_orders(client, shopper, seller):
    now = timezone.now()
    _history(shopper, seller, now)
    outbox.relay()
    services.refresh_dirty(now=now)
    client.force_login(seller.owner)
    response = client.get(reverse("dashboard:rating"))
    assert response.status_code == 200
    assert response.context["is_rated"] is True
    assert response.context["worst"][0].counted_problem == "a_to_z_claim"
    assert b'id="rating-chart-data"' in response.content


@pytest.mark.django_db
def test_the_history_has_a_point_for_every_day_from_rows_kept_only_when_the_rating_moved(seller):
    now = timezone.now()
    today = now.date()
    for days_ago, score, band in (
        (400, 91.5, "good"),  # before the year shown: carried into its first day
        (10, 96.25, "very_good"),
        (3, 98.5, "excellent"),
    ):
        RatingHistory.objects.create(
            seller=seller, day=today - timedelta(days=days_ago), score=score, band=band
        )
    response = client_for(seller.owner).get("/api/seller/rating/history/")
    assert response.status_code == 200
    points = response.json()
    assert len(points) == 366
    assert points[0] == {
        "day": (today - timedelta(days=365)).isoformat(),
        "score": 91.5,
        "band": "good",
    }
    by_day = {point["day"]: (point["score"], point["band"]) for point in points}
    assert by_day[(today - timedelta(days=11)).isoformat()] == (91.5, "good")
    assert by_day[(today - timedelta(days=10)).isoformat()] == (96.25, "very_good")
    assert by_day[(today - timedelta(days=4)).isoformat()] == (96.25, "very_good")
    assert by_day[today.isoformat()] == (98.5, "excellent")
    assert [point["day"] for point in points] == [
        (today - timedelta(days=365 - offset)).isoformat() for offset in range(366)
    ]
    # A seller first rated yesterday has two days of history, not a year.
    RatingHistory.objects.filter(seller=seller).delete()
    RatingHistory.objects.create(seller=seller, day=today - timedelta(days=1), score=None, band="")
    points = client_for(seller.owner).get("/api/seller/rating/history/").json()
    assert points == [
        {"day": (today - timedelta(days=1)).isoformat(), "score": None, "band": ""},
        {"day": today.isoformat(), "score": None, "band": ""},
    ]
