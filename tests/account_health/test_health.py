from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from account_health import errors, selectors, services
from account_health.constants import (
    CLEAN_ORDERS_PER_REWARD,
    CLEAN_REWARD_POINTS,
    MAX_SCORE,
    START_SCORE,
)
from account_health.models import Deactivation, HealthScore, LedgerEntry, Violation
from checkout import services as checkout
from core import outbox
from marketplace.models import Seller
from ratings.selectors import Rate, RateMetrics
from tests.conftest import client_for
from tests.factories import OfferFactory
from tests.marketplace.helpers import place_order


def score_of(seller):
    return selectors.health(seller.pk)["score"]


def test_points_by_severity_impact_and_repetition():
    assert services.violation_points("low", 1, False) == 20
    assert services.violation_points("medium", 1, False) == 50
    assert services.violation_points("high", 6, False) == 150  # +10 % per extra order
    assert services.violation_points("critical", 100, False) == 600  # impact capped at 3x
    assert services.violation_points("medium", 1, True) == 75  # repeat within 180 days: 1.5x


@pytest.mark.django_db
def test_opening_takes_points_resolving_gives_them_back_through_the_outbox(seller):
    now = timezone.now()
    first = services.violation_open(seller, policy_code="off_platform_contact", facts="x", now=now)
    assert score_of(seller) == 200  # not yet: the score follows through the outbox
    outbox.relay()
    assert score_of(seller) == 150
    again = services.violation_open(
        seller, policy_code="off_platform_contact", facts="y", now=now + timedelta(days=10)
    )
    outbox.relay()
    assert (again.is_repeat, again.points, score_of(seller)) == (True, 75, 75)
    assert selectors.health(seller.pk)["band"] == "critical"
    services.violation_resolve(first.pk, actor=None)
    outbox.relay()
    services.apply_violation_event(first.pk, cause="violation_resolved")  # a repeated event
    assert score_of(seller) == 125
    assert list(LedgerEntry.objects.order_by("pk").values_list("delta", "score_after")) == [
        (-50, 150),
        (-75, 75),
        (50, 125),
    ]
    later = services.violation_open(
        seller, policy_code="off_platform_contact", facts="z", now=now + timedelta(days=400)
    )
    assert later.is_repeat is False


@pytest.mark.django_db
def test_fix_first_lists_the_biggest_gain_first_with_how_to_fix(seller):
    services.violation_open(seller, policy_code="listing_accuracy", facts="a")
    services.violation_open(seller, policy_code="counterfeit_item", facts="b")
    services.violation_open(seller, policy_code="prohibited_product", facts="c", affected_orders=3)
    rows = selectors.fix_first(seller.pk)
    assert [(v.policy.code, v.points) for v in rows] == [
        ("counterfeit_item", 200),
        ("prohibited_product", 120),
        ("listing_accuracy", 20),
    ]
    assert rows[0].policy.how_to_fix.startswith("Remove the listing")


@pytest.mark.django_db
def test_marking_fixed_resolves_at_once_or_waits_for_review(seller, seller_b):
    quick = services.violation_open(seller, policy_code="listing_accuracy", facts="a")
    slow = services.violation_open(seller, policy_code="counterfeit_item", facts="b")
    client = client_for(seller.owner)
    done = client.post(
        f"/api/seller/health/violations/{quick.pk}/fixed/", {"statement": "fixed text"}
    )
    waiting = client.post(
        f"/api/seller/health/violations/{slow.pk}/fixed/", {"statement": "invoices sent"}
    )
    foreign = client_for(seller_b.owner).post(
        f"/api/seller/health/violations/{quick.pk}/fixed/", {"statement": "me too"}
    )
    assert (done.json()["status"], waiting.json()["status"]) == ("resolved", "pending_review")
    assert foreign.status_code == 404
    assert Violation.objects.get(pk=slow.pk).seller_statement == "invoices sent"


def _metrics(seller, odr_defects, total):
    now = timezone.now()
    return RateMetrics(
        seller_id=seller.pk,
        computed_at=now,
        order_defect=Rate(odr_defects, total, 60),
        cancellation=Rate(0, total, 30),
        late_shipment=Rate(0, total, 30),
        valid_tracking=Rate(total, total, 30),
    )


