"""The Order Quality Score, the time-weighted rating and the rate metrics as set-based SQL.

``ratings.scoring`` is the reference: tests assert that these statements give exactly what it gives
for every combination of rules. The statements are written from the same constants, and keep to
integer, boolean, date, interval and float8 arithmetic (``numeric`` — what ``extract()`` returns —
was measured about 9x slower here than ``date_part()``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from core.clock import is_business_day
from ratings.constants import (
    BONUS_CONDITIONS,
    CALENDAR_AHEAD,
    CALENDAR_FIRST_DAY,
    CANCELLATION_WINDOW,
    COUNTED_IN,
    FIRED_ORDER,
    HALF_LIFE_DAYS,
    LATE_SHIPMENT_WINDOW,
    MATURITY_AFTER_DELIVERY,
    NEGATIVE_FEEDBACK_MAX_STARS,
    NO_PROBLEM,
    ORDER_DEFECT_WINDOW,
    PERFECT_BONUS,
    PERFECT_MAX_BUSINESS_DAYS,
    PROBLEM_SCORES,
    REPLY_WITHIN,
    VALID_TRACKING_WINDOW,
    WEIGHT_EPOCH,
    WINDOW,
)


def _utc_day(column: str) -> str:
    # Django hands out datetimes in UTC, so the Python scorer's ``.date()`` is the UTC day.
    return f"(({column}) AT TIME ZONE 'UTC')::date"


# Each problem as a condition on the joined order row ``o`` (with its feedback ``fb``).
_PROBLEM_CONDITIONS = {
    "a_to_z_claim": "EXISTS (SELECT 1 FROM marketplace_guaranteeclaim c WHERE c.order_id = o.id)",
    "chargeback_seller_fault": (
        "EXISTS (SELECT 1 FROM marketplace_chargeback cb WHERE cb.order_id = o.id"
        " AND cb.is_seller_fault)"
    ),
    "negative_feedback": f"coalesce(fb.rating <= {NEGATIVE_FEEDBACK_MAX_STARS:d}, false)",
    "cancelled_by_seller": "o.status = 'cancelled'",
    "delivered_late": (
        f"coalesce({_utc_day('o.delivered_at')} > o.promised_delivery_latest, false)"
    ),
    # Answered late, or not answered and the time to answer is over.
    "no_reply_24h": (
        "EXISTS (SELECT 1 FROM marketplace_buyermessage m WHERE m.order_id = o.id AND CASE"
        " WHEN m.replied_at IS NULL THEN %(now)s - m.sent_at > %(reply_within)s"
        " ELSE m.replied_at - m.sent_at > %(reply_within)s END)"
    ),
    # The ship-by date is a whole day: shipping any time on it is on time.
    "late_shipment": (
        f"CASE WHEN o.shipped_at IS NOT NULL THEN {_utc_day('o.shipped_at')} > o.ship_by"
        " ELSE o.status = 'placed' AND %(today)s > o.ship_by END"
    ),
}
# The business-day ordinals of the country as one array, day CALENDAR_FIRST_DAY at index 1
# (calendar_ensure fills the days without gaps from there): read once per statement, an index into
# it costs less than the two joins on the calendar table it replaced (about 15 % of the scoring).
_CALENDAR = (
    "(SELECT array_agg(ordinal ORDER BY day) FROM ratings_businessday WHERE country = %(country)s)"
)


def _after(moment: str) -> str:
    """``moment`` when it is still ahead of %(now)s, else NULL (least() skips it)."""
    return f"CASE WHEN {moment} > %(now)s THEN {moment} END"


def _recount_at(placed: str, ship_by: str, shipped: str) -> str:
    """The first moment after %(now)s at which time alone moves the order into or out of the
    rating's window or a rate metric's (rescore_at covers what changes its score): the window
    conditions of _COUNTED_CONDITIONS, and the rating's, turned into moments. The order leaves
    the rating 365 days after it was placed; the order defects and the cancellations 60 and 30
    days after (a microsecond after: those windows include their first moment); it joins the late
    shipments when its ship-by day has passed and leaves them at the start of the 31st day after
    it; it leaves the valid tracking 30 days after it shipped. Rescoring it then stores where it
    counts (counted_in), or drops it once it left the rating."""
    moments = (
        f"{placed} + %(window)s",
        f"{placed} + %(defect_window)s + interval '1 microsecond'",
        f"{placed} + %(cancel_window)s + interval '1 microsecond'",
        f"({ship_by} + 1)::timestamp AT TIME ZONE 'UTC'",
        f"({ship_by} + %(late_days)s + 1)::timestamp AT TIME ZONE 'UTC'",
        f"{shipped} + %(tracked_window)s + interval '1 microsecond'",
    )
    return f"least({', '.join(_after(moment) for moment in moments)})"


def _business_day_ordinal(column: str) -> str:
    day = _utc_day(column)
    return (
        f"coalesce({_CALENDAR}[{day} - %(calendar_first_day)s::date + 1],"
        f" ratings_calendar_gap(%(country)s, {day}))"
    )


_BONUS_CONDITIONS = {
    "delivered_within_3_business_days": (
        "CASE WHEN o.delivered_at IS NULL THEN false ELSE"
        f" {_business_day_ordinal('o.delivered_at')} - {_business_day_ordinal('o.placed_at')}"
        f" <= {PERFECT_MAX_BUSINESS_DAYS:d} END"
    ),
    "valid_tracking": "o.shipped_at IS NOT NULL AND o.has_valid_tracking",
    "delivered_by_promised_date": (
        "o.delivered_at IS NOT NULL AND o.promised_delivery_latest IS NOT NULL"
        f" AND {_utc_day('o.delivered_at')} <= o.promised_delivery_latest"
    ),
    "no_refund_or_concession": (
        "NOT EXISTS (SELECT 1 FROM marketplace_refund r WHERE r.order_id = o.id)"
    ),
}
if set(_PROBLEM_CONDITIONS) != set(FIRED_ORDER) or set(FIRED_ORDER) != set(PROBLEM_SCORES):
    raise RuntimeError("every problem needs a SQL condition, a place in FIRED_ORDER and a score")
if LATE_SHIPMENT_WINDOW % timedelta(days=1):
    raise RuntimeError("the late-shipment window counts whole ship-by days")
if tuple(_BONUS_CONDITIONS) != BONUS_CONDITIONS:
    raise RuntimeError("the SQL bonus conditions must follow BONUS_CONDITIONS")

_ALL_MET = (1 << len(BONUS_CONDITIONS)) - 1
_NO_REPLY = 1 << FIRED_ORDER.index("no_reply_24h")
_CANCELLED = 1 << FIRED_ORDER.index("cancelled_by_seller")
_DEFECTS = sum(
    1 << FIRED_ORDER.index(problem)
    for problem in ("negative_feedback", "a_to_z_claim", "chargeback_seller_fault")
)
_BY_SEVERITY = sorted(FIRED_ORDER, key=lambda problem: (PROBLEM_SCORES[problem], problem))

# Where a scored order of ``f`` counts at %(now)s, by COUNTED_IN (see there for the windows).
_LATE_TOTAL = (
    f"f.ship_by >= %(late_from)s AND f.ship_by < %(today)s AND f.fired & {_CANCELLED:d} = 0"
)
_COUNTED_CONDITIONS = {
    "mature": "f.is_mature",
    "defect_total": "f.placed_at >= %(defect_since)s",
    "defects": f"f.placed_at >= %(defect_since)s AND f.fired & {_DEFECTS:d} <> 0",
    "cancel_total": "f.placed_at >= %(cancel_since)s",
    "cancelled": f"f.placed_at >= %(cancel_since)s AND f.fired & {_CANCELLED:d} <> 0",
    "late_total": _LATE_TOTAL,
    # Not shipped by the end of its ship-by day (a cancelled order does not count).
    "late": f"{_LATE_TOTAL} AND (f.shipped_at IS NULL OR {_utc_day('f.shipped_at')} > f.ship_by)",
    "tracked_total": "f.shipped_at >= %(tracked_since)s",
    "tracked": "f.shipped_at >= %(tracked_since)s AND f.has_valid_tracking",
}
if tuple(_COUNTED_CONDITIONS) != COUNTED_IN:
    raise RuntimeError("the SQL counting conditions must follow COUNTED_IN")


def _mask(conditions: dict[str, str], order: tuple[str, ...]) -> str:
    return " | ".join(
        f"(CASE WHEN {conditions[name]} THEN {1 << bit:d} ELSE 0 END)"
        for bit, name in enumerate(order)
    )


def _by_severity(value: Any) -> str:
    cases = " ".join(
        f"WHEN f.fired & {1 << FIRED_ORDER.index(p):d} <> 0 THEN {value(p)}" for p in _BY_SEVERITY
    )
    return f"CASE {cases} END"


# One row per order of ``o`` that passes ``{where}``: the columns of ratings_orderscore.
SCORED_ORDERS = f"""
SELECT f.order_id, f.seller_id, f.placed_at,
  CASE WHEN NOT f.scored THEN NULL
       WHEN f.fired <> 0 THEN {_by_severity(lambda p: f"{PROBLEM_SCORES[p]:d}")}
       WHEN f.bonus = {_ALL_MET:d} THEN {NO_PROBLEM + PERFECT_BONUS:d}
       ELSE {NO_PROBLEM:d} END AS score,
  CASE WHEN f.scored AND f.fired <> 0 THEN {_by_severity(lambda p: f"'{p}'")} ELSE '' END
    AS counted_problem,
  f.scored AND f.fired = 0 AND f.bonus = {_ALL_MET:d} AS is_perfect,
  f.is_mature,
  CASE WHEN f.scored THEN f.fired ELSE 0 END AS fired,
  CASE WHEN f.scored THEN f.bonus ELSE 0 END AS bonus,
  f.weight,
  CASE WHEN f.scored THEN {_mask(_COUNTED_CONDITIONS, COUNTED_IN)} ELSE 0 END AS counted_in,
  CASE WHEN f.scored THEN least(
    f.matures_at,
    CASE WHEN f.fired & {_NO_REPLY:d} = 0 THEN f.reply_overdue_at END,
    f.late_at) END AS rescore_at,
  CASE WHEN f.scored THEN {_recount_at("f.placed_at", "f.ship_by", "f.shipped_at")} END
    AS recount_at
