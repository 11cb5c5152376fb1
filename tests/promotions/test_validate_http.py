"""``POST /api/coupons/validate/`` through HTTP: a token request with plain JSON takes the lean path
(one statement), a session request and anything unusual take DRF's; both must answer alike."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import F
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from core.api.throttling import UserRateThrottle
from promotions import selectors, services
from promotions.models import Campaign, CodeFailures, CouponHolder, CouponMisuse
from tests.conftest import calls_to, client_for, session_post
from tests.factories import CategoryFactory, OfferFactory, ProductFactory
from tests.promotions.factories import CampaignFactory

URL = "/api/coupons/validate/"
UNKNOWN = "ABCD-EFGH-JKMN-PQRS-TVWX"


@pytest.fixture
def lean_reads(monkeypatch):
    """How many requests the lean path read (each reads once, in one statement)."""
    return calls_to(monkeypatch, selectors, "validation_read")


def _token_post(user, body, **extra):
    return client_for(user).post(URL, body, format="json", **extra)


def _session_post(user, body):
    return session_post(user, URL, body)


def _body(code, *lines):
    return {"code": code, "lines": [{"offer_id": pk, "quantity": q} for pk, q in lines]}


def _both(user, body, lean_reads):
    """The same request by token (lean path) and by session (DRF's path)."""
    by_token = _token_post(user, body)
    assert len(lean_reads) == 1  # the token request was answered by the lean path
    by_session = _session_post(user, body)
    assert len(lean_reads) == 1  # and the session request by DRF's
    assert by_token.status_code == by_session.status_code
    assert by_token.content == by_session.content
    assert (by_token["Content-Type"], by_token["Allow"]) == (
        by_session["Content-Type"],
        by_session["Allow"],
    )
    # A session answer also varies by the cookie it was read from.
    assert f"{by_token['Vary']}, Cookie" == by_session["Vary"]
    return by_token


@pytest.mark.django_db
def test_a_code_for_a_sub_category_applies_by_token_and_by_session(shopper, seller, lean_reads):
    toys = CategoryFactory(name="Toys", slug="toys")
    puzzles = CategoryFactory(name="Puzzles", slug="puzzles", parent=toys)
    offer = OfferFactory(
        seller=seller, price=Decimal("30.00"), product=ProductFactory(category=puzzles)
    )
    other = OfferFactory(seller=seller, price=Decimal("10.00"))
    campaign = CampaignFactory(percent=Decimal("10"))
    campaign.eligible_categories.set([toys])
    coupon = services.coupon_issue_personal(campaign, customer=shopper)
    response = _both(shopper, _body(coupon.code.lower(), (offer.pk, 2), (other.pk, 1)), lean_reads)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "code": coupon.display_code,
        "discount": {"amount": "6.00", "currency": "EUR"},
        "lines": [{"offer_id": offer.pk, "discount": {"amount": "6.00", "currency": "EUR"}}],
    }
    assert CouponHolder.objects.get(coupon=coupon).applied_at is not None
    assert not CodeFailures.objects.exists()


def _shift(**changes):
    now = timezone.now()
    return {key: now + timedelta(days=days) for key, days in changes.items()}


# Each refusal: campaign fields, holder changes, the expected body beyond code/detail/fields.
REFUSALS = {
    "coupon_not_started": (_shift(starts_at=1, ends_at=2), {}, "starts_at"),
    "coupon_expired": (_shift(starts_at=-2, ends_at=-1), {}, "ended_at"),
    "coupon_used_up": ({}, {"uses": F("max_uses")}, None),
    "coupon_min_order_not_met": ({"min_order_value": Decimal("25.00")}, {}, "missing"),
    "coupon_budget_exhausted": (
        {"budget": Decimal("10.00"), "budget_spent": Decimal("10.00")},
        {},
        None,
    ),
    "campaign_paused": ({"is_active": False}, {}, None),
}


@pytest.mark.django_db
@pytest.mark.parametrize("code", sorted(REFUSALS))
def test_every_refusal_answers_alike_by_token_and_by_session(code, shopper, seller, lean_reads):
    fields, holder_changes, extra = REFUSALS[code]
    offer = OfferFactory(seller=seller, price=Decimal("12.50"))
    coupon = services.coupon_issue_personal(CampaignFactory(**fields), customer=shopper)
    CouponHolder.objects.filter(coupon=coupon).update(**holder_changes)
    response = _both(shopper, _body(coupon.display_code, (offer.pk, 1)), lean_reads)
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["fields"]) == (code, {})
    campaign = Campaign.objects.get(pk=coupon.campaign_id)
    expected_extra = {
        None: {},
        "starts_at": {"starts_at": campaign.starts_at.isoformat()},
        "ended_at": {"ended_at": campaign.ends_at.isoformat()},
        "missing": {"missing": {"amount": "12.50", "currency": "EUR"}},
    }[extra]
    assert set(body) == {"code", "detail", "fields", *expected_extra}
    assert {key: body[key] for key in expected_extra} == expected_extra
    assert not CodeFailures.objects.exists()  # a known code of one's own is no failed attempt
    assert CouponHolder.objects.get(coupon=coupon).applied_at is None