@pytest.mark.django_db
def test_a_missed_metric_target_opens_a_violation_that_closes_itself(seller):
    services.metric_violations_sync(seller.pk, _metrics(seller, 3, 100))
    services.metric_violations_sync(seller.pk, _metrics(seller, 4, 100))
    violation = Violation.objects.get()
    assert (violation.policy.code, violation.source, violation.affected_orders) == (
        "order_defect_rate_above_target",
        "automatic",
        3,
    )
    services.metric_violations_sync(seller.pk, _metrics(seller, 0, 100))
    assert Violation.objects.get().status == "resolved"


@pytest.mark.django_db
def test_ratings_metrics_event_reaches_account_health(shopper, seller):
    order = place_order(shopper, OfferFactory(seller=seller))
    from marketplace.services import claim_file

    claim_file(shopper, order_id=order.pk, reason="never arrived")
    outbox.relay()
    from ratings.services import refresh_dirty

    refresh_dirty()
    outbox.relay()
    assert Violation.objects.get().policy.code == "order_defect_rate_above_target"
    assert score_of(seller) < 200


def _make_critical(seller):
    services.violation_open(seller, policy_code="counterfeit_item", facts="fake shoes")
    outbox.relay()
    assert selectors.health(seller.pk)["band"] == "critical"


@pytest.mark.django_db
def test_deactivation_revokes_every_token_and_session_and_makes_offers_unbuyable(
    client, shopper, seller, staff
):
    offer = OfferFactory(seller=seller)
    open_order = place_order(shopper, offer)
    token = Token.objects.create(user=seller.owner)
    client.force_login(seller.owner)
    assert client.get(reverse("dashboard:home")).status_code == 200
    with pytest.raises(errors.NotCritical):
        services.deactivation_request(
            seller, statement="s", facts="f", policy_codes=[], is_automated=False, actor=staff
        )
    _make_critical(seller)
    deactivation = services.deactivation_request(
        seller,
        statement="Counterfeit goods sold.",
        facts="Test purchase 123 was fake.",
        policy_codes=["counterfeit_item"],
        is_automated=False,
        actor=staff,
    )
    assert deactivation.status == "effective"
    assert Seller.objects.get(pk=seller.pk).status == "deactivated"
    stale = client_for(None)
    stale.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert stale.get("/api/seller/orders/").status_code == 401
    assert client.get(reverse("dashboard:home")).status_code == 302
    with pytest.raises(checkout.errors.SellerNotActive):
        checkout.checkout_place(
            shopper, lines=[checkout.CartLine(offer.pk, 1)], address_id=shopper.addresses.get().pk
        )
    # Signing in again, the seller can still ship the order that was open.
    fresh = client_for(seller.owner)
    shipped = fresh.post(
        f"/api/seller/orders/{open_order.pk}/ship/",
        {"carrier": "dhl", "tracking_number": "00340434161234567890"},
    )
    assert shipped.status_code == 200
    statement = fresh.get("/api/seller/health/deactivation/").json()
    assert (statement["statement"], statement["is_automated"], statement["policies"]) == (
        "Counterfeit goods sold.",
        False,
        ["counterfeit_item"],
    )


@pytest.mark.django_db
def test_a_long_healthy_seller_gets_72_hours_before_deactivation(seller, staff):
    now = timezone.now()
    Seller.objects.filter(pk=seller.pk).update(created_at=now - timedelta(days=400))
    HealthScore.objects.create(seller=seller, base=300, penalty=0, updated_at=now)
    LedgerEntry.objects.create(
        seller=seller,
        cause="clean_selling",
        rule="r",
        delta=100,
        score_after=300,
        created_at=now - timedelta(days=200),
    )
    services.violation_open(
        seller, policy_code="counterfeit_item", facts="a", affected_orders=2, now=now
    )
    outbox.relay()
    assert selectors.health(seller.pk)["band"] == "critical"
    deactivation = services.deactivation_request(
        seller,
        statement="s",
        facts="f",
        policy_codes=["counterfeit_item"],
        is_automated=True,
        actor=None,
        now=now,
    )
    assert (deactivation.status, deactivation.effective_at) == (
        "pending",
        now + timedelta(hours=72),
    )
    assert services.deactivations_apply_due(now=now + timedelta(hours=71)) == 0
    assert Seller.objects.get(pk=seller.pk).status == "active"
    assert services.deactivations_apply_due(now=now + timedelta(hours=72)) == 1
    assert Seller.objects.get(pk=seller.pk).status == "deactivated"


