"""Settings, read from the environment.

Every value has a default that makes `make run` work offline on SQLite; production sets
SECRET_KEY, DATABASE_URL, ALLOWED_HOSTS and FIELD_ENCRYPTION_KEYS. Bad values raise
ImproperlyConfigured at start-up rather than failing later.
"""

import base64
import hashlib
import ipaddress
import re
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from whitenoise.compress import Compressor

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()


def env_int(name: str, default: int, *, minimum: int) -> int:
    """A whole number from the environment, refused at start-up below `minimum`."""
    value = env.int(name, default=default)
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be {minimum} or more.")
    return value


def env_int_list(name: str, default: str) -> list[int]:
    """A comma-separated list of non-negative integers, e.g. WEBHOOK_RETRY_SCHEDULE."""
    raw = env.str(name, default=default)
    try:
        values = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be comma-separated whole numbers, got {raw!r}.")
    if any(value < 0 for value in values):
        raise ImproperlyConfigured(f"{name} must not contain negative numbers, got {raw!r}.")
    return values


def env_networks(name: str, default: str = "") -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """A comma-separated list of CIDRs, e.g. WEBHOOK_ALLOWED_NETWORKS=127.0.0.0/8,::1/128."""
    raw = env.str(name, default=default)
    networks = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {part!r} is not an IPv4 or IPv6 network.")
    return tuple(networks)


def required_in_production(name: str, what: str) -> None:
    """With DEBUG off, a setting whose development default would be unsafe must be given."""
    if not DEBUG and not env.str(name, default="").strip():
        raise ImproperlyConfigured(
            f"{name} is not set: with DEBUG off (production) set it to {what} (README, section"
            " Production), or set DEBUG=true for development."
        )


DEBUG = env.bool("DEBUG", default=False)
required_in_production(
    "SECRET_KEY",
    "a long random secret, e.g. the output of `python -c 'import secrets; print(secrets.token_urlsafe(50))'`",
)
required_in_production("ALLOWED_HOSTS", "the host names the site answers, e.g. phonon.example.com")
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-set-SECRET_KEY-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# HTTPS. With DEBUG off (production) the session and CSRF cookies travel over https only and
# https answers carry HSTS; `make run` (DEBUG on) serves http://127.0.0.1, where a secure cookie
# would never come back. Behind a proxy that terminates TLS, set SECURE_PROXY_SSL_HEADER to the
# header it sets (e.g. HTTP_X_FORWARDED_PROTO, which must then say "https").
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if env.str("SECURE_PROXY_SSL_HEADER", default=""):
    SECURE_PROXY_SSL_HEADER = (env.str("SECURE_PROXY_SSL_HEADER"), "https")
X_FRAME_OPTIONS = "DENY"  # no page of the site is meant to be framed (clickjacking)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "phonon.staticfiles.PhononStaticFilesConfig",  # django.contrib.staticfiles
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "phonon",
    "accounts",
    "webhooks",
    "phone_numbers",
    "flows",
    "reports",
    "demo",  # seed_demo and the /demo-api/ routes; nothing imports it
    "phonon.summernote.PhononSummernoteConfig",  # django-summernote, text-only notes editor
]

