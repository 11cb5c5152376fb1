"""Every number of the Account Health Rating, with its reason."""

from datetime import timedelta

START_SCORE = 200  # new sellers start at the bottom of Healthy: no buffer until they earn one
MAX_SCORE = 1000
HEALTHY_FROM = 200  # 200-1000 Healthy (green)
AT_RISK_FROM = 100  # 100-199 At Risk (yellow); below 100 Critical (red, may be deactivated)

# Points a violation takes while it is open, by severity.
SEVERITY_POINTS = {"low": 20, "medium": 50, "high": 100, "critical": 200}
# Customer impact: each affected order beyond the first adds 10 %, up to three times the points,
# so a problem that hit many customers weighs more without one incident sinking an account alone.
IMPACT_STEP = 0.10
IMPACT_CAP = 3.0
# Repetition: a violation of a policy the seller already violated within the look-back window
# weighs 1.5 times: the seller had been told and it happened again.
REPEAT_LOOKBACK = timedelta(days=180)
REPEAT_MULTIPLIER = 1.5

# Clean selling earns points slowly: 5 points for every 200 orders delivered without a defect,
# up to the maximum, so long-standing good sellers build a buffer.
CLEAN_ORDERS_PER_REWARD = 200
CLEAN_REWARD_POINTS = 5

# Deactivation: a seller who stayed Healthy with a margin (>= 250) for the last 180 days gets 72
# hours to respond before a deactivation takes effect.
GRACE_MIN_SCORE = 250
GRACE_HISTORY = timedelta(days=180)
GRACE_WINDOW = timedelta(hours=72)
APPEAL_WINDOW = timedelta(days=183)  # "at least six months"

# Rate metrics of the ratings app that open a violation automatically when they miss their target.
METRIC_POLICIES = {
    "order_defect_rate": "order_defect_rate_above_target",
    "cancellation_rate": "cancellation_rate_above_target",
    "late_shipment_rate": "late_shipment_rate_above_target",
    "valid_tracking_rate": "valid_tracking_rate_below_target",
}
