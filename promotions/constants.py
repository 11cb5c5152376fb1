"""Tunables of personalised coupons, each with its reason."""

# 30 symbols without look-alikes (no 0/O, 1/I/L, U/V pairs keep V only): log2(30) = 4.9 bits each.
# 80 bits need 17 symbols; 20 symbols give 98 bits and read as five groups of four.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 20
CODE_GROUP = 4
ISSUE_BATCH_SIZE = (
    500  # customers per transaction when issuing to a segment: short locks, steady progress
)
MAX_CODE_INPUT_LENGTH = 64  # anything longer is not a code; refuse before touching the database

# Segment defaults (staff can pass others per issue run).
NEW_CUSTOMER_MAX_AGE_DAYS = 30  # "new": joined within a month and no order yet
LOYAL_MIN_DELIVERED_ORDERS = 3  # "loyal": at least this many delivered orders in the last 365 days
INACTIVE_MIN_DAYS = 180  # "inactive": the last order is at least half a year old
MAX_CODE_FAILURES_PER_HOUR = 10  # per account: enough for typos, far too few to guess 98 bits