MIDDLEWARE = [
    # First: probes and scrapers answer before host checks and https redirects (flows.health).
    "flows.health.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "phonon.storable_input.StorableInputMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.CurrentAccountMiddleware",
    "phonon.logs.AccountLogContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "phonon.urls"
WSGI_APPLICATION = "phonon.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.middleware.current_account",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'phonon.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so the worker's claim and the web process never
    # deadlock on a lock upgrade; the busy timeout makes concurrent writers wait, not fail.
    # WAL with synchronous=NORMAL syncs at checkpoints, not at every commit (SQLite's advice for
    # WAL): a crash of the process loses nothing, a power cut may lose the last commits.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Shared by every web process: the API throttle counts each token's requests here. The default,
# a table in the database (`manage.py createcachetable`, which `make serve` runs), needs nothing
# more; e.g. CACHE_URL=redis://… takes the load off the database (django-environ's cache URLs).
CACHES = {"default": env.cache_url("CACHE_URL", default="dbcache://phonon_cache")}

# Django's four validators: new passwords (invitations, change, reset, create_account) must pass
# them; seed_demo's demo passwords are set directly, as an operator would, and stay as they are.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))  # collectstatic writes here
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve straight from static/ without collectstatic in dev and tests
WHITENOISE_AUTOREFRESH = DEBUG
# Source maps are for a developer's browser tools: not worth compressing at every start.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (*Compressor.SKIP_COMPRESS_EXTENSIONS, "map")
if DEBUG:
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.api.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.api.permissions.AccountAccess"],
    "DEFAULT_PAGINATION_CLASS": "accounts.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "accounts.api.schema.ApiAutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # The API speaks JSON only (SPEC §4): a form-encoded body is 415, not half-understood. The one
    # JSON reader refuses NUL, lone surrogates and deep nesting with a 400 naming the field.
    "DEFAULT_PARSER_CLASSES": ["accounts.api.parsers.JSONInputParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_METADATA_CLASS": "accounts.api.metadata.OptionsMetadata",
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "accounts.api.errors.api_exception_handler",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "accounts.api.negotiation.FormatNegotiation",
    "DEFAULT_THROTTLE_CLASSES": ["accounts.api.throttling.TokenRateThrottle"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Phonon webhooks API",
    "DESCRIPTION": "Webhooks, call flows, executions and reports of one account. "
    "Authenticate with `Authorization: Token KEY`; the token fixes the account.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Request and response shapes as separate components (no readOnly/writeOnly juggling in
    # generated clients), and stable enum names instead of hashes such as Status608Enum; several
    # choice sets are named `status`, so each is named after what it describes.
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ExecutionStatusEnum": "flows.models.execution.ExecutionStatus",
        "DeliveryStatusEnum": "flows.models.delivery.DeliveryStatus",
        "MemberStatusEnum": ["active", "pending"],
        "ReportOutcomeEnum": "reports.models.ReportOutcome",
    },
}

# --- Product settings (SPEC §4 to §8) -------------------------------------------------------
# How many proxies in X-Forwarded-For to trust for the client address; 0 reads REMOTE_ADDR only.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
# Networks outbound requests may reach although they are not public (the demo: 127.0.0.0/8).
WEBHOOK_ALLOWED_NETWORKS = env_networks("WEBHOOK_ALLOWED_NETWORKS")
WEBHOOK_MAX_RESPONSE_BYTES = env.int("WEBHOOK_MAX_RESPONSE_BYTES", default=1024 * 1024)
WEBHOOK_RETRY_SCHEDULE = env_int_list("WEBHOOK_RETRY_SCHEDULE", "5,300,1800,7200,18000,36000")
# Flow-end delivery operations (SPEC §16).
DELIVERY_REPLAY_PER_SECOND = env.float("DELIVERY_REPLAY_PER_SECOND", default=10.0)
if DELIVERY_REPLAY_PER_SECOND <= 0:
    raise ImproperlyConfigured("DELIVERY_REPLAY_PER_SECOND must be more than 0.")
DELIVERY_DISABLE_AFTER_DAYS = env.float("DELIVERY_DISABLE_AFTER_DAYS", default=5.0)
SIGNING_SECRET_OVERLAP_HOURS = env.float("SIGNING_SECRET_OVERLAP_HOURS", default=24.0)
if DELIVERY_DISABLE_AFTER_DAYS <= 0 or SIGNING_SECRET_OVERLAP_HOURS < 0:
    raise ImproperlyConfigured(
        "DELIVERY_DISABLE_AFTER_DAYS must be more than 0 and SIGNING_SECRET_OVERLAP_HOURS 0 or more."
    )
# Mail (owners' delivery alerts, invitations, password resets): EMAIL_URL such as smtp+tls://user:pw@host:587;
# the default prints every message on the console (`make run`).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Phonon webhooks <noreply@localhost>")
# Links in emails need the site's address (emails have no request to take it from).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# A claim lasts longer than the 60 s request deadline plus a margin, so only a dead worker's
# claim expires.
# WEBHOOK_MAX_TIMEOUT_SECONDS is the longest webhook widget deadline (SPEC §6: 60 s); only the
# worker-recovery tests lower it, together with the lease, to see a claim expire in seconds.
WEBHOOK_MAX_TIMEOUT_SECONDS = env.int("WEBHOOK_MAX_TIMEOUT_SECONDS", default=60)
# Widget tests (SPEC §13) an account may run per rolling minute.
WIDGET_TESTS_PER_MINUTE = env_int("WIDGET_TESTS_PER_MINUTE", 30, minimum=1)
WORKER_LEASE_SECONDS = env.int("WORKER_LEASE_SECONDS", default=90)
if WORKER_LEASE_SECONDS <= WEBHOOK_MAX_TIMEOUT_SECONDS:
    raise ImproperlyConfigured(
        f"WORKER_LEASE_SECONDS must be more than the {WEBHOOK_MAX_TIMEOUT_SECONDS} s webhook deadline."
    )

# The worker's database connections (flows.worker.DatabaseLane): however many calls it holds in
# flight, at most this many connections per worker process.
WORKER_DB_CONNECTIONS = env_int("WORKER_DB_CONNECTIONS", 8, minimum=1)
# Claims of one execution before it is given up and ends `failed` (poison jobs, flows.engine).
WORKER_MAX_ATTEMPTS = env_int("WORKER_MAX_ATTEMPTS", 3, minimum=1)

# In-call resilience (SPEC §15): the circuit breaker and busy limit per account and endpoint
# origin, and the webhook widgets' response cache.
CIRCUIT_FAILURES = env_int("CIRCUIT_FAILURES", 5, minimum=1)
CIRCUIT_WINDOW_SECONDS = env_int("CIRCUIT_WINDOW_SECONDS", 60, minimum=1)
CIRCUIT_OPEN_SECONDS = env_int("CIRCUIT_OPEN_SECONDS", 30, minimum=1)
ENDPOINT_MAX_IN_FLIGHT = env_int("ENDPOINT_MAX_IN_FLIGHT", 50, minimum=1)
RESPONSE_CACHE_MAX_ENTRIES = env_int("RESPONSE_CACHE_MAX_ENTRIES", 10000, minimum=0)

# Where `seed_demo` points the demo's webhooks: this site's own /demo-api/ (see `make run`).
DEMO_BASE_URL = env.str("DEMO_BASE_URL", default="http://127.0.0.1:8000")
# Serve the public demo API under /demo-api/ (demo.urls); off in production unless asked.
DEMO_API = env.bool("DEMO_API", default=DEBUG)


def _fernet_key_from_secret(secret: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(f"field-encryption:{secret}".encode()).digest()).decode()


# Fernet keys for secrets at rest, newest first; older keys still decrypt (rotation: put a new
# key first, run `manage.py rotate_secrets`, then drop the old key).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[_fernet_key_from_secret(SECRET_KEY)])

# --- Production (SPEC §11) ------------------------------------------------------------------
# Requests a minute (or /s, /hour, /day) per API token, /api/ and /internal/ together.
API_RATE = env.str("API_RATE", default="600/min")
if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", API_RATE):
    raise ImproperlyConfigured(f"API_RATE must be requests per period, e.g. 600/min or 20/s, got {API_RATE!r}.")
# Who may read /metrics (the client address as accounts.client_ip reads it).
METRICS_ALLOWED_NETWORKS = env_networks("METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")

LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "phonon.logs.LogContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "phonon.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