@pytest.mark.django_db
def test_appeal_end_to_end_reinstates_the_seller(shopper, seller, staff):
    offer = OfferFactory(seller=seller)
    _make_critical(seller)
    services.deactivation_request(
        seller,
        statement="s",
        facts="f",
        policy_codes=["counterfeit_item"],
        is_automated=False,
        actor=staff,
    )
    client = client_for(seller.owner)
    incomplete = client.post(
        "/api/seller/health/appeals/",
        {"root_cause": "x", "corrective_actions": "", "preventive_measures": "z"},
    )
    assert incomplete.status_code == 400
    submitted = client.post(
        "/api/seller/health/appeals/",
        {
            "root_cause": "Bad supplier",
            "corrective_actions": "Removed all items",
            "preventive_measures": "Invoices checked",
        },
    )
    twice = client.post(
        "/api/seller/health/appeals/",
        {"root_cause": "a", "corrective_actions": "b", "preventive_measures": "c"},
    )
    assert (submitted.status_code, twice.json()["code"]) == (201, "appeal_already_submitted")
    services.appeal_decide(
        submitted.json()["id"], approve=True, reason="Supplier invoices verified", actor=staff
    )
    outbox.relay()
    assert Seller.objects.get(pk=seller.pk).status == "active"
    assert Deactivation.objects.get().status == "reinstated"
    assert Violation.objects.get().status == "resolved"
    assert score_of(seller) == 200
    order = checkout.checkout_place(
        shopper, lines=[checkout.CartLine(offer.pk, 1)], address_id=shopper.addresses.get().pk
    ).orders[0]
    assert order.seller_id == seller.pk


@pytest.mark.django_db
def test_health_api_and_dashboard_are_scoped(client, seller, seller_b):
    services.violation_open(seller_b, policy_code="listing_accuracy", facts="theirs")
    outbox.relay()
    mine = client_for(seller.owner).get("/api/seller/health/").json()
    assert (mine["score"], mine["band"], mine["colour"], mine["fix_first"]) == (
        200,
        "healthy",
        "green",
        [],
    )
    client.force_login(seller_b.owner)
    page = client.get(reverse("dashboard:health"))
    assert page.status_code == 200
    assert [v.facts for v in page.context["fix_first"]] == ["theirs"]
    assert page.context["score"] == 180


@pytest.mark.django_db
def test_clean_selling_earns_points_slowly_up_to_the_maximum(seller):
    with transaction.atomic():
        for _ in range(2 * CLEAN_ORDERS_PER_REWARD + 7):
            outbox.emit("order.delivered", {"seller_id": seller.pk, "order_id": 0})
    outbox.relay()
    assert score_of(seller) == START_SCORE + 2 * CLEAN_REWARD_POINTS
    assert list(
        LedgerEntry.objects.filter(cause="clean_selling").values_list("delta", "score_after")
    ) == [(CLEAN_REWARD_POINTS, 205), (CLEAN_REWARD_POINTS, 210)]

    HealthScore.objects.filter(seller_id=seller.pk).update(base=MAX_SCORE - 2, clean_orders=199)
    services.clean_orders_delivered([seller.pk])
    assert score_of(seller) == MAX_SCORE  # capped: 2 points, not 5
    assert LedgerEntry.objects.filter(cause="clean_selling").last().delta == 2


@pytest.mark.django_db(transaction=True)
def test_parallel_relays_apply_each_violation_once(seller, seller_b):
    sellers = [seller, seller_b]
    with transaction.atomic():
        violations = [
            services.violation_open(
                sellers[i % 2], policy_code="listing_accuracy", facts=str(i), now=timezone.now()
            )
            for i in range(300)
        ]
    barrier = threading.Barrier(4)

    def relay() -> None:
        barrier.wait()
        try:
            outbox.relay()
        finally:
            connection.close()

    threads = [threading.Thread(target=relay) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert LedgerEntry.objects.filter(cause="violation_opened").count() == 300
    for one in sellers:
        taken = sum(v.points for v in violations if v.seller_id == one.pk)
        assert HealthScore.objects.get(seller_id=one.pk).penalty == taken
        ledger = list(
            LedgerEntry.objects.filter(seller_id=one.pk)
            .order_by("pk")
            .values_list("delta", "score_after")
        )
        running = START_SCORE
        for delta, score_after in ledger:  # the running score in the ledger has no gaps
            running += delta
            assert score_after == max(0, running)
