"""Tunables of shippability, each with its reason."""

from datetime import timedelta

# Platform carriers do not deliver to PO boxes (parcel lockers are addresses of their own).
PLATFORM_SHIPS_TO_PO_BOXES = False
# A seller without any shipping template still ships within their own country: blocking every sale
# of a seller who has not filled in templates yet would be the very incident this app exists for.
DEFAULT_TRANSIT_DAYS = (2, 5)
# How long a process trusts its cached rule snapshot before it asks Redis for the version again.
RULES_VERSION_CHECK_SECONDS = 2.0
RULES_VERSION_KEY = "fulfillment:rules_version"

# Incident detection: refusals of one offer in the last hour against the same offer's hourly
# average over the baseline window. Minimum volume keeps a handful of odd addresses from paging.
INCIDENT_WINDOW = timedelta(hours=1)
INCIDENT_BASELINE = timedelta(days=7)
INCIDENT_MIN_ATTEMPTS = 20
INCIDENT_SPIKE_FACTOR = 5.0
# An offer with (almost) no refusals in its history compares against this hourly rate instead of
# zero, so that its first handful of refusals is not an infinite jump.
INCIDENT_BASELINE_FLOOR_PER_HOUR = 1.0
# An incident resolves itself after this long without a single refusal of its reason.
INCIDENT_QUIET_PERIOD = timedelta(hours=2)

# Refusal counts and coverage reports older than this are deleted: long enough for staff to look
# back at a past incident's blocked demand, far beyond the seven-day baseline detection needs.
HISTORY_RETENTION = timedelta(days=90)
# Deleting old rows in slices keeps each statement short while the table is written to.
PRUNE_BATCH_SIZE = 5000

# Coverage checks: how many distinct real customer regions to sample per country (regions are
# country plus two postal digits, so 20 spread over most of a country's delivery areas).
COVERAGE_SAMPLE_PER_COUNTRY = 20
# A seller with a huge catalogue is checked in batches of offers, one transaction each.
COVERAGE_BATCH_SIZE = 200
