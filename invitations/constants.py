"""Bot screening rules and drop defaults, each with its reason. One place, so staff can see them."""

from datetime import timedelta

PURCHASE_WINDOW = timedelta(hours=72)  # the programme's window to buy after an invitation

# Screening: each rule has a code, a weight and its threshold; a request whose fired weights add up
# to SCREEN_OUT_SCORE is screened out. A genuinely new customer (fresh account, no orders) scores 3
# and stays in; it takes a signal of automation or coordination on top to reach 4.
SCREEN_OUT_SCORE = 4
RULES: dict[str, dict[str, object]] = {
    "new_account": {"weight": 2, "max_age": timedelta(days=7), "category": "account"},
    "no_purchase_history": {"weight": 1, "category": "history"},
    "network_burst": {
        "weight": 3,
        "window": timedelta(minutes=10),
        "threshold": 5,
        "category": "network",
    },
    "device_reuse": {
        "weight": 3,
        "window": timedelta(hours=24),
        "threshold": 3,
        "category": "device",
    },
    "disposable_email": {"weight": 3, "category": "account"},
    "automation_agent": {"weight": 4, "category": "device"},
    # Before the draw, over all requests of the drop:
    "shared_address": {"weight": 3, "threshold": 3, "category": "address"},
    "shared_network": {"weight": 2, "threshold": 4, "category": "network"},
    "signup_burst": {
        "weight": 2,
        "window": timedelta(hours=1),
        "threshold": 10,
        "before_open": timedelta(days=7),
        "category": "account",
    },
}
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
    "curl/",
    "wget/",
    "httpclient",
    "scrapy",
    "go-http-client",
    "bot",
)

# What a screened-out customer is told: a category that helps a real person, never the thresholds.
CATEGORY_MESSAGES = {
    "account": "Your account is very new or its e-mail address could not be verified.",
    "history": "We could not find a purchase history on your account yet.",
    "network": "Many requests came from the same network.",
    "device": "Your request looked automated.",
    "address": "Many accounts requested with the same delivery address.",
}
APPEAL_HINT = (
    "If you are a real customer, tell us so: POST /api/me/drop-requests/{id}/appeal/ with a short "
    "text (or the appeal button in your account); a member of staff will review it."
)

# Screening quality targets measured by the synthetic population test.
TARGET_BOT_RECALL = 0.95
TARGET_FALSE_POSITIVE_RATE = 0.01
