"""Staff: issuing from the campaign admin, pausing, progress. Customers: the wallet's cost."""

from __future__ import annotations

from decimal import Decimal

import pytest

from config.celery import app
from core.models import OutboxEvent
from promotions import services
from promotions.models import Campaign, Coupon, IssueRun
from tests.conftest import client_for
from tests.factories import OfferFactory
from tests.promotions.factories import CampaignFactory

CHANGELIST = "/admin/promotions/campaign/"


@pytest.fixture
def eager_celery():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.mark.django_db
def test_staff_issue_codes_to_a_list_from_the_campaign_admin(
    client, staff, shopper, shopper_b, eager_celery, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory()
    client.force_login(staff)
    action = {"action": "issue_to_segment", "_selected_action": [campaign.pk]}
    form_page = client.post(CHANGELIST, action)
    assert form_page.status_code == 200
    assert b'name="segment"' in form_page.content
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            CHANGELIST,
            {
                **action,
                "apply": "1",
                "segment": "explicit",
                "mode": "personal",
                "customers": f"{shopper.email.upper()}\n{shopper_b.pk}\n",
            },
        )
    assert done.status_code == 302
    run = IssueRun.objects.get()
    assert (run.campaign, run.started_by, run.status, run.issued) == (campaign, staff, "done", 2)
    assert sorted(Coupon.objects.values_list("customer_id", flat=True)) == sorted(
        [shopper.pk, shopper_b.pk]
    )
    progress = client.get("/admin/promotions/issuerun/")
    assert b"2/2" in progress.content


@pytest.mark.django_db
def test_an_unknown_customer_in_the_list_issues_nothing(client, staff, shopper):
    campaign = CampaignFactory()
    client.force_login(staff)
    response = client.post(
        CHANGELIST,
        {
            "action": "issue_to_segment",
            "_selected_action": [campaign.pk],
            "apply": "1",
            "segment": "explicit",
            "mode": "personal",
            "customers": f"{shopper.email}\nnobody@example.test",
        },
    )
    assert response.status_code == 200
    assert "No account: nobody@example.test" in response.content.decode()
    assert IssueRun.objects.count() == 0
    assert Coupon.objects.count() == 0


@pytest.mark.django_db
def test_staff_pause_and_resume_through_the_service(client, staff):
    campaign = CampaignFactory()
    client.force_login(staff)
    client.post(CHANGELIST, {"action": "pause", "_selected_action": [campaign.pk]})
    assert Campaign.objects.get(pk=campaign.pk).is_active is False
    client.post(CHANGELIST, {"action": "resume", "_selected_action": [campaign.pk]})
    assert Campaign.objects.get(pk=campaign.pk).is_active is True
    assert [
        (event.topic, event.payload["actor_id"])
        for event in OutboxEvent.objects.filter(topic__startswith="campaign.").order_by(
            "created_at"
        )
    ] == [("campaign.paused", staff.pk), ("campaign.resumed", staff.pk)]


@pytest.mark.django_db
def test_campaign_list_shows_statistics_in_a_fixed_number_of_queries(
    client, staff, shopper, django_assert_max_num_queries
):
    for _ in range(5):
        services.coupon_issue_personal(CampaignFactory(), customer=shopper)
    client.force_login(staff)
    with django_assert_max_num_queries(8):
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert response.content.decode().count('class="field-issued">1<') == 5


@pytest.mark.django_db
def test_the_wallet_costs_the_same_queries_for_one_code_or_ten(
    shopper, seller, django_assert_num_queries
):
    offer = OfferFactory(seller=seller, price=Decimal("10.00"))
    client = client_for(shopper)
    services.coupon_issue_personal(CampaignFactory(), customer=shopper)
    client.get(f"/api/me/coupons/?cart={offer.pk}:1")  # warm the token lookup's caches
    with django_assert_num_queries(4) as one:
        client.get(f"/api/me/coupons/?cart={offer.pk}:1")
    for _ in range(9):
        services.coupon_issue_personal(CampaignFactory(), customer=shopper)
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(f"/api/me/coupons/?cart={offer.pk}:1")
    rows = response.json()["results"]
    assert len(rows) == 10
    assert {(row["applies_to_cart"], row["cart_discount"]["amount"]) for row in rows} == {
        (True, "1.00")
    }


@pytest.mark.django_db
def test_the_wallet_looks_without_marking_codes_applied_or_counting_failures(shopper, seller):
    offer = OfferFactory(seller=seller)
    coupon = services.coupon_issue_personal(
        CampaignFactory(min_order_value=Decimal("100")), customer=shopper
    )
    row = client_for(shopper).get(f"/api/me/coupons/?cart={offer.pk}:1").json()["results"][0]
    assert (row["applies_to_cart"], row["cart_error_code"]) == (False, "coupon_min_order_not_met")
    assert coupon.holders.get().applied_at is None


@pytest.mark.django_db
def test_validate_says_how_much_is_missing_in_the_envelope(shopper, seller):
    offer = OfferFactory(seller=seller, price=Decimal("12.50"))
    coupon = services.coupon_issue_personal(
        CampaignFactory(min_order_value=Decimal("25.00")), customer=shopper
    )
    response = client_for(shopper).post(
        "/api/coupons/validate/",
        {"code": coupon.display_code, "lines": [{"offer_id": offer.pk, "quantity": 1}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "coupon_min_order_not_met",
        "detail": "The minimum order value for this code is not reached.",
        "fields": {},
        "missing": {"amount": "12.50", "currency": "EUR"},
    }
