"""Each rule of the Order Quality Score with a pinned clock and the German business calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from ratings.scoring import OrderFacts, band_for, score_order

UTC = UTC
MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LATER = MONDAY + timedelta(days=60)  # long after everything: scores are mature


def facts(**overrides):
    base = {
        "status": "delivered",
        "placed_at": MONDAY,
        "ship_by": date(2026, 11, 3),
        "shipped_at": MONDAY + timedelta(hours=20),
        "has_valid_tracking": True,
        "delivered_at": datetime(2026, 11, 5, 12, tzinfo=UTC),  # Thursday: 3 business days
        "promised_latest": date(2026, 11, 6),
        "cancelled_by": "",
        "cancelled_at": None,
    }
    base.update(overrides)
    return OrderFacts(**base)


def test_a_perfect_order_scores_110_with_every_condition_met():
    result = score_order(facts(), LATER)
    assert (result.score, result.is_perfect, result.is_mature) == (110, True, True)
    assert all(condition["met"] for condition in result.trace["bonus"]["conditions"])


@pytest.mark.parametrize(
    ("change", "failed"),
    [
        (
            {"delivered_at": datetime(2026, 11, 6, 12, tzinfo=UTC)},
            "delivered_within_3_business_days",
        ),
        ({"has_valid_tracking": False}, "valid_tracking"),
        ({"promised_latest": None}, "delivered_by_promised_date"),
        ({"has_refund_or_concession": True}, "no_refund_or_concession"),
    ],
)
def test_without_a_bonus_condition_a_good_order_scores_100_and_says_which_failed(change, failed):
    result = score_order(facts(**change), LATER)
    assert (result.score, result.is_perfect) == (100, False)
    missed = [c["condition"] for c in result.trace["bonus"]["conditions"] if not c["met"]]
    assert missed == [failed]


def test_three_business_days_skip_the_weekend():
    friday = datetime(2026, 11, 6, 9, tzinfo=UTC)
    on_wednesday = facts(
        placed_at=friday,
        ship_by=date(2026, 11, 9),
        shipped_at=friday + timedelta(hours=3),
        delivered_at=datetime(2026, 11, 11, 12, tzinfo=UTC),
        promised_latest=date(2026, 11, 12),
    )
    assert score_order(on_wednesday, LATER).score == 110


@pytest.mark.parametrize(
    ("change", "problem", "score"),
    [
        ({"shipped_at": datetime(2026, 11, 4, 8, tzinfo=UTC)}, "late_shipment", 0),
        ({"delivered_at": datetime(2026, 11, 9, 12, tzinfo=UTC)}, "delivered_late", -100),
        ({"message_times": ((MONDAY, MONDAY + timedelta(hours=30)),)}, "no_reply_24h", -50),
        (
            {
                "status": "cancelled",
                "cancelled_by": "seller",
                "shipped_at": None,
                "delivered_at": None,
            },
            "cancelled_by_seller",
            -200,
        ),
        ({"feedback_stars": 2}, "negative_feedback", -300),
        ({"has_seller_fault_chargeback": True}, "chargeback_seller_fault", -400),
        ({"has_claim": True}, "a_to_z_claim", -500),
    ],
)
def test_each_problem_sets_its_score(change, problem, score):
    result = score_order(facts(**change), LATER)
    assert (result.score, result.counted_problem) == (score, problem)


def test_with_several_problems_only_the_most_severe_counts():
    result = score_order(
        facts(shipped_at=datetime(2026, 11, 4, 8, tzinfo=UTC), feedback_stars=1, has_claim=True),
        LATER,
    )
    assert (result.score, result.counted_problem) == (-500, "a_to_z_claim")
    assert result.trace["fired"] == ["a_to_z_claim", "negative_feedback", "late_shipment"]


def test_a_timely_reply_and_three_stars_are_no_problem():
    result = score_order(
        facts(message_times=((MONDAY, MONDAY + timedelta(hours=23)),), feedback_stars=3), LATER
    )
    assert result.score == 110


def test_an_unanswered_message_counts_only_once_the_24_hours_are_over():
    unanswered = facts(message_times=((MONDAY, None),))
    assert score_order(unanswered, MONDAY + timedelta(hours=23)).counted_problem != "no_reply_24h"
    assert score_order(unanswered, MONDAY + timedelta(hours=25)).counted_problem == "no_reply_24h"


def test_scores_are_provisional_until_thirty_days_after_delivery():
    delivered = datetime(2026, 11, 5, 12, tzinfo=UTC)
    assert score_order(facts(), delivered + timedelta(days=29)).is_mature is False
    assert score_order(facts(), delivered + timedelta(days=30)).is_mature is True
    in_transit = facts(status="shipped", delivered_at=None)
    assert score_order(in_transit, LATER).is_mature is False


def test_an_order_not_shipped_past_its_ship_by_date_is_already_late():
    waiting = facts(status="placed", shipped_at=None, delivered_at=None)
    assert score_order(waiting, datetime(2026, 11, 3, 20, tzinfo=UTC)).counted_problem == ""
    assert (
        score_order(waiting, datetime(2026, 11, 4, 8, tzinfo=UTC)).counted_problem
        == "late_shipment"
    )


def test_cancellations_by_the_buyer_are_not_scored():
    result = score_order(facts(status="cancelled", cancelled_by="buyer"), LATER)
    assert result.score is None


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (110, "excellent"),
        (98, "excellent"),
        (97.99, "very_good"),
        (95, "very_good"),
        (94.9, "good"),
        (90, "good"),
        (89.99, "fair"),
        (-500, "fair"),
        (None, ""),
    ],
)
def test_band_thresholds(score, band):
    assert band_for(score) == band