FROM (
  SELECT o.id AS order_id, o.seller_id, o.placed_at,
    o.status <> 'cancelled' OR o.cancelled_by = 'seller' AS scored,
    CASE WHEN o.status = 'cancelled' THEN true
         ELSE o.delivered_at IS NOT NULL AND %(now)s - o.delivered_at >= %(maturity)s
    END AS is_mature,
    {_mask(_PROBLEM_CONDITIONS, FIRED_ORDER)} AS fired,
    {_mask(_BONUS_CONDITIONS, BONUS_CONDITIONS)} AS bonus,
    power(2::float8, (date_part('epoch', o.placed_at) - %(weight_epoch)s::float8)
                     / (86400.0::float8 * %(half_life)s::float8)) AS weight,
    o.ship_by, o.shipped_at, o.has_valid_tracking,
    -- The first moment at which each rule that depends on the clock gives another answer.
    CASE WHEN o.status <> 'cancelled' AND o.delivered_at IS NOT NULL
              AND %(now)s - o.delivered_at < %(maturity)s
         THEN o.delivered_at + %(maturity)s END AS matures_at,
    (SELECT min(m.sent_at) + %(reply_within)s + interval '1 microsecond'
       FROM marketplace_buyermessage m
      WHERE m.order_id = o.id AND m.replied_at IS NULL AND %(now)s - m.sent_at <= %(reply_within)s
    ) AS reply_overdue_at,
    CASE WHEN o.status = 'placed' AND o.shipped_at IS NULL AND %(today)s <= o.ship_by
         THEN (o.ship_by + 1)::timestamp AT TIME ZONE 'UTC' END AS late_at
  FROM marketplace_order o
  LEFT JOIN marketplace_feedback fb ON fb.order_id = o.id
  WHERE o.placed_at > %(since)s AND {{where}}
) f
"""  # noqa: S608 - built from constants; values go as parameters

# Marks orders for the next refresh; ``{orders}`` is a relation of (order_id, seller_id). An order
# seen many times leaves one row, and one already waiting keeps its place in the queue.
MARK_DIRTY = """
INSERT INTO ratings_dirtyorder (order_id, seller_id, marked_at)
SELECT DISTINCT ON (order_id) order_id, seller_id, now() FROM {orders} AS d(order_id, seller_id)
ON CONFLICT (order_id) DO NOTHING
"""
# The same over outbox events (core.outbox.register_sql), whose payloads name the order.
MARK_EVENTS_DIRTY = MARK_DIRTY.format(
    orders="(SELECT (payload->>'order_id')::bigint, (payload->>'seller_id')::bigint FROM {events})"
)


_COLUMNS = (
    "seller_id",
    "placed_at",
    "score",
    "counted_problem",
    "is_perfect",
    "is_mature",
    "fired",
    "bonus",
    "weight",
    "counted_in",
    "rescore_at",
    "recount_at",
)
_SET = ", ".join(f"{column} = s.{column}" for column in _COLUMNS)
_DIFFERS = (
    "("
    + ", ".join(f"t.{c}" for c in _COLUMNS)
    + ") IS DISTINCT FROM ("
    + ", ".join(f"s.{c}" for c in _COLUMNS)
    + ")"
)
# Writes only the rows whose score changed: a nightly recompute over a stable year rewrites few.
# One join of the fresh scores with the stored ones finds the rows that differ or are missing;
# updating and inserting those alone (two passes over the stored table, one for the update and one
# for the insert's anti-join, took longer than scoring). The insert still says ON CONFLICT for a
# refresh running at the same moment. ``{stored}`` narrows the stored rows (alias ``t``) to those of
# the orders scored, in the join and again in the update: with nested loops off (scores_store) the
# update otherwise joined its few rows to a full pass over the primary key (0.3 s of a refresh of
# 10,000 orders). The count of orders scored reads the order index in the same snapshot.
STORE_SCORES = f"""
WITH d AS (
  SELECT s.*, t.order_id IS NULL AS is_new
  FROM ({SCORED_ORDERS}) s
  LEFT JOIN ratings_orderscore t ON t.order_id = s.order_id AND {{stored}}
  WHERE t.order_id IS NULL OR {_DIFFERS}
),
changed AS (
  UPDATE ratings_orderscore t SET {_SET.replace("s.", "d.")}, computed_at = %(now)s
  FROM d WHERE NOT d.is_new AND t.order_id = d.order_id AND {{stored}}
  RETURNING t.order_id
),
added AS (
  INSERT INTO ratings_orderscore (order_id, {", ".join(_COLUMNS)}, computed_at)
  SELECT d.order_id, {", ".join(f"d.{c}" for c in _COLUMNS)}, %(now)s FROM d WHERE d.is_new
  ON CONFLICT (order_id) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS)}, computed_at = EXCLUDED.computed_at
  RETURNING order_id
)
SELECT
  (SELECT count(*) FROM marketplace_order o WHERE o.placed_at > %(since)s AND {{where}}),
  (SELECT count(*) FROM changed),
  (SELECT count(*) FROM added)
