"""The Order Quality Score of one order: a pure function of the order's facts and the moment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from core.clock import add_business_days, business_days_between
from ratings.constants import (
    MATURITY_AFTER_DELIVERY,
    NEGATIVE_FEEDBACK_MAX_STARS,
    NO_PROBLEM,
    PERFECT_BONUS,
    PERFECT_MAX_BUSINESS_DAYS,
    PROBLEM_SCORES,
    REPLY_WITHIN,
)


@dataclass(frozen=True)
class OrderFacts:
    status: str
    placed_at: datetime
    ship_by: date
    shipped_at: datetime | None
    has_valid_tracking: bool
    delivered_at: datetime | None
    promised_latest: date | None
    cancelled_by: str
    cancelled_at: datetime | None
    message_times: tuple[tuple[datetime, datetime | None], ...] = ()
    feedback_stars: int | None = None
    has_claim: bool = False
    has_seller_fault_chargeback: bool = False
    has_refund_or_concession: bool = False


@dataclass
class Score:
    score: int | None
    counted_problem: str
    is_perfect: bool
    is_mature: bool
    trace: dict[str, Any] = field(default_factory=dict)


def _shipped_late(facts: OrderFacts, now: datetime) -> bool:
    # The ship-by date is a whole day: shipping any time on it is on time.
    if facts.shipped_at is not None:
        return facts.shipped_at.date() > facts.ship_by
    return facts.status == "placed" and now.date() > facts.ship_by


def score_order(facts: OrderFacts, now: datetime) -> Score:
    """Every problem that fired, the most severe one counted, the bonus with its conditions."""
    if facts.status == "cancelled" and facts.cancelled_by != "seller":
        return Score(None, "", False, True, {"not_scored": f"cancelled by {facts.cancelled_by}"})
    fired: list[str] = []
    if facts.has_claim:
        fired.append("a_to_z_claim")
    if facts.has_seller_fault_chargeback:
        fired.append("chargeback_seller_fault")
    if facts.feedback_stars is not None and facts.feedback_stars <= NEGATIVE_FEEDBACK_MAX_STARS:
        fired.append("negative_feedback")
    if facts.status == "cancelled":
        fired.append("cancelled_by_seller")
    if (
        facts.delivered_at is not None
        and facts.promised_latest is not None
        and facts.delivered_at.date() > facts.promised_latest
    ):
        fired.append("delivered_late")
    for sent_at, replied_at in facts.message_times:
        answered_in_time = replied_at is not None and replied_at - sent_at <= REPLY_WITHIN
        if not answered_in_time and (replied_at is not None or now - sent_at > REPLY_WITHIN):
            fired.append("no_reply_24h")
            break
    if _shipped_late(facts, now):
        fired.append("late_shipment")

    if facts.status == "cancelled":
        is_mature = True
    else:
        is_mature = (
            facts.delivered_at is not None and now - facts.delivered_at >= MATURITY_AFTER_DELIVERY
        )

    bonus_conditions = _bonus_conditions(facts)
    if fired:
        counted = min(fired, key=lambda problem: (PROBLEM_SCORES[problem], problem))
        return Score(
            PROBLEM_SCORES[counted],
            counted,
            False,
            is_mature,
            {
                "fired": fired,
                "counted": counted,
                "bonus": {"granted": False, "conditions": bonus_conditions},
            },
        )
    is_perfect = all(condition["met"] for condition in bonus_conditions)
    return Score(
        NO_PROBLEM + (PERFECT_BONUS if is_perfect else 0),
        "",
        is_perfect,
        is_mature,
        {
            "fired": [],
            "counted": None,
            "bonus": {"granted": is_perfect, "conditions": bonus_conditions},
        },
    )


def _bonus_conditions(facts: OrderFacts) -> list[dict[str, Any]]:
    delivered_fast = facts.delivered_at is not None and (
        business_days_between(facts.placed_at.date(), facts.delivered_at.date())
        <= PERFECT_MAX_BUSINESS_DAYS
    )
    deadline = (
        add_business_days(facts.placed_at.date(), PERFECT_MAX_BUSINESS_DAYS)
        if facts.placed_at
        else None
    )
    if facts.promised_latest is None:
        kept, promise_detail = False, "no promised date was recorded"
    else:
        kept = facts.delivered_at is not None and facts.delivered_at.date() <= facts.promised_latest
        promise_detail = f"promised by {facts.promised_latest.isoformat()}"
    return [
        {
            "condition": "delivered_within_3_business_days",
            "met": delivered_fast,
            "detail": f"by {deadline.isoformat()}" if deadline else "",
        },
        {
            "condition": "valid_tracking",
            "met": facts.shipped_at is not None and facts.has_valid_tracking,
            "detail": "",
        },
        {"condition": "delivered_by_promised_date", "met": kept, "detail": promise_detail},
        {
            "condition": "no_refund_or_concession",
            "met": not facts.has_refund_or_concession,
            "detail": "",
        },
    ]


def band_for(score: float | None) -> str:
    from ratings.constants import BANDS

    if score is None:
        return ""
    for name, threshold in BANDS:
        if score >= threshold:
            return name
    return BANDS[-1][0]
