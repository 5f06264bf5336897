"""Django settings for Saisei.

Configuration comes from the environment (12-factor, django-environ). Two modes:
demo (default; SQLite under ``var/`` and a secret key generated once and kept there)
and production (``SAISEI_PRODUCTION=1``; SECRET_KEY and ALLOWED_HOSTS are required).
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from saisei.core.catalogues import offered_languages

BASE_DIR = Path(__file__).resolve().parent
env = environ.Env()

DATA_DIR = Path(os.environ.get("SAISEI_DATA_DIR", Path.cwd() / "var")).resolve()
PRODUCTION = env.bool("SAISEI_PRODUCTION", default=False)
TESTING = "pytest" in sys.modules or env.bool("SAISEI_TESTING", default=False)


def _demo_secret_key() -> str:
    """Generate the demo key once and keep it under var/, so sessions survive restarts."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


if PRODUCTION:
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    if not SECRET_KEY:
        raise ImproperlyConfigured(
            "Saisei is in production mode (SAISEI_PRODUCTION=1) but SECRET_KEY is not set. "
            "Set SECRET_KEY to a long random string."
        )
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "Saisei is in production mode (SAISEI_PRODUCTION=1) but ALLOWED_HOSTS is not set. "
            "Set ALLOWED_HOSTS to a comma-separated list of host names."
        )
    DEBUG = False
else:
    SECRET_KEY = os.environ.get("SECRET_KEY") or _demo_secret_key()
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
    DEBUG = env.bool("SAISEI_DEBUG", default=False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    # django-ninja's own Swagger UI files: the API docs load from this site, not a CDN, and
    # carry no inline script (the CSP below applies to them too).
    "ninja",
    "simple_history",
    "django_tasks",
    "django_tasks_db",
    "saisei.core",
    "saisei.regulatory",
    "saisei.journey",
    "saisei.network",
    "saisei.processing",
    "saisei.treatment",
    "saisei.safety",
    "saisei.outcomes",
    "saisei.interop",
]