"""  # noqa: S608 - built from constants; values go as parameters

# Per seller of ``{sellers}`` (every one, with zeros when it has no scored order): the
# time-weighted score, the scored and the mature orders, and the counts of the rate metrics (defect
# total, defects, cancellation total, cancelled, late total, late, tracked total, tracked). One pass
# over the seller-sorted covering index of the stored scores sums each seller's orders by where
# they count, and the few sums of a seller make its counts. The stored masks say where each order
# counts now: the refresh rescored every order that time moved (recount_at), and dropped those that
# left the window. Buyer and platform cancellations (no score) count nowhere.
_COUNTS = ",\n    ".join(
    f"sum(n) FILTER (WHERE counted_in & {1 << bit:d} <> 0) AS {name}"
    for bit, name in enumerate(COUNTED_IN)
)
SELLER_AGGREGATES = f"""
SELECT s.id AS seller_id, a.average, coalesce(a.scored, 0) AS scored,
  {", ".join(f"coalesce(a.{name}, 0) AS {name}" for name in COUNTED_IN)}
FROM marketplace_seller s LEFT JOIN (
  SELECT seller_id, sum(weighted) / nullif(sum(weights), 0) AS average, sum(n) AS scored,
    {_COUNTS}
  FROM (
    -- int4 counts: their sum is a bigint, where a sum of bigints would be numeric.
    SELECT seller_id, counted_in, count(*)::int AS n, sum(score * weight) AS weighted,
      sum(weight) AS weights
    FROM ratings_orderscore
    WHERE score IS NOT NULL AND {{orders_of_sellers}}
    GROUP BY seller_id, counted_in
  ) g
  GROUP BY seller_id
) a ON a.seller_id = s.id
WHERE {{sellers}}
"""  # noqa: S608 - built from constants; values go as parameters

# The sellers' changed ratings arrive as one JSON document (quoting arrays of JSON client-side cost
# more than the aggregation), and today's history rows of those whose score or band moved as three
# arrays. Writes them, and an outbox event for each seller whose metrics changed.
STORE_SELLER_RATINGS = """
WITH r AS (
  SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(seller_id bigint, score float8,
    band varchar, scored_orders int, mature_orders int, metrics jsonb, metric_counts bigint[])
),
before AS (
  SELECT seller_id, metrics FROM ratings_sellerrating WHERE seller_id IN (SELECT seller_id FROM r)
),
stored AS (
  INSERT INTO ratings_sellerrating (seller_id, score, band, scored_orders, mature_orders, metrics,
    metric_counts, weighting_version, computed_at)
  SELECT seller_id, score, band, scored_orders, mature_orders, metrics, metric_counts,
    %(version)s, %(now)s
  FROM r
  ON CONFLICT (seller_id) DO UPDATE SET score = EXCLUDED.score, band = EXCLUDED.band,
    scored_orders = EXCLUDED.scored_orders, mature_orders = EXCLUDED.mature_orders,
    metrics = EXCLUDED.metrics, metric_counts = EXCLUDED.metric_counts,
    weighting_version = EXCLUDED.weighting_version, computed_at = EXCLUDED.computed_at
  WHERE (ratings_sellerrating.score, ratings_sellerrating.band, ratings_sellerrating.scored_orders,
         ratings_sellerrating.mature_orders, ratings_sellerrating.metrics,
         ratings_sellerrating.metric_counts, ratings_sellerrating.weighting_version)
    IS DISTINCT FROM (EXCLUDED.score, EXCLUDED.band, EXCLUDED.scored_orders,
                      EXCLUDED.mature_orders, EXCLUDED.metrics, EXCLUDED.metric_counts,
                      EXCLUDED.weighting_version)
  RETURNING 1
),
history AS (
  INSERT INTO ratings_ratinghistory (seller_id, day, score, band)
  SELECT seller_id, %(today)s, score, band
  FROM unnest(%(history_sellers)s::bigint[], %(history_scores)s::float8[],
              %(history_bands)s::varchar[]) AS h(seller_id, score, band)
  ON CONFLICT (seller_id, day) DO UPDATE SET score = EXCLUDED.score, band = EXCLUDED.band
  WHERE (ratings_ratinghistory.score, ratings_ratinghistory.band)
    IS DISTINCT FROM (EXCLUDED.score, EXCLUDED.band)
  RETURNING 1
),
changed AS (
  SELECT r.seller_id FROM r LEFT JOIN before b ON b.seller_id = r.seller_id
  WHERE b.metrics IS DISTINCT FROM r.metrics
),
told AS (
  INSERT INTO core_outboxevent (id, topic, payload, created_at, attempts, last_error)
  SELECT gen_random_uuid(), 'ratings.metrics_changed',
    jsonb_build_object('seller_id', seller_id, 'computed_at', %(now_text)s), now(), 0, ''
  FROM changed
  RETURNING 1
)
SELECT (SELECT count(*) FROM stored), (SELECT count(*) FROM history), (SELECT count(*) FROM told)
"""


def _params(now: datetime) -> dict[str, Any]:
    return {
        "now": now,
        "today": now.date(),
        "since": now - WINDOW,
        "country": settings.BUSINESS_CALENDAR_COUNTRY,
        "calendar_first_day": CALENDAR_FIRST_DAY,
        "maturity": MATURITY_AFTER_DELIVERY,
        "reply_within": REPLY_WITHIN,
        "half_life": HALF_LIFE_DAYS,
        "weight_epoch": WEIGHT_EPOCH.timestamp(),
        "defect_since": now - ORDER_DEFECT_WINDOW,
        "cancel_since": now - CANCELLATION_WINDOW,
        "late_from": (now - LATE_SHIPMENT_WINDOW).date(),
        "tracked_since": now - VALID_TRACKING_WINDOW,
        "window": WINDOW,
        "defect_window": ORDER_DEFECT_WINDOW,
        "cancel_window": CANCELLATION_WINDOW,
        "late_days": LATE_SHIPMENT_WINDOW.days,
        "tracked_window": VALID_TRACKING_WINDOW,
    }


@contextmanager
def _cursor() -> Iterator[Any]:
    """A cursor without JIT: the planner prices these statements high (a sub-plan per order)
    and compiled them for three seconds to run for one."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('jit', 'off', true)")
        yield cursor


