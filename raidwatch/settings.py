"""The one settings module, configured from the environment (see README.md)."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.conf.locale import LANG_INFO
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from raidwatch.lib import languages
from raidwatch.lib.env import env_bool, env_choice, env_int, env_str
from raidwatch.lib.keys import key_dir, read_or_create_key

BASE_DIR = Path(__file__).resolve().parent.parent

RAIDWATCH_ENV = env_choice("RAIDWATCH_ENV", "embedded", ("embedded", "production"))
PRODUCTION = RAIDWATCH_ENV == "production"
DATA_DIR = Path(env_str("RAIDWATCH_DATA_DIR", "var") or "var").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
KEY_DIR = key_dir(DATA_DIR)

DEBUG = env_bool("RAIDWATCH_DEBUG", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("RAIDWATCH_DEBUG cannot be on when RAIDWATCH_ENV=production.")

_secret = env_str("RAIDWATCH_SECRET_KEY")
if _secret is None:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "RAIDWATCH_SECRET_KEY (or RAIDWATCH_SECRET_KEY_FILE) must be set when RAIDWATCH_ENV=production."
        )
    # Embedded mode: generated once into the data dir so `make run` needs no setup.
    _secret = read_or_create_key(KEY_DIR / "secret_key", 50).hex()
elif len(_secret) < 50:
    raise ImproperlyConfigured("RAIDWATCH_SECRET_KEY must be at least 50 characters long.")
SECRET_KEY = _secret

_hosts = env_str("RAIDWATCH_ALLOWED_HOSTS")
if _hosts is None and PRODUCTION:
    raise ImproperlyConfigured("RAIDWATCH_ALLOWED_HOSTS must be set when RAIDWATCH_ENV=production.")
ALLOWED_HOSTS = [h.strip() for h in (_hosts or "127.0.0.1,localhost,[::1]").split(",") if h.strip()]
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("RAIDWATCH_ALLOWED_HOSTS must name a host when RAIDWATCH_ENV=production.")
RAIDWATCH_BASE_URL = env_str("RAIDWATCH_BASE_URL")
if RAIDWATCH_BASE_URL is None and PRODUCTION:
    # Links in alerts and the CSRF origin depend on it; a wrong default would be silent.
    raise ImproperlyConfigured("RAIDWATCH_BASE_URL must be set when RAIDWATCH_ENV=production.")
RAIDWATCH_BASE_URL = (RAIDWATCH_BASE_URL or "http://127.0.0.1:8000").rstrip("/")

RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS = env_bool("RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS", False)
if PRODUCTION and RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS:
    raise ImproperlyConfigured(
        "RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS is for tests and demos; it is refused in production."
    )

# Hosts of the operator's own services that may be on a private network (signal-cli
# REST, a self-hosted ntfy or Matrix server); comma-separated host names.
RAIDWATCH_TRUSTED_HOSTS = frozenset(
    h.strip().lower() for h in (env_str("RAIDWATCH_TRUSTED_HOSTS") or "").split(",") if h.strip()
)

# Public outputs never show a finer H3 cell than this (SECURITY.md R4); 8 is about 0.7 km².
RAIDWATCH_PUBLIC_RESOLUTION = env_int("RAIDWATCH_PUBLIC_RESOLUTION", 8, minimum=0, maximum=8)
# Precise report locations become unrecoverable after this many hours (R3).
RAIDWATCH_LOCATION_RETENTION_HOURS = env_int(
    "RAIDWATCH_LOCATION_RETENTION_HOURS", 24, minimum=1, maximum=24 * 7
)
# An unverified incident with no new report for this long expires.
RAIDWATCH_UNVERIFIED_EXPIRY_MINUTES = env_int("RAIDWATCH_UNVERIFIED_EXPIRY_MINUTES", 180, minimum=10)
RAIDWATCH_REPORT_ALLOWANCE = env_int("RAIDWATCH_REPORT_ALLOWANCE", 5, minimum=1)
# Two-person rule: an alert that would reach more subscribers than this needs a
# second verifier's sign-off (protects against one hijacked account).
RAIDWATCH_TWO_PERSON_THRESHOLD = env_int("RAIDWATCH_TWO_PERSON_THRESHOLD", 20000, minimum=0)
# Volunteers' movements ("on my way", "arrived", observations) in the audit log
# are redacted after this many days; the chain stays verifiable (R11).
RAIDWATCH_MOVEMENT_RETENTION_DAYS = env_int("RAIDWATCH_MOVEMENT_RETENTION_DAYS", 30, minimum=1)
# How long a verifier's claim on an incident lasts without activity.
RAIDWATCH_CLAIM_MINUTES = env_int("RAIDWATCH_CLAIM_MINUTES", 15, minimum=1, maximum=240)
# Storm limits: new alerts per subscriber per hour (all-clears and corrections always go).
RAIDWATCH_ALERTS_PER_HOUR = env_int("RAIDWATCH_ALERTS_PER_HOUR", 10, minimum=1)
RAIDWATCH_DELIVERY_MAX_ATTEMPTS = env_int("RAIDWATCH_DELIVERY_MAX_ATTEMPTS", 10, minimum=1)
RAIDWATCH_DELIVERY_RETENTION_DAYS = env_int("RAIDWATCH_DELIVERY_RETENTION_DAYS", 30, minimum=1)
# How long a worker's claim on a batch of deliveries lasts before another may take it over.
RAIDWATCH_DELIVERY_LEASE_SECONDS = env_int("RAIDWATCH_DELIVERY_LEASE_SECONDS", 120, minimum=1)
RAIDWATCH_EMBEDDED_WORKER = env_bool("RAIDWATCH_EMBEDDED_WORKER", True)
# The addresses of the operator's own reverse proxies (e.g. "127.0.0.1" for nginx
# on the same host, which must set X-Forwarded-For to $remote_addr). Forwarding
# headers from anyone else are ignored; empty means none are believed.
RAIDWATCH_TRUSTED_PROXIES = tuple(
    h.strip() for h in (env_str("RAIDWATCH_TRUSTED_PROXIES") or "").split(",") if h.strip()
)
# Whose law the rights pages describe by default; readers can switch (?jurisdiction=).
RAIDWATCH_JURISDICTION = env_choice("RAIDWATCH_JURISDICTION", "uk", ("uk", "us"))

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks_db",
    # Sign-in with a mandatory second factor (TOTP, WebAuthn, recovery codes).
    # Not "allauth.usersessions": it stores each session's IP address and user agent (R1).
    "allauth",
    "allauth.account",
    "allauth.mfa",
    # allauth's security-key list uses its template filters ("added 3 days ago").
    "django.contrib.humanize",
    "raidwatch.accounts",
    "raidwatch.jobs",
    "raidwatch.intake",
    "raidwatch.incidents",
    "raidwatch.subscriptions",
    "raidwatch.alerts",
    "raidwatch.public",
    "raidwatch.coordination",
    "raidwatch.rights",
    "raidwatch.media",
]

# The header middleware comes first, so that responses made by the middleware
# inside it (a 413 for a large body, the language redirect) carry the headers too (R13).
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "raidwatch.lib.middleware.BodySizeLimitMiddleware",
    "raidwatch.lib.middleware.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "raidwatch.lib.csrf.SameOriginNullOriginMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # After authentication: refuses anonymous and password-only sessions under /<lang>/volunteer/ (R9).
    "raidwatch.accounts.volunteer.VolunteerAreaMiddleware",
]

ROOT_URLCONF = "raidwatch.urls"
ASGI_APPLICATION = "raidwatch.asgi.application"
AUTH_USER_MODEL = "accounts.Volunteer"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "raidwatch.public.languages.language_menu",
            ],
        },
    },
]

# SQLite by default: WAL so readers never wait for the writer, IMMEDIATE so a
# write transaction takes the lock up front instead of failing half-way with
# "database is locked", secure_delete so deleted rows are overwritten in the file.
_database_url = env_str("DATABASE_URL")
if _database_url:
    try:
        DATABASES = {
            "default": dj_database_url.parse(_database_url, conn_max_age=60, conn_health_checks=True)
        }
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"DATABASE_URL is not a database URL this project understands: {exc}"
        ) from exc
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "raidwatch.sqlite3"),
            # Keep each thread's connection: opening one runs the PRAGMAs below again.
            "CONN_MAX_AGE": None,
            # Tests use a real file too, so WAL and locking behave as in production;
            # one per process, so test runs side by side never share a database.
            "TEST": {"NAME": str(DATA_DIR / f"test-raidwatch-{os.getpid()}.sqlite3")},
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA secure_delete=ON;"
                    "PRAGMA foreign_keys=ON;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One background mechanism: Django's tasks API on a durable database backend.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# PRODUCT.md's seventeen languages, with Babel's facts for those Django lacks.
LANG_INFO.update(languages.django_lang_info())
LANGUAGES = [(code, languages.language(code).english_name) for code in languages.CODES]
LANGUAGES_BIDI = [code for code in languages.CODES if languages.language(code).bidi]
# The reader's choice from the language switcher, remembered without an account.
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = PRODUCTION
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["raidwatch.formats"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env_str("RAIDWATCH_TIME_ZONE", "Europe/London") or "Europe/London"

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# `raidwatch serve` collects static files at start (with gzip and Brotli copies)
# and WhiteNoise serves them from the same process, so the embedded mode needs
# no web server. No manifest: tests and `runserver` work without collecting.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# The contract's body limit: 64 KB for anything posted.
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
RAIDWATCH_MAX_BODY_BYTES = 64 * 1024
# Photos (R7): the photo routes alone take a 10 MB file (plus the 64 KB for the
# rest of the body). Uploads stay in memory, never in a temporary file: no
# handler that writes one, and Django's ASGI handler, which spools a body past
# FILE_UPLOAD_MAX_MEMORY_SIZE to disk, always keeps what the limit lets through.
RAIDWATCH_MAX_PHOTO_BYTES = 10 * 1024 * 1024
RAIDWATCH_MAX_PHOTO_BODY_BYTES = RAIDWATCH_MAX_PHOTO_BYTES + RAIDWATCH_MAX_BODY_BYTES
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = RAIDWATCH_MAX_PHOTO_BODY_BYTES + 1024 * 1024

# Headers every response carries (SECURITY.md R13).
SECURE_REFERRER_POLICY = "no-referrer"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'", CSP.NONCE],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 30 * 60

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("RAIDWATCH_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("RAIDWATCH_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("RAIDWATCH_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading commits the whole registrable domain to HTTPS for months and
        # is the operator's decision, so its absence is not a deployment warning.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = [RAIDWATCH_BASE_URL]

# Logs never carry client addresses: no access log, and Django's request logger
# (which would print the path of a failing request, never the client) stays at WARNING.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # R1's backstop: any address a library puts in a log line is blanked first.
    "filters": {"no_addresses": {"()": "raidwatch.lib.logfilter.DropClientAddresses"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["no_addresses"]}
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "ERROR"},
        "django_tasks_db": {"level": "WARNING"},
        "django.tasks": {"level": "WARNING"},
        # WeasyPrint logs every step of rendering a rights card at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# === Volunteer sign-in (django-allauth with allauth.mfa; SECURITY.md R1, R9) ===
# Username and password, then a second factor that every volunteer must have:
# an authenticator app (TOTP), a security key or passkey (WebAuthn), or a
# one-time recovery code. raidwatch.accounts.volunteer refuses every URL under
# /<lang>/volunteer/ to a session that has not used one.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "volunteer_home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_ADAPTER = "raidwatch.accounts.adapter.AccountAdapter"
MFA_ADAPTER = "raidwatch.accounts.adapter.MFAAdapter"
# The Volunteer model has a username and no email column (R6); nobody signs up,
# volunteers are invited by a coordinator.
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_USER_MODEL_EMAIL_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_EMAIL_NOTIFICATIONS = False
ACCOUNT_PREVENT_ENUMERATION = True
# No "remember me": the session cookie ends with the browser, and the session
# itself after 30 idle minutes whatever the cookie says.
ACCOUNT_SESSION_REMEMBER = False
# Role changes, exports and changes to the second factor need a sign-in this recent.
ACCOUNT_REAUTHENTICATION_TIMEOUT = 5 * 60
# The password step is forgotten if the second factor does not follow within this.
ACCOUNT_LOGIN_TIMEOUT = 5 * 60
# Idle timeout (R9): with SESSION_COOKIE_AGE at 30 minutes (above), every page
# of the volunteer area saves the session (VolunteerAreaMiddleware marks it
# modified), pushing the expiry on, so a session ends 30 minutes after its last
# use there. Not every request: a public page fetched at the same moment (the
# service worker keeping pages for offline reading, another tab) would save the
# copy it loaded and could overwrite a sign-in completed meanwhile.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
# A passkey sign-in always requires user verification (PIN or biometric on the
# device: two factors in one), so it may stand in for password plus code.
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_PASSKEY_SIGNUP_ENABLED = False
# No "trust this browser": every sign-in asks for the second factor.
MFA_TRUST_ENABLED = False
MFA_TOTP_ISSUER = "raidwatch"
# One step either side: a phone clock a few seconds off, or a code typed as it
# rolls over, still works; allauth refuses a code that was already used.
MFA_TOTP_TOLERANCE = 1
MFA_RECOVERY_CODE_COUNT = 10
# WebAuthn's relying party is the public host, never the Host header of a request.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = False
# === end volunteer sign-in ===