MIDDLEWARE = [
    # Health probes are answered first: no host check, no HTTPS redirect, no session.
    "saisei.core.health.HealthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Production serves static files itself (collected by `saisei serve --production`);
    # demo and development serve them from the source tree (saisei/urls.py).
    *(["whitenoise.middleware.WhiteNoiseMiddleware"] if PRODUCTION else []),
    "saisei.core.middleware.RequestIdMiddleware",
    "saisei.core.logs.RequestLogMiddleware",
    "saisei.core.hardening.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "saisei.core.middleware.ApiRequestGuardMiddleware",
    "django.middleware.common.CommonMiddleware",
    # CSRF and messages serve pages only; the API is passed by them (ninja checks CSRF itself
    # for session calls; core.middleware._PagesOnly).
    "saisei.core.middleware.PagesOnlyCsrfMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "saisei.core.middleware.TwoFactorMiddleware",
    "saisei.core.middleware.PagesOnlyMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "saisei.urls"
WSGI_APPLICATION = "saisei.wsgi.application"

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
                "saisei.core.context_processors.shell",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'saisei.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Production keeps each process's connection open between requests (one per gunicorn process;
# docs/operations.md sizes max_connections for it): opening a PostgreSQL connection per request
# cost more than a light API call's own work (bench/RESULTS.md). Checked before reuse.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60 if PRODUCTION else 0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"].setdefault("OPTIONS", {})
    # Wait for a writer instead of failing at once: the worker and web share the file.
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
# Optional read replica for reports and exports (saisei.core.db_router, docs/operations.md):
# reads inside core.db_router.replica_reads() go there; writes always go to the primary. Tests
# mirror it onto the test database.
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
DATABASE_ROUTERS = ["saisei.core.db_router.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Fast hashing in tests only; production keeps Django's PBKDF2 default.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "core:login"

# Login throttling: after this many failures for one account from one address, wait; an account
# failing from many addresses is locked past the higher bound (see core.services).
SAISEI_LOGIN_MAX_FAILURES = env.int("SAISEI_LOGIN_MAX_FAILURES", default=5)
SAISEI_LOGIN_ACCOUNT_MAX_FAILURES = env.int(
    "SAISEI_LOGIN_ACCOUNT_MAX_FAILURES", default=4 * SAISEI_LOGIN_MAX_FAILURES
)
SAISEI_LOGIN_LOCKOUT_MINUTES = env.int("SAISEI_LOGIN_LOCKOUT_MINUTES", default=15)
# Reverse proxies (addresses or networks) whose X-Forwarded-For names the client; from any other
# peer the header is ignored, so a client cannot choose the address it is throttled under.
SAISEI_TRUSTED_PROXIES = env.list("SAISEI_TRUSTED_PROXIES", default=[])

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 8
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

LANGUAGE_CODE = "en"
_LANGUAGE_NAMES = {
    "en": _("English"),
    "ja": _("Japanese"),
    "zh-hans": _("Simplified Chinese"),
    "zh-hant": _("Traditional Chinese"),
    "ko": _("Korean"),
}
# Offered languages: English, Japanese and simplified Chinese, plus every language a translator
# has added a family-facing catalogue for (saisei/journey/locale/<lang>/, see
# docs/translating.md); SAISEI_LANGUAGES=en,ja,... fixes the list instead.
LANGUAGES = [
    (code, _LANGUAGE_NAMES.get(code, code))
    for code in offered_languages(env.list("SAISEI_LANGUAGES", default=[]))
]
# Each app keeps its own catalogue in <app>/locale, which Django finds for installed apps.
LOCALE_PATHS: list[str] = []
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed copies (gzip, and Brotli where installed) made by collectstatic; file names
    # stay unhashed so a page never fails for want of a manifest.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Bodies other than file uploads (API JSON, form fields) larger than this answer 413 in the API
# and 400 on web forms; files are capped per form (JOURNEY_UPLOAD_MAX_BYTES for the public one).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("SAISEI_MAX_BODY_BYTES", default=15 * 1024 * 1024)

# The public inquiry form: uploads per file and per inquiry, and rate limits. The limits count
# stored inquiries in the database, so they hold across every web process.
JOURNEY_UPLOAD_MAX_BYTES = env.int("SAISEI_INQUIRY_UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
JOURNEY_UPLOAD_MAX_FILES = env.int("SAISEI_INQUIRY_UPLOAD_MAX_FILES", default=5)
JOURNEY_INQUIRY_MAX_PER_ADDRESS_PER_HOUR = env.int(
    "SAISEI_INQUIRY_MAX_PER_ADDRESS_PER_HOUR", default=5
)
JOURNEY_INQUIRY_MAX_PER_EMAIL_PER_DAY = env.int("SAISEI_INQUIRY_MAX_PER_EMAIL_PER_DAY", default=3)
JOURNEY_INQUIRY_MAX_PER_HOUR = env.int("SAISEI_INQUIRY_MAX_PER_HOUR", default=60)

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if not TESTING
    else "django.core.mail.backends.locmem.EmailBackend",
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="saisei@localhost")
# The SMTP relay, for EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend.
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)

TASKS = {
    "default": {
        "BACKEND": "django_tasks.backends.immediate.ImmediateBackend"
        if TESTING
        else "django_tasks_db.DatabaseBackend",
    }
}

# Content-Security-Policy (django-csp 4): scripts, styles and everything else only from this
# site; no inline script or style, no plugins, no framing. QR codes for authenticator apps are
# data: images. django-ninja's Swagger UI loads its scripts from static files, so the API docs
# keep the policy too.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# API docs, OpenAPI schema and admin behind the Saisei sign-in (on by default in production).
SAISEI_STAFF_ONLY_DOCS = env.bool("SAISEI_STAFF_ONLY_DOCS", default=PRODUCTION)

# The worker runs the daily jobs at this time of day in Japan (saisei.core.schedule); "off"
# leaves them to `saisei daily` from cron.
# A cohort page of at most this many enrolled patients computes its summary on the request
# when the stored one is outdated; larger ones queue it for the worker (decision 0039).
SAISEI_COHORT_INLINE_PATIENTS = env.int("SAISEI_COHORT_INLINE_PATIENTS", default=500)

SAISEI_DAILY_AT = env.str("SAISEI_DAILY_AT", default="02:00")

# Logs: JSON lines with the request id in production, plain lines in development.
SAISEI_LOG_FORMAT = env.str("SAISEI_LOG_FORMAT", default="json" if PRODUCTION else "plain")
if SAISEI_LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured("SAISEI_LOG_FORMAT must be 'json' or 'plain'.")
_LOG_LEVEL = env.str("SAISEI_LOG_LEVEL", default="WARNING")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "saisei.core.logs.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": SAISEI_LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": _LOG_LEVEL},
    "loggers": {
        # One line per request in production (the access log); quiet in development and tests.
        "saisei.request": {"level": "INFO" if PRODUCTION else _LOG_LEVEL},
        # The daily run says when it queued the jobs.
        "saisei.schedule": {"level": "INFO" if not TESTING else _LOG_LEVEL},
        # Request logs come from saisei.request; Django's would repeat 4xx/5xx lines.
        "django.request": {"level": "ERROR"},
    },
}

# The audit ledger's key, kept outside the database (docs/operations.md, decision record 0015):
# from the environment, or from a key file (created 0600 on first use outside production).
SAISEI_LEDGER_KEY = env.str(
    "SAISEI_LEDGER_KEY",
    default="test-ledger-key-0123456789abcdef0123456789abcdef" if TESTING else "",
)
SAISEI_LEDGER_KEY_FILE = Path(
    env.str("SAISEI_LEDGER_KEY_FILE", default=str(DATA_DIR / "ledger.key"))
).resolve()
# Signed checkpoints of every chain (`saisei audit anchor`, daily): a directory outside the
# database, and an e-mail to each organisation's compliance officers.
SAISEI_ANCHOR_DIR = Path(env.str("SAISEI_ANCHOR_DIR", default=str(DATA_DIR / "anchors"))).resolve()
SAISEI_ANCHOR_EMAIL = env.bool("SAISEI_ANCHOR_EMAIL", default=True)

# Public base URL, used in e-mails (magic links, confirmations).
SAISEI_BASE_URL = env.str("SAISEI_BASE_URL", default="http://127.0.0.1:8000")

# Benchmarks only (bench/run.py): route /bench/bare, a JSON view doing no work, to measure the
# framework's floor under the same server settings. Never set in a deployment.
SAISEI_BENCH_BARE_VIEW = env.bool("SAISEI_BENCH_BARE_VIEW", default=False)
