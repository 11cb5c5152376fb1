"""Every number of the Order Quality Score and the seller rating, with where it comes from."""

from datetime import UTC, date, datetime, timedelta

# --- Order Quality Score (100-point scale) -------------------------------------------------------
NO_PROBLEM = 100  # the programme's "+1" per good order, on a 100-point scale
PERFECT_BONUS = 10  # "+0.1": 110 in all for a perfect order
PERFECT_MAX_BUSINESS_DAYS = 3  # delivered within 3 business days of the order

# The score an order gets when this problem is its most severe one. Only A-to-z (-500, the
# programme's "-5") and late shipment (0) are fixed by the source; the others are our choice,
# ordered by how much the problem costs the customer and how much the seller controls it.
PROBLEM_SCORES: dict[str, int] = {
    "a_to_z_claim": -500,  # fixed by the programme
    "chargeback_seller_fault": -400,  # money taken back by the bank: nearly as bad as a claim
    "negative_feedback": -300,  # 1 or 2 stars: the customer says it went wrong
    "cancelled_by_seller": -200,  # a promise broken before it started
    "delivered_late": -100,  # arrived after the promised date
    "no_reply_24h": -50,  # a buyer message left without answer for a day
    "late_shipment": 0,  # fixed by the programme: shipped after the ship-by date
}
# The order in which a trace lists the problems that fired; bit i of OrderScore.fired is
# FIRED_ORDER[i].
FIRED_ORDER: tuple[str, ...] = (
    "a_to_z_claim",
    "chargeback_seller_fault",
    "negative_feedback",
    "cancelled_by_seller",
    "delivered_late",
    "no_reply_24h",
    "late_shipment",
)
# The perfect-order conditions; bit i of OrderScore.bonus is set when BONUS_CONDITIONS[i] is met.
BONUS_CONDITIONS: tuple[str, ...] = (
    "delivered_within_3_business_days",
    "valid_tracking",
    "delivered_by_promised_date",
    "no_refund_or_concession",
)
NEGATIVE_FEEDBACK_MAX_STARS = 2
REPLY_WITHIN = timedelta(hours=24)
# An order's score is final once the customer can no longer change it: 30 days after delivery the
# feedback window has closed (claims after that are rare and are scored when they come).
MATURITY_AFTER_DELIVERY = timedelta(days=30)

# --- Seller rating -------------------------------------------------------------------------------
WINDOW = timedelta(days=365)
HALF_LIFE_DAYS = 90.0  # an order from three months ago counts half as much as today's
WEIGHTING_VERSION = "exp-decay-half-life-90d-cut-365d-v1"
# Where the stored weights count from (OrderScore.weight): any fixed moment does, the factor it
# leaves cancels out of the average. A weight reaches float8's limit 1023 half-lives later.
WEIGHT_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
MIN_MATURE_ORDERS = 10  # below this the seller is "not yet rated": too few orders to judge fairly

# Bands on the 100-point scale, modelled on the published marketplace seller-rating bands
# (Excellent 98 and above, Very Good 95 to 97, Good 90 to 94, Fair below 90). Highest first.
BANDS: tuple[tuple[str, float], ...] = (
    ("excellent", 98.0),
    ("very_good", 95.0),
    ("good", 90.0),
    ("fair", float("-inf")),
)

# --- Rate metrics and their published targets ----------------------------------------------------
ORDER_DEFECT_WINDOW = timedelta(days=60)
CANCELLATION_WINDOW = timedelta(days=30)
LATE_SHIPMENT_WINDOW = timedelta(days=30)
VALID_TRACKING_WINDOW = timedelta(days=30)
# Where a scored order counts at the moment it is (re)scored; bit i of OrderScore.counted_in is
# COUNTED_IN[i]. After "mature" come each rate metric's denominator and numerator, in the order of
# ratings.sql.SELLER_AGGREGATES and SellerRating.metric_counts. An order counts in a metric's
# denominator when it falls in the metric's window: placed in the last 60 days (order defects) or
# 30 days (cancellations), its ship-by day among the last 30 days before today and not cancelled
# (late shipments), shipped in the last 30 days (valid tracking).
COUNTED_IN: tuple[str, ...] = (
    "mature",
    "defect_total",
    "defects",
    "cancel_total",
    "cancelled",
    "late_total",
    "late",
    "tracked_total",
    "tracked",
)
TARGETS: dict[str, tuple[str, float]] = {
    "order_defect_rate": ("<", 0.01),
    "cancellation_rate": ("<", 0.025),
    "late_shipment_rate": ("<", 0.04),
    "valid_tracking_rate": (">=", 0.95),
}

REFRESH_BATCH_SIZE = 20_000  # dirty orders rescored per set-based statement
# The rederivation of every score from the orders (the weekly audit of the incremental path) scores
# the window in slices of time (orders are stored roughly in the order they were placed, so a slice
# reads neighbouring pages), which lets the command show progress.
FULL_RECOMPUTE_SLICES = 4
SELLERS_BY_INDEX_MAX = 3000  # a refresh of more sellers than this aggregates every seller
# The business-day calendar table the SQL scorer joins: filled from core.clock on first use, from
# this day to CALENDAR_AHEAD past today. A date outside it stops the scoring with an error rather
# than be scored against a calendar that does not know it.
CALENDAR_FIRST_DAY = date(2000, 1, 1)
CALENDAR_AHEAD = timedelta(days=3 * 366)
