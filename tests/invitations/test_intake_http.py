"""``POST /api/drops/{id}/requests/`` through HTTP: a token request that names no address takes the
lean path (the token login and the request's facts in one statement, then the insert); a session
request and anything unusual take DRF's. Both must answer alike and write alike."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.api.throttling import UserRateThrottle
from core.models import OutboxEvent
from invitations import services
from invitations.models import InvitationRequest
from tests.conftest import calls_to, client_for, session_post
from tests.factories import AddressFactory, UserFactory
from tests.invitations.factories import BROWSER, customer, make_drop


@pytest.fixture
def lean_reads(monkeypatch):
    """How many requests the lean path read (each reads once, with the token login)."""
    return calls_to(monkeypatch, services, "token_login_with_facts")


def _url(drop_id: int) -> str:
    return f"/api/drops/{drop_id}/requests/"


def _token_post(user, drop_id, body=None, **extra):
    client = client_for(user)
    extra.setdefault("HTTP_USER_AGENT", BROWSER)
    if body is None:
        return client.post(_url(drop_id), **extra)
    return client.post(_url(drop_id), body, format="json", **extra)


def _session_post(user, drop_id, body=None):
    return session_post(user, _url(drop_id), body, HTTP_USER_AGENT=BROWSER)


def _alike(by_token, by_session):
    assert by_token.content == by_session.content
    assert (by_token["Content-Type"], by_token["Allow"]) == (
        by_session["Content-Type"],
        by_session["Allow"],
    )
    # A session answer also varies by the cookie it was read from.
    assert f"{by_token['Vary']}, Cookie" == by_session["Vary"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("token_first", "zone"), [(True, "UTC"), (False, "UTC"), (True, "Europe/Berlin")]
)
def test_a_request_answers_alike_by_token_and_by_session(token_first, zone, lean_reads, settings):
    settings.TIME_ZONE = zone  # times are shown in the site's zone on both paths
    drop, user = make_drop(), customer()
    if token_first:
        first, repeat = _token_post(user, drop.pk), _session_post(user, drop.pk)
    else:
        first, repeat = _session_post(user, drop.pk), _token_post(user, drop.pk)
    assert len(lean_reads) == 1  # exactly the token request was answered by the lean path
    assert (first.status_code, repeat.status_code) == (201, 200)
    assert first.json()["state"] == "received"
    assert first.json()["requested_at"].endswith("Z" if zone == "UTC" else ":00")
    # The answer to the repeat is the stored request, so the first answer showed what was stored.
    by_token, by_session = (first, repeat) if token_first else (repeat, first)
    _alike(by_token, by_session)
    assert InvitationRequest.objects.filter(drop=drop, customer=user).count() == 1
    assert OutboxEvent.objects.filter(topic="invitation.requested").count() == 1


@pytest.mark.django_db
def test_a_screened_out_request_answers_alike_with_its_category_and_appeal(lean_reads):
    drop = make_drop()
    bot = customer(days_old=0, delivered=0, email="x@mailinator.com")
    by_token = _token_post(bot, drop.pk, HTTP_USER_AGENT="python-requests/2.32")
    by_session = _session_post(bot, drop.pk)
    assert (by_token.status_code, by_session.status_code) == (201, 200)
    answer = by_token.json()
    assert answer["state"] == "screened_out"
    assert answer["appeal_url"] == f"/api/me/drop-requests/{answer['id']}/appeal/"
    _alike(by_token, by_session)
    assert len(lean_reads) == 1


def _refusals():
    now = timezone.now()
    return {
        "drop_not_found": lambda: (None, customer()),
        "drop_not_open": lambda: (
            make_drop(opens=now - timedelta(hours=2), closes=now - timedelta(hours=1)),
            customer(),
        ),
        "address_required": lambda: (make_drop(), UserFactory()),
        "country_not_eligible": lambda: (make_drop(), customer(country="FR")),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("code", sorted(_refusals()))
def test_every_refusal_answers_alike_by_token_and_by_session_and_writes_nothing(code, lean_reads):
    drop, user = _refusals()[code]()
    drop_id = drop.pk if drop is not None else 987_654
    by_token, by_session = _token_post(user, drop_id), _session_post(user, drop_id)
    assert len(lean_reads) == 1
    assert by_token.status_code == by_session.status_code
    assert by_token.status_code in (400, 404, 409, 422)
    assert by_token.json()["code"] == code
    _alike(by_token, by_session)
    assert not InvitationRequest.objects.exists()
    assert not OutboxEvent.objects.filter(topic="invitation.requested").exists()


@pytest.mark.django_db
def test_a_body_naming_an_address_or_anything_else_takes_drfs_path(lean_reads):
    drop, user = make_drop(), customer()
    second = AddressFactory(owner=user, line1="Zweitweg 2", is_default=False)
    unknown_field = _token_post(user, drop.pk, {"address": second.pk})
    malformed = client_for(user).post(
        _url(drop.pk), "{", content_type="application/json", HTTP_USER_AGENT=BROWSER
    )
    chosen = _token_post(user, drop.pk, {"address_id": second.pk})
    assert (unknown_field.status_code, unknown_field.json()["code"]) == (400, "validation_error")
    assert (malformed.status_code, malformed.json()["code"]) == (400, "parse_error")
    assert chosen.status_code == 201
    assert lean_reads == []
    assert InvitationRequest.objects.get().address_id == second.pk
    # An empty JSON object means the default address, and is the lean path's.
    other = make_drop()
    assert _token_post(user, other.pk, {}).status_code == 201
    assert len(lean_reads) == 1


@pytest.mark.django_db
def test_the_request_rate_throttle_holds_on_the_lean_path(monkeypatch, lean_reads):
    monkeypatch.setitem(UserRateThrottle.THROTTLE_RATES, "user", "2/minute")
    user = customer()
    drops = [make_drop() for _ in range(3)]
    statuses = [_token_post(user, drop.pk).status_code for drop in drops[:2]]
    throttled, by_session = _token_post(user, drops[2].pk), _session_post(user, drops[2].pk)
    assert statuses == [201, 201]
    assert throttled.status_code == by_session.status_code == 429
    assert throttled.json()["code"] == by_session.json()["code"] == "throttled"
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert len(lean_reads) == 3
    assert not InvitationRequest.objects.filter(drop=drops[2]).exists()


@pytest.mark.django_db
def test_the_browsable_api_and_a_query_string_are_drfs(lean_reads):
    drop, user = make_drop(), customer()
    page = _token_post(user, drop.pk, HTTP_ACCEPT="text/html")
    assert page["Content-Type"].startswith("text/html")
    chosen_format = client_for(user).post(_url(drop.pk) + "?format=json", HTTP_USER_AGENT=BROWSER)
    assert chosen_format.status_code == 200  # the repeat of the request the page made
    assert lean_reads == []


@pytest.mark.django_db
def test_without_redis_the_lean_path_answers_503_and_writes_nothing(redis_gone):
    drop, user = make_drop(), customer()
    client = client_for(user)
    response = client.post(_url(drop.pk), HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "service_unavailable"
    assert not InvitationRequest.objects.exists()


@pytest.mark.django_db
def test_a_drop_id_beyond_bigint_is_not_found_on_either_path(lean_reads):
    user = customer()
    huge = 2**64 + 1
    by_token, by_session = _token_post(user, huge), _session_post(user, huge)
    assert by_token.status_code == by_session.status_code == 404
    assert by_token.json()["code"] == "drop_not_found"
    _alike(by_token, by_session)
    assert lean_reads == []
    assert not InvitationRequest.objects.exists()