def calendar_ensure(today: date, country: str | None = None) -> None:
    """Fill the business-day table from core.clock up to CALENDAR_AHEAD past ``today``."""
    country = country or settings.BUSINESS_CALENDAR_COUNTRY
    last_needed = today + CALENDAR_AHEAD
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT day, ordinal FROM ratings_businessday WHERE country = %s"
            " ORDER BY day DESC LIMIT 1",
            [country],
        )
        row = cursor.fetchone()
        if row is not None and row[0] >= last_needed:
            return
        day, ordinal = (CALENDAR_FIRST_DAY, 0) if row is None else (row[0] + timedelta(1), row[1])
        days, ordinals = [], []
        while day <= last_needed:
            ordinal += is_business_day(day, country)
            days.append(day)
            ordinals.append(ordinal)
            day += timedelta(days=1)
        cursor.execute(
            "INSERT INTO ratings_businessday (country, day, ordinal)"
            " SELECT %s, * FROM unnest(%s::date[], %s::int[]) ON CONFLICT DO NOTHING",
            [country, days, ordinals],
        )


def scores_store(
    now: datetime, where: str, stored: str, params: dict[str, Any]
) -> tuple[int, int, int]:
    """Score the orders of the window matching ``where`` (on the order ``o``) and store the
    changes; ``stored`` picks the same orders' stored scores (on ``t``). Returns (orders scored,
    rows changed, rows added)."""
    calendar_ensure(now.date())
    with _cursor() as cursor:
        # A table read as empty (the first build) got a nested-loop anti-join that rescanned the
        # rows this very statement was inserting, once per order: minutes instead of seconds.
        cursor.execute("SELECT set_config('enable_nestloop', 'off', true)")
        cursor.execute(
            STORE_SCORES.replace("{where}", where).replace("{stored}", stored),
            {**_params(now), **params},
        )
        scored, changed, added = cursor.fetchone()
        cursor.execute("SELECT set_config('enable_nestloop', 'on', true)")
    return scored, changed, added