@pytest.mark.django_db
def test_no_eligible_product_answers_alike_by_token_and_by_session(shopper, seller, lean_reads):
    offer = OfferFactory(seller=seller)
    campaign = CampaignFactory()
    campaign.eligible_categories.set([CategoryFactory()])
    coupon = services.coupon_issue_personal(campaign, customer=shopper)
    response = _both(shopper, _body(coupon.code, (offer.pk, 1)), lean_reads)
    assert (response.status_code, response.json()) == (
        400,
        {
            "code": "coupon_category_not_eligible",
            "detail": "None of the items in the cart is eligible for this code.",
            "fields": {},
        },
    )


@pytest.mark.django_db
def test_unknown_and_someone_elses_code_are_one_answer_and_only_the_latter_is_flagged(
    shopper, shopper_b, offer, lean_reads
):
    foreign = services.coupon_issue_personal(CampaignFactory(), customer=shopper_b)
    not_mine = _both(shopper, _body(foreign.display_code, (offer.pk, 1)), lean_reads)
    lean_reads.clear()
    unknown = _both(shopper, _body(UNKNOWN, (offer.pk, 1)), lean_reads)
    assert not_mine.status_code == unknown.status_code == 400
    assert not_mine.content == unknown.content
    assert unknown.json() == {
        "code": "coupon_invalid",
        "detail": "This code is not valid.",
        "fields": {},
    }
    # Two requests per code (token, then session): four failed entries, two misuse signals.
    assert CodeFailures.objects.get(customer=shopper).failures == 4
    assert list(CouponMisuse.objects.values_list("customer_id", "coupon_id")) == [
        (shopper.pk, foreign.pk),
        (shopper.pk, foreign.pk),
    ]


@pytest.mark.django_db
def test_an_unknown_offer_is_a_404_naming_it_and_no_failed_attempt(shopper, offer, lean_reads):
    response = _both(shopper, _body(UNKNOWN, (offer.pk, 1), (offer.pk + 1000, 1)), lean_reads)
    assert (response.status_code, response.json()) == (
        404,
        {
            "code": "offer_not_found",
            "detail": "No such offer.",
            "fields": {},
            "offer_id": offer.pk + 1000,
        },
    )
    assert not CodeFailures.objects.exists()


@pytest.mark.django_db
def test_failed_attempts_count_per_account_across_both_ways_in(shopper, offer, lean_reads):
    body = _body(UNKNOWN, (offer.pk, 1))
    answers = [_token_post(shopper, body).json()["code"] for _ in range(5)]
    answers += [_session_post(shopper, body).json()["code"] for _ in range(5)]
    by_token, by_session = _token_post(shopper, body), _session_post(shopper, body)
    assert answers == ["coupon_invalid"] * 10
    assert by_token.status_code == by_session.status_code == 429
    assert by_token.content == by_session.content
    assert by_token.json()["code"] == "coupon_attempts_exceeded"
    assert CodeFailures.objects.get(customer=shopper).failures == 10
    assert len(lean_reads) == 6


@pytest.mark.django_db
def test_a_valid_code_is_refused_once_the_account_is_at_its_failure_limit(
    shopper, offer, lean_reads
):
    coupon = services.coupon_issue_personal(CampaignFactory(), customer=shopper)
    for _ in range(10):
        _token_post(shopper, _body(UNKNOWN, (offer.pk, 1)))
    response = _token_post(shopper, _body(coupon.code, (offer.pk, 1)))
    assert (response.status_code, response.json()["code"]) == (429, "coupon_attempts_exceeded")
    assert CouponHolder.objects.get(coupon=coupon).applied_at is None


@pytest.mark.django_db
def test_the_request_rate_throttle_holds_on_the_lean_path(shopper, offer, monkeypatch, lean_reads):
    monkeypatch.setitem(UserRateThrottle.THROTTLE_RATES, "user", "2/minute")
    coupon = services.coupon_issue_personal(CampaignFactory(), customer=shopper)
    body = _body(coupon.code, (offer.pk, 1))
    statuses = [_token_post(shopper, body).status_code for _ in range(2)]
    throttled, by_session = _token_post(shopper, body), _session_post(shopper, body)
    assert statuses == [200, 200]
    assert throttled.status_code == by_session.status_code == 429
    assert throttled.json()["code"] == by_session.json()["code"] == "throttled"
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert len(lean_reads) == 3


@pytest.mark.django_db
def test_a_validation_by_token_is_one_statement(
    shopper, offer, django_assert_num_queries, lean_reads
):
    coupon = services.coupon_issue_personal(CampaignFactory(), customer=shopper)
    body = _body(coupon.code, (offer.pk, 1), (offer.pk, 2))
    client = client_for(shopper)
    assert client.post(URL, body, format="json").status_code == 200  # marks it applied: a write
    with django_assert_num_queries(1):
        response = client.post(URL, body, format="json")
    assert response.json()["discount"] == {"amount": "6.00", "currency": "EUR"}


