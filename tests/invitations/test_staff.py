"""Staff: dry run, draw now, verify, overrides and appeals, figures; all through services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core import outbox
from core.models import OutgoingEmail
from invitations import errors, selectors, services
from invitations.models import Draw, Drop, InvitationRequest
from marketplace.models import Offer
from tests.conftest import client_for
from tests.factories import OfferFactory
from tests.invitations.factories import close, customer, make_drop, request

DROPS = "/admin/invitations/drop/"
REQUESTS = "/admin/invitations/invitationrequest/"


def state_of_requests():
    return list(
        InvitationRequest.objects.order_by("pk").values_list(
            "state", "verdict", "screened_category"
        )
    )


def shared_address_cluster(drop, count=3):
    """Fresh accounts from different networks, all shipping to one flat."""
    return [
        request(
            drop,
            customer(days_old=2, delivered=0, line1="Musterstraße 5", postal_code="10117"),
            ip=f"77.{index}.3.4",
        )[0]
        for index in range(count)
    ]


@pytest.mark.django_db
def test_the_dry_run_counts_per_rule_with_samples_and_writes_nothing():
    drop = make_drop()
    cluster = shared_address_cluster(drop)
    request(drop, customer(), ip="203.0.113.50")
    before = state_of_requests()
    result = services.screening_batch(drop, dry_run=True)
    assert state_of_requests() == before
    assert (result["requests"], result["screened_out"], result["newly_screened_out"]) == (4, 3, 3)
    assert result["by_rule"] == {
        "new_account": {"count": 3, "samples": [r.pk for r in cluster]},
        "no_purchase_history": {"count": 3, "samples": [r.pk for r in cluster]},
        "shared_address": {"count": 3, "samples": [r.pk for r in cluster]},
    }
    services.screening_batch(drop)
    assert [state for state, _verdict, _category in state_of_requests()] == [
        "screened_out",
        "screened_out",
        "screened_out",
        "received",
    ]
    stored = InvitationRequest.objects.get(pk=cluster[0].pk)
    assert stored.screened_category == "address"
    assert stored.verdict["automated"] is True
    assert [rule["code"] for rule in stored.verdict["fired"]] == [
        "new_account",
        "no_purchase_history",
        "shared_address",
    ]


@pytest.mark.django_db
def test_a_cluster_that_breaks_up_before_a_second_screening_lifts_its_rule():
    drop = make_drop()
    fresh = shared_address_cluster(drop, count=2)
    # An established customer at the same flat: the rule fires, the trust credit keeps them in.
    regular, _ = request(
        drop, customer(line1="Musterstrasse 5", postal_code="10117"), ip="203.0.113.60"
    )
    services.screening_batch(drop)
    assert list(
        InvitationRequest.objects.order_by("pk").values_list("state", "has_batch_rules")
    ) == [("screened_out", True), ("screened_out", True), ("received", True)]
    # One account is gone: the two left at the address are a household, not a cluster.
    fresh[0].customer.delete()
    result = services.screening_batch(drop)
    assert (result["requests"], result["screened_out"], result["readmitted"]) == (2, 0, 1)
    rows = InvitationRequest.objects.order_by("pk")
    assert list(rows.values_list("pk", "state", "has_batch_rules")) == [
        (fresh[1].pk, "received", False),
        (regular.pk, "received", False),
    ]
    assert [[rule["code"] for rule in row.verdict["fired"]] for row in rows] == [
        ["new_account", "no_purchase_history"],
        ["established_customer"],
    ]


@pytest.mark.django_db
def test_admin_dry_run_draw_now_and_verify(client, staff):
    drop = make_drop(units=1)
    shared_address_cluster(drop)
    request(drop, customer(), ip="203.0.113.50")
    client.force_login(staff)
    before = state_of_requests()
    dry = client.post(DROPS, {"action": "dry_run", "_selected_action": [drop.pk]}, follow=True)
    assert "3 would be screened out" in dry.content.decode()
    assert state_of_requests() == before
    drawn = client.post(DROPS, {"action": "draw_now", "_selected_action": [drop.pk]}, follow=True)
    assert "round 1, 1 winners" in drawn.content.decode()
    assert Drop.objects.get(pk=drop.pk).status == "drawn"
    verified = client.post(DROPS, {"action": "verify", "_selected_action": [drop.pk]}, follow=True)
    assert f"draw {drop.pk}/1: ok" in verified.content.decode().lower()
    page = client.get(f"{DROPS}{drop.pk}/change/")
    assert page.status_code == 200
    assert "screened_out_by_rule" in page.content.decode()


@pytest.mark.django_db
def test_staff_create_a_drop_in_admin_through_the_service(client, staff):
    offer = OfferFactory(stock=3)
    client.force_login(staff)
    now = timezone.now()
    form = {
        "offer": offer.pk,
        "units": 5,
        "request_opens_at_0": now.strftime("%Y-%m-%d"),
        "request_opens_at_1": "00:00:00",
        "request_closes_at_0": (now + timedelta(days=2)).strftime("%Y-%m-%d"),
        "request_closes_at_1": "00:00:00",
        "eligible_countries": '["DE"]',
        "purchase_window_hours": 72,
        "limit_per_customer": 1,
    }
    refused = client.post(f"{DROPS}add/", form)
    assert refused.status_code == 200
    assert Drop.objects.count() == 0
    created = client.post(f"{DROPS}add/", {**form, "units": 2})
    assert created.status_code == 302
    drop = Drop.objects.get()
    assert len(drop.seed_hash) == 64
    assert Offer.objects.get(pk=offer.pk).requires_invitation is True


@pytest.mark.django_db
def test_an_appeal_admitted_by_staff_takes_part_and_the_rules_do_not_overrule_it(staff):
    drop = make_drop()
    newcomer = customer(days_old=0, delivered=0)
    screened, _ = request(drop, newcomer, agent="curl/8.0")
    client = client_for(newcomer)
    empty = client.post(f"/api/me/drop-requests/{screened.pk}/appeal/", {"text": " "})
    other = client_for(customer()).post(
        f"/api/me/drop-requests/{screened.pk}/appeal/", {"text": "me"}
    )
    appealed = client.post(
        f"/api/me/drop-requests/{screened.pk}/appeal/",
        {"text": "I used a script to check the page."},
    )
    assert (empty.status_code, empty.json()["code"]) == (400, "validation_error")
    assert (other.status_code, other.json()["code"]) == (404, "drop_request_not_found")
    assert appealed.status_code == 200
    assert (appealed.json()["appeal_status"], appealed.json()["appeal_url"]) == ("pending", None)
    assert list(selectors.appeals_pending(drop=drop)) == [screened]
    services.appeal_decide(screened.pk, admit=True, actor=staff, reason="a person")
    services.appeal_decide(screened.pk, admit=False, actor=staff, reason="second click")
    screened.refresh_from_db()
    assert (screened.state, screened.is_automated_verdict, screened.appeal_status) == (
        "received",
        False,
        "admitted",
    )
    assert screened.verdict["override"]["by"] == staff.pk
    services.screening_batch(drop)
    screened.refresh_from_db()
    assert screened.state == "received"
    outbox.relay()
    assert OutgoingEmail.objects.filter(template="invitation_appeal_decided").count() == 1
    again = client.post(f"/api/me/drop-requests/{screened.pk}/appeal/", {"text": "again"})
    assert again.json()["code"] == "drop_appeal_decided"


@pytest.mark.django_db
def test_admin_rejects_an_appeal_and_the_customer_sees_it(client, staff):
    drop = make_drop()
    newcomer = customer(days_old=0, delivered=0)
    screened, _ = request(drop, newcomer, agent="curl/8.0")
    services.request_appeal(newcomer, request_id=screened.pk, text="please")
    client.force_login(staff)
    client.post(REQUESTS, {"action": "reject_appeal", "_selected_action": [screened.pk]})
    mine = client_for(newcomer).get("/api/me/drop-requests/").json()["results"][0]
    assert (mine["state"], mine["appeal_status"], mine["reason_category"]) == (
        "screened_out",
        "rejected",
        "device",
    )


@pytest.mark.django_db
def test_figures_per_drop():
    drop = make_drop(units=1)
    shared_address_cluster(drop)
    winners = [request(drop, customer(), ip=f"203.0.{i}.5")[0] for i in range(2)]
    close(drop)
    services.draw_run(drop.pk)
    figures = selectors.drop_figures(Drop.objects.get(pk=drop.pk))
    assert figures["requests"] == 5
    assert figures["screened_out"] == 3
    assert figures["screened_out_by_rule"] == {
        "new_account": 3,
        "no_purchase_history": 3,
        "shared_address": 3,
    }
    assert (figures["winners"], figures["invited"], figures["not_drawn"]) == (1, 1, 1)
    assert (figures["rounds"], figures["held_units"]) == (1, 1)
    assert len(winners) == 2


@pytest.mark.django_db
def test_drop_creation_refuses_what_cannot_be_held():
    offer = OfferFactory(stock=1)
    now = timezone.now()
    with pytest.raises(errors.NotEnoughStock):
        services.drop_create(
            offer=offer,
            units=2,
            opens_at=now,
            closes_at=now + timedelta(hours=1),
            eligible_countries=["DE"],
        )
    with pytest.raises(errors.DropInvalid):
        services.drop_create(
            offer=offer, units=1, opens_at=now, closes_at=now, eligible_countries=[]
        )
    assert Drop.objects.count() == 0
    assert Draw.objects.count() == 0
    assert Offer.objects.get(pk=offer.pk).requires_invitation is False
