"""Tunables of invite-only drops: drop defaults, the bot screening rules and the quality targets.

One place, so staff can read every rule with its weight and threshold, and tests can measure them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

PURCHASE_WINDOW_HOURS = 72  # the programme's window to buy after an invitation
LIMIT_PER_CUSTOMER = 1  # units one invitation holds; the programme sells one console per customer
LOTTERY_ALGORITHM = "hmac-sha256-rank/1"  # stored with every draw, so a replay uses the same rule

NOTIFY_BATCH_SIZE = 1000  # "not drawn" e-mails per transaction: a big drop stays short transactions
# Memory for the sorts and hash tables of the draw and the batch screening (their transaction
# only): a million requests then aggregate in memory instead of spilling to temporary files.
BATCH_WORK_MEM = "256MB"
EXPIRE_BATCH_SIZE = 500  # invitations expired per transaction
DRY_RUN_SAMPLES = 5  # request ids shown per rule in a dry run: enough to open and check by hand


@dataclass(frozen=True)
class Rule:
    """One screening rule. ``threshold`` is compared with what ``measures`` says."""

    code: str
    weight: int
    threshold: float
    measures: str
    category: str  # what a screened-out customer is told (CATEGORY_MESSAGES), never the rule
    stage: str = "request"  # "request": cheap, when the request arrives; "batch": before the draw
    window: timedelta | None = None


# A request whose fired weights add up to SCREEN_OUT_SCORE is screened out. A genuinely new
# customer (fresh account, nothing bought yet) scores 3 and stays in, even from a busy network (4);
# it takes a second signal of automation or coordination to reach 5. Established customers earn a
# trust credit so that a carrier's shared network (CGNAT) does not screen them out.
SCREEN_OUT_SCORE = 5
FRESH_NETWORK_SHARE = (
    0.5  # a network cluster is suspicious when at least half its accounts are fresh
)
SIGNUP_BURST_LOOKBACK = timedelta(days=7)  # bursts of sign-ups this long before the drop opened

RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        # Bot farms create accounts for the drop; real customers mostly have older ones.
        Rule("new_account", 2, 7, "account age in days (fires below)", "account"),
        # No delivered order yet: weak alone, since every real customer starts like this.
        Rule("no_purchase_history", 1, 1, "delivered orders (fires below)", "history"),
        # Aged and with a delivery: costly for a bot to fake, so it offsets network signals.
        Rule("established_customer", -3, 30, "account age in days, with a delivery", "history"),
        # Many requests from one /24 (/48) in minutes: a script, or a big shared network.
        Rule(
            "network_burst",
            1,
            5,
            "requests from the network within the window",
            "network",
            window=timedelta(minutes=10),
        ),
        # Several accounts from one device identifier: one person, many accounts.
        Rule(
            "device_reuse",
            5,
            3,
            "accounts with the device identifier within the window",
            "device",
            window=timedelta(hours=24),
        ),
        # Throw-away mailboxes are what account farms use.
        Rule("disposable_email", 3, 1, "e-mail domain on the disposable list", "account"),
        # HTTP libraries and headless browsers do not shop by hand.
        Rule("automation_agent", 8, 1, "user agent of an automation tool, or none", "device"),
        # Before the draw, over every request of the drop:
        # Several accounts shipping to one (normalised) address: one buyer with many tickets.
        Rule("shared_address", 3, 3, "accounts with the delivery address", "address", "batch"),
        # A network whose requesters are mostly fresh accounts: a farm behind one connection.
        Rule(
            "fresh_network_cluster",
            2,
            4,
            "fresh accounts (no delivery) from the network",
            "network",
            "batch",
        ),
        # Accounts created in a tight burst shortly before the drop opened.
        Rule(
            "signup_burst",
            2,
            10,
            "accounts created within the window",
            "account",
            "batch",
            window=timedelta(hours=1),
        ),
    )
}
BATCH_RULES = frozenset(code for code, rule in RULES.items() if rule.stage == "batch")

DISPOSABLE_DOMAINS = frozenset(
    {
        "mailinator.com",
        "guerrillamail.com",
        "10minutemail.com",
        "tempmail.com",
        "trashmail.com",
        "yopmail.com",
        "sharklasers.com",
        "dispostable.com",
        "throwawaymail.com",
        "getnada.com",
    }
)
AUTOMATION_AGENTS = (
    "headlesschrome",
    "phantomjs",
    "selenium",
    "puppeteer",
    "playwright",
    "python-requests",
    "python-urllib",
    "aiohttp",
    "curl/",
    "wget/",
    "httpclient",
    "okhttp",
    "scrapy",
    "go-http-client",
    "node-fetch",
    "axios/",
)

# What a screened-out customer is told: a category that helps a real person, never the thresholds.
CATEGORY_MESSAGES: dict[str, Promise] = {
    "account": _("Your account is very new or its e-mail address could not be verified."),
    "history": _("We could not find a purchase history on your account yet."),
    "network": _("Many requests came from the same network as yours."),
    "device": _("Your request looked automated."),
    "address": _("Many accounts requested with the same delivery address."),
}
APPEAL_HINT = _(
    "If you are a real customer, tell us in a few words: use the appeal button in your account "
    "(or POST a short text to the appeal address). A member of staff reviews every appeal."
)

# Screening quality, measured by tests/invitations/test_screening_quality.py on a labelled
# synthetic population: the programme's target is to remove nearly every bot and almost no customer.
TARGET_BOT_RECALL = 0.95
TARGET_FALSE_POSITIVE_RATE = 0.01
