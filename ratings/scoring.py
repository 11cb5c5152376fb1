"""The Order Quality Score of one order: a pure function of the order's facts and the moment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from core.clock import add_business_days, business_days_between
from ratings.constants import (
    BONUS_CONDITIONS,
    FIRED_ORDER,
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
        return Score(None, "", False, True, not_scored_trace(facts.cancelled_by))
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

    met = _bonus_met(facts)
    score = score_from(fired, met)
    return Score(
        score,
        counted_problem(fired),
        score == NO_PROBLEM + PERFECT_BONUS,
        is_mature,
        trace_of(fired, met, placed_at=facts.placed_at, promised_latest=facts.promised_latest),
    )


def rescore_at(facts: OrderFacts, now: datetime) -> datetime | None:
    """The first moment after ``now`` at which time alone changes what score_order says (its score,
    maturity or trace), or None when only an event can."""
    if facts.status == "cancelled" and facts.cancelled_by != "seller":
        return None
    moments = []
    if (
        facts.status != "cancelled"
        and facts.delivered_at is not None
        and now - facts.delivered_at < MATURITY_AFTER_DELIVERY
    ):
        moments.append(facts.delivered_at + MATURITY_AFTER_DELIVERY)
    if "no_reply_24h" not in score_order(facts, now).trace["fired"]:
        waiting = [
            sent_at
            for sent_at, replied_at in facts.message_times
            if replied_at is None and now - sent_at <= REPLY_WITHIN
        ]
        if waiting:
            # Overdue once strictly more than 24 hours have passed: a microsecond later.
            moments.append(min(waiting) + REPLY_WITHIN + timedelta(microseconds=1))
    if facts.status == "placed" and facts.shipped_at is None and now.date() <= facts.ship_by:
        moments.append(datetime.combine(facts.ship_by + timedelta(days=1), time.min, tzinfo=UTC))
    return min(moments, default=None)


def counted_problem(fired: Sequence[str]) -> str:
    """The most severe problem; a tie in points goes to the first name in alphabetical order."""
    if not fired:
        return ""
    return min(fired, key=lambda problem: (PROBLEM_SCORES[problem], problem))


def score_from(fired: Sequence[str], met: Sequence[bool]) -> int:
    if fired:
        return PROBLEM_SCORES[counted_problem(fired)]
    return NO_PROBLEM + (PERFECT_BONUS if all(met) else 0)


def _bonus_met(facts: OrderFacts) -> tuple[bool, ...]:
    """Whether each of BONUS_CONDITIONS is met, in that order."""
    delivered_fast = facts.delivered_at is not None and (
        business_days_between(facts.placed_at.date(), facts.delivered_at.date())
        <= PERFECT_MAX_BUSINESS_DAYS
    )
    kept = (
        facts.promised_latest is not None
        and facts.delivered_at is not None
        and facts.delivered_at.date() <= facts.promised_latest
    )
    return (
        delivered_fast,
        facts.shipped_at is not None and facts.has_valid_tracking,
        kept,
        not facts.has_refund_or_concession,
    )


def trace_of(
    fired: Sequence[str],
    met: Sequence[bool],
    *,
    placed_at: datetime | None,
    promised_latest: date | None,
) -> dict[str, Any]:
    """The trace a seller reads: from the Python scorer, or from the masks the SQL scorer stored."""
    deadline = add_business_days(placed_at.date(), PERFECT_MAX_BUSINESS_DAYS) if placed_at else None
    details = {
        "delivered_within_3_business_days": f"by {deadline.isoformat()}" if deadline else "",
        "delivered_by_promised_date": (
            f"promised by {promised_latest.isoformat()}"
            if promised_latest is not None
            else "no promised date was recorded"
        ),
    }
    counted = counted_problem(fired)
    return {
        "fired": list(fired),
        "counted": counted or None,
        "bonus": {
            "granted": not fired and all(met),
            "conditions": [
                {"condition": name, "met": bool(is_met), "detail": details.get(name, "")}
                for name, is_met in zip(BONUS_CONDITIONS, met, strict=True)
            ],
        },
    }


def not_scored_trace(cancelled_by: str) -> dict[str, Any]:
    return {"not_scored": f"cancelled by {cancelled_by}"}


def fired_from_mask(mask: int) -> list[str]:
    return [name for bit, name in enumerate(FIRED_ORDER) if mask & (1 << bit)]


def met_from_mask(mask: int) -> tuple[bool, ...]:
    return tuple(bool(mask & (1 << bit)) for bit in range(len(BONUS_CONDITIONS)))


def band_for(score: float | None) -> str:
    from ratings.constants import BANDS

    if score is None:
        return ""
    for name, threshold in BANDS:
        if score >= threshold:
            return name
    return BANDS[-1][0]