def scores_drop_before(order_ids: list[int], since: datetime) -> None:
    """Drop the stored scores of these orders placed at or before ``since`` (an array parameter:
    ten thousand ids as an IN list took longer to send and plan than to delete)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM ratings_orderscore WHERE order_id = ANY(%s) AND placed_at <= %s",
            [order_ids, since],
        )


def scores_select(now: datetime, order_ids: list[int]) -> list[tuple[Any, ...]]:
    """The SQL scores of these orders without storing them (the tests compare them with Python)."""
    calendar_ensure(now.date())
    with _cursor() as cursor:
        cursor.execute(
            SCORED_ORDERS.replace("{where}", "o.id = ANY(%(ids)s)") + " ORDER BY f.order_id",
            {**_params(now), "ids": order_ids},
        )
        return cursor.fetchall()


def _seller_filter(column: str, seller_ids: list[int] | None) -> str:
    return "true" if seller_ids is None else f"{column} = ANY(%(sellers)s)"


def _aggregates_for(statement: str, seller_ids: list[int] | None) -> str:
    return statement.replace(
        "{orders_of_sellers}", _seller_filter("seller_id", seller_ids)
    ).replace("{sellers}", _seller_filter("s.id", seller_ids))


@contextmanager
def _aggregating(seller_ids: list[int] | None) -> Iterator[Any]:
    """A cursor for SELLER_AGGREGATES. Over every seller the planner prefers a parallel scan of
    the table and a hash aggregate, or one process reading the index: it overestimates the
    (seller, counted_in) groups about twofold and prices passing them from the workers above what
    the workers save. Reading the index in parallel and merging the groups in order is the fastest
    of the three (see bench/README.md). (The settings hold to the end of the transaction, which may
    be the caller's: they are set back.)"""
    with _cursor() as cursor:
        if seller_ids is None:
            cursor.execute(
                "SELECT current_setting('enable_seqscan'), current_setting('parallel_tuple_cost'),"
                " set_config('enable_seqscan', 'off', true),"
                " set_config('parallel_tuple_cost', '0', true)"
            )
            before = cursor.fetchone()[:2]
        yield cursor
        if seller_ids is None:
            cursor.execute(
                "SELECT set_config('enable_seqscan', %s, true),"
                " set_config('parallel_tuple_cost', %s, true)",
                before,
            )


def seller_aggregates(seller_ids: list[int] | None) -> list[tuple[Any, ...]]:
    """SELLER_AGGREGATES for these sellers, or every seller."""
    with _aggregating(seller_ids) as cursor:
        cursor.execute(_aggregates_for(SELLER_AGGREGATES, seller_ids), {"sellers": seller_ids})
        return cursor.fetchall()


def seller_stage_lock() -> None:
    """Wait for any other refresh's seller stage to commit (call inside the transaction)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('ratings.seller_stage'))")


# SELLER_AGGREGATES beside what SellerRating holds, for the sellers whose rating may have changed
# only: another count, weighting or rated state, or an average at least SCORE_SLACK from the stored
# score (nearer, it rounds to the same two decimals, which is all the stored score keeps). The
# caller decides on the rows it gets; a nightly recompute after the refresh loop gets almost none,
# and sends and compares no ten thousand rows.
SCORE_SLACK = 0.004
RATING_CANDIDATES = f"""
WITH a AS ({SELLER_AGGREGATES})
SELECT a.*, r.seller_id IS NOT NULL, r.score, r.band, r.scored_orders, r.mature_orders,
  r.weighting_version, r.metric_counts
FROM a LEFT JOIN ratings_sellerrating r ON r.seller_id = a.seller_id
WHERE %(rewrite)s OR r.seller_id IS NULL OR r.weighting_version <> %(version)s
  OR r.scored_orders <> a.scored OR r.mature_orders <> a.mature
  OR r.metric_counts <> ARRAY[{", ".join(f"a.{name}" for name in COUNTED_IN[1:])}]
  OR (r.score IS NULL) <> (a.mature < %(min_mature)s OR a.average IS NULL)
  OR abs(a.average - r.score) >= {SCORE_SLACK}
"""  # noqa: S608 - built from constants; values go as parameters


def rating_candidates(
    seller_ids: list[int] | None, *, rewrite: bool, version: str, min_mature: int
) -> list[tuple[Any, ...]]:
    """RATING_CANDIDATES for these sellers, or every seller (all of them when ``rewrite``): per
    seller the twelve columns of SELLER_AGGREGATES, then whether a rating is stored, its score,
    band, scored and mature orders, weighting version and metric counts."""
    statement = _aggregates_for(RATING_CANDIDATES, seller_ids)
    with _aggregating(seller_ids) as cursor:
        cursor.execute(
            statement,
            {
                "sellers": seller_ids,
                "rewrite": rewrite,
                "version": version,
                "min_mature": min_mature,
            },
        )
        return cursor.fetchall()


def seller_ratings_store(
    now: datetime,
    rows: list[dict[str, Any]],
    history: tuple[list[int], list[float | None], list[str]],
    *,
    version: str,
) -> int:
    """Store the changed ratings and today's history (see STORE_SELLER_RATINGS); returns how many
    sellers were told."""
    with _cursor() as cursor:
        cursor.execute(
            STORE_SELLER_RATINGS,
            {
                "rows": json.dumps(rows),
                "history_sellers": history[0],
                "history_scores": history[1],
                "history_bands": history[2],
                "version": version,
                "now": now,
                "now_text": now.isoformat(),
                "today": now.date(),
            },
        )
        _stored, _history, told = cursor.fetchone()
    return told
