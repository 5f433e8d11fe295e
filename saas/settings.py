"""Settings, all from the environment.

DATABASE_URL, REDIS_URL, BASE_DOMAIN, SECRET_KEY, DEBUG and HTTPS are the whole configuration
surface; everything else is decided here on purpose. `saas.embedded` sets the two URLs when it
starts embedded PostgreSQL and Redis for `make run` and `make test`.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_flag("DEBUG")
HTTPS = env_flag("HTTPS")
BASE_DOMAIN = os.environ.get("BASE_DOMAIN", "localhost").strip().lower() or "localhost"

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY to a long random string "
            "(for example: python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DEBUG=1 for local development."
        )
    SECRET_KEY = "insecure-development-key-used-only-with-DEBUG-on"

# The public host and every tenant host below it; nothing else is served.
ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}"]

# --- Tenancy -------------------------------------------------------------------------------
# Shared apps live once, in the public schema: the agency registry (tenants, their domains and
# API tokens, which must be found from the token alone), the beat schedule (one for the whole
# platform) and the platform operator's users and admin.
SHARED_APPS = [
    "django_tenants",
    "tenants",
    "accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "axes",
    "django_celery_beat",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Per agency, the earliest instant a webhook delivery of theirs is due: the minute's sweep
    # finds the agencies with work in one query instead of visiting every schema.
    "notifications.shared",
    # Per agency, the earliest instant one of its campaigns can change by time alone: the
    # minute's dispatcher sends passes only to the agencies with something due (one query).
    "campaigns.shared",
]
# Tenant apps get one copy per agency schema: the agency's own users, sessions and admin log
# (so its admin shows only its people), and all budget data.
TENANT_APPS = [
    "accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "axes",
    "campaigns",
    "audit",  # who changed what: the agency's own record, next to what it records
    # Events, webhook endpoints and their deliveries are the agency's own data, written in the
    # same transaction as the budget decision that causes them (which runs in its schema), and
    # never visible to another agency.
    "notifications",
    "dashboard",  # no models: its pages are served on agency hosts only
]
INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Agency"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "saas.urls_public"
ROOT_URLCONF = "saas.urls_tenant"
# New agencies are cloned from this migrated schema instead of replaying every migration.
TENANT_BASE_SCHEMA = "_tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
TENANT_LIMIT_SET_CALLS = True
# A connection serves at most this many agencies, then is replaced: a PostgreSQL backend keeps
# each schema's catalog entries and plans until it ends (saas.schemas_per_connection).
EXTRA_SET_TENANT_METHOD_PATH = "saas.schemas_per_connection.limit_schemas"
DATABASE_SCHEMAS_PER_CONNECTION = int(os.environ.get("DATABASE_SCHEMAS_PER_CONNECTION", "100"))
# Agency schemas cloned ahead of signups, so a signup renames one (tenants.spares); 0: off.
TENANT_SPARE_SCHEMAS = int(os.environ.get("TENANT_SPARE_SCHEMAS", "3"))
# `migrate` makes its plan once and applies it to every agency's schema, on 2 processes
# (tenants.migration_executor); `--executor=standard|multiprocessing` picks django-tenants' own.
GET_EXECUTOR_FUNCTION = "tenants.migration_executor.get_executor"
TENANT_MULTIPROCESSING_MAX_PROCESSES = int(os.environ.get("MIGRATE_PROCESSES", "2"))
TENANT_MIGRATION_ORDER = ["id"]  # oldest agencies first, the same order every run
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]

MIDDLEWARE = [
    # First, so every answer carries their headers, /healthz's and unknown hosts' included (the
    # HTTPS redirect exempts /healthz; nothing in them depends on the host).
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "saas.middleware.ContentSecurityPolicyMiddleware",
    "saas.middleware.HealthCheckMiddleware",
    # Before anything reads the database: a caller past its rate costs one Redis call.
    "saas.throttle.TokenRateLimitMiddleware",
    # Outside the tenant lookup, so an unknown host's 404 under /api/ is JSON too.
    "saas.middleware.ApiErrorMiddleware",
    "tenants.middleware.TenantMiddleware",
    "saas.throttle.AgencyRateLimitMiddleware",
    # The spend middleware answers POST /api/v1/spend itself, after everything above (which
    # applies to every request, spend included: headers, health, the per-token rate limit,
    # JSON errors, tenancy and the token). The middleware below serves browsers (static files,
    # sessions, CSRF, users, messages, sign-in lockout); its cost is a large share of a spend's.
    "campaigns.api.middleware.SpendMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "saas.wsgi.application"
# API paths have no trailing slash; a redirect would drop a POST body.
APPEND_SLASH = False

# --- Database ------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@localhost:5432/postgres")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
DATABASES["default"]["ENGINE"] = "saas.postgresql_backend"
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# psycopg may keep prepared statements (Django turns that off by default). Only the backend's
# prepared_cursor() asks for them, for the spend hot path's few key lookups; every other cursor
# binds on the client and never prepares. Their plan is made once: planning the brand read each
# time cost PostgreSQL 0.6 ms, three times running it, and their best plans (index lookups) do
# not depend on the values bound.
#
# random_page_cost 1.1 (PostgreSQL's default of 4 models spinning disks) prices an index lookup
# as what it is where the tables are cached or on SSD. At 4 a small agency's lookups by key
# (a brand's campaigns, their day and month totals) were planned as sequential scans of the whole
# table, once per campaign: the campaigns read of a spend took 0.20 ms to run instead of 0.10.
_OPTIONS = DATABASES["default"].setdefault("OPTIONS", {})
_OPTIONS["prepare_threshold"] = 5
_OPTIONS["options"] = " ".join(filter(None, [
    _OPTIONS.get("options"), "-c plan_cache_mode=force_generic_plan",
    "-c random_page_cost=1.1"]))
# Web requests hold a gunicorn worker while they wait. A lock held elsewhere (one agency's long
# transaction, a psql session) must free the worker sooner than a client gives up, so that other
# agencies are still served: the spend that cannot lock its brand in time answers 503. `saas.wsgi`
# marks the web process; Celery, `migrate` and the shell keep PostgreSQL's defaults.
WEB_PROCESS = env_flag("SAAS_WEB_PROCESS")
# A waiter may queue for a row lock twice (the tuple, then its holder), so a request gives up
# after about two lock timeouts: short, because a worker that waits serves nobody meanwhile.
WEB_DATABASE_TIMEOUTS = {
    "lock_timeout": "1s",
    "statement_timeout": "15s",
    "idle_in_transaction_session_timeout": "30s",
}
if WEB_PROCESS:
    _OPTIONS["options"] += "".join(f" -c {name}={value}"
                                   for name, value in WEB_DATABASE_TIMEOUTS.items())
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The largest request body read (Django's default, stated): a full batch of 1,000 spends with
# 200-character event ids is about 0.3 MB. Past it: 413 (saas.errors).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- Redis and Celery ----------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True  # nothing reads task results, so no result backend
CELERY_TASK_ACKS_LATE = True  # tasks are idempotent: a pass lost with its worker is redone
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 50  # a pass must end inside its one-minute period
CELERY_TASK_SOFT_TIME_LIMIT = 45
CELERY_TASK_TENANT_CACHE_SECONDS = 30
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Webhook deliveries wait on other people's servers (up to 15 s an attempt): their own queue,
# so a worker that serves only `celery` (the budget passes, the sweeps) is never held by them.
# A worker started without -Q serves both; make run and docker-compose run one of each.
CELERY_TASK_DEFAULT_QUEUE = "celery"
# The hourly full passes (the safety net) go to this queue: by default the passes' own; past
# about 1,300 agencies per 2-process worker, name another and give it workers of its own
# (`-Q <name>`), so a minute's due passes never wait behind the hourly ones.
FULL_PASS_QUEUE = os.environ.get("FULL_PASS_QUEUE", "celery")
CELERY_TASK_QUEUES = tuple(Queue(name) for name in dict.fromkeys(
    ["celery", "webhooks", FULL_PASS_QUEUE]))
CELERY_TASK_ROUTES = {"notifications.deliver": {"queue": "webhooks"}}
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 300}

# --- Webhooks (notifications) ---------------------------------------------------------------
# Development and tests only: allow http:// and hosts that resolve to private, loopback or other
# inside addresses (`make run` sets it so a local receiver can be used). Off in production.
WEBHOOK_ALLOW_PRIVATE = env_flag("WEBHOOK_ALLOW_PRIVATE")
# How many of one agency's endpoints are sent to at once over every worker (notifications.slots),
# and how many endpoints an agency may have.
WEBHOOK_AGENCY_CONCURRENCY = int(os.environ.get("WEBHOOK_AGENCY_CONCURRENCY", "2"))
WEBHOOK_MAX_ENDPOINTS = int(os.environ.get("WEBHOOK_MAX_ENDPOINTS", "20"))

# --- Auth ----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# The same rules at signup (tenants.services), in the admin and on password changes.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
     "OPTIONS": {"user_attributes": ("email", "name")}},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.validators.VariedCharactersValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
# Failures count per user and client address together: behind the reverse proxy many people
# share an address, and counting by address (or by user) alone let anyone lock everyone out.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "saas.clients.client_address"
# Emails are stored lowercased: `Boss@x` and `boss@x` are one user, counted once.
AXES_USERNAME_CALLABLE = "accounts.models.login_username"
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_CALLABLE = "dashboard.views.locked_out"  # a readable page, not a bare 403

# --- Rates (saas.ratelimit, in Redis) -------------------------------------------------------
# Signups per client address: each agency is a schema and a periodic pass for ever.
SIGNUP_RATE = os.environ.get("SIGNUP_RATE", "10/hour")
# API requests per token (or per client address without one), past which 429 (saas.throttle).
API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "1000/second")
# API requests of one agency over all its tokens (saas.throttle.AgencyRateLimitMiddleware).
AGENCY_RATE_LIMIT = os.environ.get("AGENCY_RATE_LIMIT", "3000/second")

# --- API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tenants.auth.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["tenants.auth.HasTokenScope"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["saas.api.DecimalJSONParser"],
    "EXCEPTION_HANDLER": "saas.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "saas.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": None,
}
# Every HTML page's Content-Security-Policy (saas.middleware.ContentSecurityPolicyMiddleware).
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

SPECTACULAR_SETTINGS = {
    "TITLE": "Budget control API",
    "DESCRIPTION": "Brands, campaigns, dayparting and spend for advertising agencies.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # One name for each choice set the API uses in several places (evaluation.reasons and
    # pause_reasons; a campaign's status in its body and in its status answer; the audit log's
    # and the history's actors).
    "ENUM_NAME_OVERRIDES": {
        "PauseReasonEnum": "campaigns.rules.REASONS_ORDER",
        "CampaignStatusEnum": "campaigns.models.Status",
        "ActorTypeEnum": "audit.models.ActorType",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "saas.openapi.paths_without_trailing_slash",
        "campaigns.api.schema.add_spend_operation",
    ],
}

# --- i18n, static --------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Static files are served by the service itself from the installed apps (no collectstatic
# step, no CDN): WhiteNoise finds them where they were installed.
WHITENOISE_USE_FINDERS = True
warnings.filterwarnings("ignore", message="No directory at")
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security ------------------------------------------------------------------------------
# TLS ends at the reverse proxy; HTTPS=1 says one is in front and switches on everything that
# assumes it (redirects, HSTS, secure cookies).
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
# No trusted origins: a form posts to its own host, which Django trusts itself. Trusting
# `*.BASE_DOMAIN` let every agency's pages post into every other agency's dashboard (and a
# sibling host can set cookies for the parent domain, so the token alone does not stop it).
CSRF_TRUSTED_ORIGINS: list[str] = []

SILENCED_SYSTEM_CHECKS = [
    # TLS, HSTS and secure cookies belong to the reverse proxy; HTTPS=1 turns them on (README).
    *([] if HTTPS else ["security.W004", "security.W008", "security.W012", "security.W016"]),
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    # httpx logs every webhook delivery at INFO; the deliveries log already records each one.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
}
