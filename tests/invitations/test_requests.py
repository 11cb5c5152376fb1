"""Invitation requests: one per account, refusals that write nothing, the shopper's views."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from core.models import OutboxEvent
from invitations import errors
from invitations.models import InvitationRequest
from marketplace.models import Offer
from tests.conftest import client_for
from tests.factories import AddressFactory
from tests.invitations.factories import BROWSER, customer, make_drop, request


@pytest.mark.django_db(transaction=True)
def test_fifty_parallel_requests_by_one_account_give_one_row():
    drop = make_drop()
    user = customer()
    barrier = threading.Barrier(50)
    created: list[bool] = []
    failures: list[BaseException] = []

    def attempt() -> None:
        try:
            barrier.wait()
            created.append(request(drop, user)[1])
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert InvitationRequest.objects.filter(drop=drop, customer=user).count() == 1
    assert sorted(created) == [False] * 49 + [True]
    assert OutboxEvent.objects.filter(topic="invitation.requested").count() == 1


@pytest.mark.django_db(transaction=True)
def test_fifty_parallel_api_requests_by_one_account_answer_one_201_and_the_same_request():
    drop = make_drop()
    user = customer()
    barrier = threading.Barrier(50)
    answers: list[tuple[int, int]] = []

    def attempt() -> None:
        try:
            client = client_for(user)
            barrier.wait()
            response = client.post(f"/api/drops/{drop.pk}/requests/", HTTP_USER_AGENT=BROWSER)
            answers.append((response.status_code, response.json()["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = InvitationRequest.objects.get(drop=drop, customer=user)
    assert sorted(status for status, _id in answers) == [200] * 49 + [201]
    assert {request_id for _status, request_id in answers} == {stored.pk}


@pytest.mark.django_db
def test_requests_outside_the_window_or_the_countries_are_refused_and_change_nothing():
    now = timezone.now()
    later = make_drop(opens=now + timedelta(days=1), closes=now + timedelta(days=2), now=now)
    over = make_drop(opens=now - timedelta(days=2), closes=now - timedelta(days=1), now=now)
    austria_only = make_drop(countries=("AT",), now=now)
    user = customer()
    events_before = OutboxEvent.objects.count()
    with pytest.raises(errors.DropNotOpen):
        request(later, user, now=now)
    with pytest.raises(errors.DropNotOpen):
        request(over, user, now=now)
    with pytest.raises(errors.CountryNotEligible):
        request(austria_only, user, now=now)
    assert InvitationRequest.objects.count() == 0
    assert OutboxEvent.objects.count() == events_before


@pytest.mark.django_db
def test_the_api_refuses_with_clear_codes_and_writes_nothing(shopper):
    now = timezone.now()
    later = make_drop(opens=now + timedelta(days=1), closes=now + timedelta(days=2))
    austria_only = make_drop(countries=("AT",))
    client = client_for(shopper)
    not_open = client.post(f"/api/drops/{later.pk}/requests/", HTTP_USER_AGENT=BROWSER)
    country = client.post(f"/api/drops/{austria_only.pk}/requests/", HTTP_USER_AGENT=BROWSER)
    missing = client.post("/api/drops/999999/requests/", HTTP_USER_AGENT=BROWSER)
    foreign = client.post(
        f"/api/drops/{austria_only.pk}/requests/",
        {"address_id": customer().addresses.get().pk},
        HTTP_USER_AGENT=BROWSER,
    )
    anonymous = client_for(None).post(f"/api/drops/{later.pk}/requests/")
    assert (not_open.status_code, not_open.json()["code"]) == (409, "drop_not_open")
    assert (country.status_code, country.json()["code"]) == (409, "country_not_eligible")
    assert (missing.status_code, missing.json()["code"]) == (404, "drop_not_found")
    assert (foreign.status_code, foreign.json()["code"]) == (404, "address_not_found")
    assert anonymous.status_code == 401
    assert InvitationRequest.objects.count() == 0


@pytest.mark.django_db
def test_an_address_in_an_eligible_country_may_be_chosen(shopper):
    drop = make_drop(countries=("AT",))
    vienna = AddressFactory(
        owner=shopper,
        line1="Ring 1",
        city="Wien",
        postal_code="1010",
        country="AT",
        is_default=False,
    )
    response = client_for(shopper).post(
        f"/api/drops/{drop.pk}/requests/", {"address_id": vienna.pk}, HTTP_USER_AGENT=BROWSER
    )
    assert response.status_code == 201
    assert InvitationRequest.objects.get().address_id == vienna.pk


@pytest.mark.django_db
def test_a_repeat_returns_the_first_request_and_my_requests_lists_it(shopper):
    drop = make_drop()
    client = client_for(shopper)
    first = client.post(f"/api/drops/{drop.pk}/requests/", HTTP_USER_AGENT=BROWSER)
    second = client.post(f"/api/drops/{drop.pk}/requests/", HTTP_USER_AGENT=BROWSER)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert InvitationRequest.objects.count() == 1
    mine = client.get("/api/me/drop-requests/").json()["results"]
    assert [(row["id"], row["state"], row["screened_out_reason"]) for row in mine] == [
        (first.json()["id"], "received", None)
    ]
    assert client_for(customer()).get("/api/me/drop-requests/").json()["results"] == []


@pytest.mark.django_db
def test_the_drop_list_shows_open_and_upcoming_drops_with_the_seed_hash_only(api):
    now = timezone.now()
    upcoming = make_drop(opens=now + timedelta(days=1), closes=now + timedelta(days=2))
    open_now = make_drop()
    make_drop(opens=now - timedelta(days=2), closes=now - timedelta(days=1))
    listed = api.get("/api/drops/").json()["results"]
    assert [(row["id"], row["is_open"], row["status"]) for row in listed] == [
        (open_now.pk, True, "open"),
        (upcoming.pk, False, "scheduled"),
    ]
    assert listed[0]["seed"] is None
    assert listed[0]["seed_hash"] == open_now.seed_hash
    assert len(open_now.seed_hash) == 64


@pytest.mark.django_db
def test_a_bot_is_told_a_category_and_how_to_appeal_but_not_the_rules():
    drop = make_drop()
    bot = customer(days_old=0, delivered=0)
    response = client_for(bot).post(
        f"/api/drops/{drop.pk}/requests/", HTTP_USER_AGENT="python-requests/2.32"
    )
    body = response.json()
    stored = InvitationRequest.objects.get()
    assert body["state"] == "screened_out"
    assert body["reason_category"] == "device"
    assert body["screened_out_reason"] == "Your request looked automated."
    assert body["appeal_url"] == f"/api/me/drop-requests/{stored.pk}/appeal/"
    assert "appeal" in body["appeal"]
    for secret in ("threshold", "weight", "score", "automation_agent", "python-requests"):
        assert secret not in str(body)
    assert [rule["code"] for rule in stored.verdict["fired"]] == [
        "new_account",
        "no_purchase_history",
        "automation_agent",
    ]
    assert (stored.verdict["score"], stored.verdict["automated"]) == (11, True)
    assert stored.is_automated_verdict is True


@pytest.mark.django_db
def test_a_genuinely_new_customer_is_not_screened_out():
    drop = make_drop()
    newcomer = customer(days_old=1, delivered=0)
    created, _ = request(drop, newcomer)
    assert created.state == "received"
    assert created.verdict["score"] == 3


@pytest.mark.django_db
def test_a_spoofed_forwarded_header_does_not_count_without_a_trusted_proxy(shopper):
    drop = make_drop()
    client_for(shopper).post(
        f"/api/drops/{drop.pk}/requests/",
        HTTP_USER_AGENT=BROWSER,
        HTTP_X_FORWARDED_FOR="198.51.100.77",
        REMOTE_ADDR="203.0.113.9",
    )
    stored = InvitationRequest.objects.get()
    assert (stored.ip_address, stored.network) == ("203.0.113.9", "203.0.113.0/24")


@pytest.mark.django_db
def test_with_one_trusted_proxy_the_address_it_saw_counts(shopper, settings):
    drop = make_drop()
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}):
        client_for(shopper).post(
            f"/api/drops/{drop.pk}/requests/",
            HTTP_USER_AGENT=BROWSER,
            HTTP_X_FORWARDED_FOR="10.9.9.9, 198.51.100.77",
            REMOTE_ADDR="10.0.0.1",
        )
    assert InvitationRequest.objects.get().ip_address == "198.51.100.77"


@pytest.mark.django_db
def test_a_malformed_forwarded_address_is_stored_as_unknown(shopper, settings):
    drop = make_drop()
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}):
        response = client_for(shopper).post(
            f"/api/drops/{drop.pk}/requests/",
            HTTP_USER_AGENT=BROWSER,
            HTTP_X_FORWARDED_FOR="not-an-address",
        )
    assert response.status_code == 201
    assert (
        InvitationRequest.objects.get().ip_address,
        InvitationRequest.objects.get().network,
    ) == (
        None,
        "",
    )


@pytest.mark.django_db
def test_the_product_page_says_available_by_invitation_and_shows_my_request(shopper):
    drop = make_drop()
    offer = Offer.objects.get(pk=drop.offer_id)
    client = client_for(shopper)
    before = client.get(f"/api/products/{offer.product_id}/").json()["offers"][0]["invitation"]
    client.post(f"/api/drops/{drop.pk}/requests/", HTTP_USER_AGENT=BROWSER)
    after = client.get(f"/api/products/{offer.product_id}/").json()["offers"][0]["invitation"]
    anonymous = client_for(None).get(f"/api/products/{offer.product_id}/").json()
    assert before["available_by_invitation"] is True
    assert before["notices"] == [
        "Available by invitation.",
        "High-demand item with limited quantities.",
        "We cannot grant every request.",
    ]
    assert (before["is_open"], before["can_request"], before["my_request"]) == (True, True, None)
    assert before["request_closes_at"] == drop.request_closes_at.isoformat().replace("+00:00", "Z")
    assert (after["can_request"], after["my_request"]["state"]) == (False, "received")
    assert anonymous["offers"][0]["invitation"]["can_request"] is False


@pytest.mark.django_db
def test_a_request_and_my_requests_cost_a_fixed_number_of_queries(
    shopper, django_assert_max_num_queries
):
    drops = [make_drop() for _ in range(3)]
    client = client_for(shopper)
    # The token login reads the drop with every fact the screening needs; then one insert.
    with django_assert_max_num_queries(2):
        client.post(f"/api/drops/{drops[0].pk}/requests/", HTTP_USER_AGENT=BROWSER)
    with django_assert_max_num_queries(2):  # a repeat reads its request instead of writing
        repeat = client.post(f"/api/drops/{drops[0].pk}/requests/", HTTP_USER_AGENT=BROWSER)
    assert repeat.status_code == 200
    for drop in drops[1:]:
        client.post(f"/api/drops/{drop.pk}/requests/", HTTP_USER_AGENT=BROWSER)
    with django_assert_max_num_queries(4):
        listed = client.get("/api/me/drop-requests/").json()["results"]
    assert len(listed) == 3


@pytest.mark.django_db
def test_a_chosen_address_is_read_for_after_the_login_and_answers_the_same(
    shopper, django_assert_num_queries
):
    drops = [make_drop() for _ in range(2)]
    address = AddressFactory(owner=shopper, line1="Zweitweg 2", is_default=False)
    client = client_for(shopper)
    with django_assert_num_queries(2):
        default = client.post(f"/api/drops/{drops[0].pk}/requests/", HTTP_USER_AGENT=BROWSER)
    # The login cannot read ahead for an address the body names: the view reads for it.
    with django_assert_num_queries(3):
        chosen = client.post(
            f"/api/drops/{drops[1].pk}/requests/",
            {"address_id": address.pk},
            format="json",
            HTTP_USER_AGENT=BROWSER,
        )
    assert (default.status_code, chosen.status_code) == (201, 201)
    stored = dict(InvitationRequest.objects.values_list("drop_id", "address_id"))
    assert stored == {
        drops[0].pk: shopper.addresses.get(is_default=True).pk,
        drops[1].pk: address.pk,
    }
    shown = ("state", "screened_out_reason", "appeal_status", "invitation_expires_at")
    assert [default.json()[key] for key in shown] == [chosen.json()[key] for key in shown]
    assert [default.json()[key] for key in shown] == ["received", None, None, None]


@pytest.mark.django_db
def test_an_unknown_token_or_an_inactive_account_is_refused_and_nothing_is_written(shopper):
    drop = make_drop()
    client = client_for(shopper)
    unknown = client_for(None)
    unknown.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    refused = unknown.post(f"/api/drops/{drop.pk}/requests/", HTTP_USER_AGENT=BROWSER)
    assert (refused.status_code, refused.json()["code"]) == (401, "authentication_failed")
    shopper.is_active = False
    shopper.save(update_fields=["is_active"])
    inactive = client.post(f"/api/drops/{drop.pk}/requests/", HTTP_USER_AGENT=BROWSER)
    assert (inactive.status_code, inactive.json()["code"]) == (401, "authentication_failed")
    missing = client_for(None).post(f"/api/drops/{drop.pk}/requests/", HTTP_USER_AGENT=BROWSER)
    assert (missing.status_code, missing.json()["code"]) == (401, "not_authenticated")
    assert InvitationRequest.objects.count() == 0
    assert OutboxEvent.objects.filter(topic="invitation.requested").count() == 0