@pytest.mark.django_db
def test_a_session_without_its_csrf_token_is_refused_and_changes_nothing(shopper, offer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(shopper)
    response = client.post(
        URL, json.dumps(_body(UNKNOWN, (offer.pk, 1))), content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert response.json()["detail"].startswith("CSRF Failed")
    assert not CodeFailures.objects.exists()


@pytest.mark.django_db
def test_a_token_wins_over_a_session_and_needs_no_csrf_token(shopper, offer, lean_reads):
    client = Client(enforce_csrf_checks=True)
    client.force_login(shopper)
    token = Token.objects.create(user=shopper)
    response = client.post(
        URL,
        json.dumps(_body(UNKNOWN, (offer.pk, 1))),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    assert response.json()["code"] == "coupon_invalid"
    assert len(lean_reads) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("authorization", "detail"),
    [
        (None, "Authentication credentials were not provided."),
        ("Token 0000000000000000000000000000000000000000", "Invalid token."),
        ("Token", "Invalid token header. No credentials provided."),
        ("Token a b", "Invalid token header. Token string should not contain spaces."),
    ],
)
def test_without_valid_credentials_the_answer_is_drfs_401(authorization, detail, offer):
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = Client().post(
        URL, json.dumps(_body(UNKNOWN, (offer.pk, 1))), content_type="application/json", **extra
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    code = "not_authenticated" if authorization is None else "authentication_failed"
    assert response.json() == {"code": code, "detail": detail, "fields": {}}
    assert not CodeFailures.objects.exists()


@pytest.mark.django_db
def test_a_token_header_is_split_as_drf_splits_it(shopper, offer, lean_reads):
    token = Token.objects.create(user=shopper)
    # \x1c is whitespace to str.split but not to bytes.split: DRF sees no "Token" keyword here.
    response = Client().post(
        URL,
        json.dumps(_body(UNKNOWN, (offer.pk, 1))),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token\x1c{token.key}",
    )
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
    assert lean_reads == []


@pytest.mark.django_db
def test_a_deactivated_accounts_token_is_refused(shopper, offer, lean_reads):
    client = client_for(shopper)
    shopper.is_active = False
    shopper.save(update_fields=["is_active"])
    response = client.post(URL, _body(UNKNOWN, (offer.pk, 1)), format="json")
    assert response.status_code == 401
    assert response.json() == {
        "code": "authentication_failed",
        "detail": "User inactive or deleted.",
        "fields": {},
    }
    assert not CodeFailures.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (
            {"code": "X", "lines": [{"offer_id": 1, "quantity": 0}]},
            {"lines": {"0": {"quantity": ["Ensure this value is greater than or equal to 1."]}}},
        ),
        (
            {"code": "X", "lines": []},
            {"lines": {"non_field_errors": ["This list may not be empty."]}},
        ),
        (
            {"code": " ", "lines": [{"offer_id": 1, "quantity": 1}]},
            {"code": ["This field may not be blank."]},
        ),
        (
            {"code": "X", "lines": [{"offer_id": 1, "quantity": 1}], "price": "0"},
            {"price": ["This field is not accepted here."]},
        ),
        (
            {"code": "X", "lines": [{"offer_id": True, "quantity": 1}]},
            {"lines": {"0": {"offer_id": ["A valid integer is required."]}}},
        ),
    ],
)
def test_malformed_input_gets_drfs_validation_errors(body, fields, shopper, lean_reads):
    response = _token_post(shopper, body)
    assert response.status_code == 400
    assert response.json() == {
        "code": "validation_error",
        "detail": "The input is not valid.",
        "fields": fields,
    }
    assert lean_reads == []
    assert not CodeFailures.objects.exists()


@pytest.mark.django_db
def test_input_the_serializer_converts_is_answered_as_before(shopper, seller, lean_reads):
    offer = OfferFactory(seller=seller, price=Decimal("10.00"))
    coupon = services.coupon_issue_personal(CampaignFactory(), customer=shopper)
    body = {"code": f"  {coupon.code}  ", "lines": [{"offer_id": str(offer.pk), "quantity": "2"}]}
    response = _token_post(shopper, body)
    assert (response.status_code, response.json()["discount"]) == (
        200,
        {"amount": "2.00", "currency": "EUR"},
    )
    assert lean_reads == []  # numbers as strings go the serializer's way


@pytest.mark.django_db
def test_other_methods_and_the_browsable_api_are_drfs(shopper, lean_reads):
    client = client_for(shopper)
    refused = client.get(URL)
    page = client.post(URL, {"code": "X"}, format="json", HTTP_ACCEPT="text/html")
    assert (refused.status_code, refused.json()) == (
        405,
        {"code": "method_not_allowed", "detail": 'Method "GET" not allowed.', "fields": {}},
    )
    assert page["Content-Type"].startswith("text/html")
    assert lean_reads == []


@pytest.mark.django_db
def test_without_redis_the_lean_path_answers_503_and_records_nothing(shopper, offer, redis_gone):
    client = client_for(shopper)
    response = client.post(URL, _body(UNKNOWN, (offer.pk, 1)), format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "service_unavailable"
    assert not CodeFailures.objects.exists()
