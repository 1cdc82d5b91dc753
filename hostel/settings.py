"""Settings for hostel: one file, driven by the environment (see README, "Settings").

SQLite (WAL, IMMEDIATE transactions) by default; PostgreSQL when DATABASE_URL says so.
With DEBUG off the process refuses to start without SECRET_KEY and LEDGER_HMAC_KEY.
"""

import re
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

from hostel import devsecrets, envconfig, logs

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

# Development is the default, as in healthchecks: a fresh clone runs with no setup.
# Production sets DEBUG=false, and then every secret below must come from the environment.
DEBUG = env.bool("DEBUG", default=True)

_dev_secrets: dict[str, str] = {}
if DEBUG and not (env.str("SECRET_KEY", default="") and env.str("LEDGER_HMAC_KEY", default="")):
    VAR_DIR.mkdir(exist_ok=True)
    _dev_secrets = devsecrets.load_or_create(BASE_DIR / ".dev-secrets.env")


def _secret(name: str) -> str:
    value = env.str(name, default="") or _dev_secrets.get(name, "")
    if not value:
        raise ImproperlyConfigured(
            f"{name} is not set. With DEBUG off, hostel refuses to start without it "
            f"(see README, Settings)."
        )
    return value


SECRET_KEY = _secret("SECRET_KEY")
# Old keys still accepted when checking signatures (QR passes, sessions) after a rotation.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Behind reverse proxies the connection comes from the nearest one: count those to trust; the
# client is the address the outermost of them appended to X-Forwarded-For (lockouts, throttles).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework_simplejwt",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "hostel",  # the project's own commands (db_grant)
    "ledger",
    "alerts",
    "residents",
    "leaves",
    "visitors",
    "reports",
]

MIDDLEWARE = [
    "hostel.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "hostel.security.PermissionsPolicyMiddleware",
    "hostel.security.DebugOnlyOnLoopback",  # with DEBUG on: technical pages for localhost only
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "hostel.urls"
WSGI_APPLICATION = "hostel.wsgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------

# SQLITE_BUSY_TIMEOUT (s), DATABASE_LOCK_TIMEOUT (s), CONN_MAX_AGE and
# DATABASE_DISABLE_SERVER_SIDE_CURSORS complete DATABASE_URL (hostel/envconfig.py).
DATABASES = {
    "default": envconfig.database(
        env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'hostel.sqlite3'}"),
        env,
        # Two test runs at once (two checkouts' worth of work) each name their own.
        test_name=env.str("HOSTEL_TEST_DATABASE", default=str(VAR_DIR / "test-hostel.sqlite3")),
    )
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- The ledger -----------------------------------------------------------------------------

# LEDGER_HMAC_KEY signs new blocks under LEDGER_HMAC_KEY_ID; old keys only verify.
LEDGER_SIGNING_KEY_ID, LEDGER_HMAC_KEYS = envconfig.ledger_keys(
    env.str("LEDGER_HMAC_KEY_ID", default="k1"),
    _secret("LEDGER_HMAC_KEY"),
    env.list("LEDGER_HMAC_OLD_KEYS", default=[]),
)
LEDGER_APPEND_ATTEMPTS = env.int("LEDGER_APPEND_ATTEMPTS", default=8)
# The Ed25519 public key (base64) that checkpoints must be signed with; its private key is
# held away from this server. Empty: verify_chain --checkpoint needs --checkpoint-key.
LEDGER_CHECKPOINT_PUBLIC_KEY = env.str("LEDGER_CHECKPOINT_PUBLIC_KEY", default="")
# Witnesses (python -m ledger.witness, run by others) that `ledger_checkpoint create` asks to
# cosign each checkpoint, and their public keys by name, for verify_chain's split-view check:
# LEDGER_WITNESS_URLS=https://w1.example/,https://w2.example/
# LEDGER_WITNESS_KEYS=it-office=BASE64,parents=BASE64
LEDGER_WITNESS_URLS = env.list("LEDGER_WITNESS_URLS", default=[])
LEDGER_WITNESS_KEYS = env.dict("LEDGER_WITNESS_KEYS", default={})

# --- Auth, i18n, files ----------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
# Production serves collected files with hashed names, compressed and cached for a year
# (WhiteNoise); development and the tests serve the source folders as they are.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "hostel.storage.StaticStorage"
    },
}
if DEBUG:  # runserver serves the source folders; WhiteNoise need not find collected files
    warnings.filterwarnings("ignore", "No directory at", UserWarning, "whitenoise.base")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")

# --- The gate -------------------------------------------------------------------------------

# A second scan of the same resident within this many seconds is refused and records nothing.
SCAN_DEBOUNCE_SECONDS = env.int("SCAN_DEBOUNCE_SECONDS", default=10)
# Local time (HH:MM) after which residents who are out are listed on the dashboard; empty: off.
CURFEW = env.str("CURFEW", default="23:00")
# Visitors: photos kept this many days; after this local time those still inside are a warning.
VISITOR_RETENTION_DAYS = env.int("VISITOR_RETENTION_DAYS", default=30)
VISITORS_CLOSE = env.str("VISITORS_CLOSE", default="21:00")
if VISITORS_CLOSE and not re.fullmatch(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]", VISITORS_CLOSE):
    raise ImproperlyConfigured(f"VISITORS_CLOSE must be HH:MM (or empty), not {VISITORS_CLOSE!r}")
# Wardens (with an email address) are told when denied attempts reach this many in an hour.
DENIED_ALERT_PER_HOUR = env.int("DENIED_ALERT_PER_HOUR", default=10)
if CURFEW and not re.fullmatch(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]", CURFEW):
    raise ImproperlyConfigured(f"CURFEW must be a local time as HH:MM (or empty), not {CURFEW!r}")

# Face scans (bench/biometrics.py measured these on real photos; README, "Face recognition"):
# accepted below this Euclidean distance, and only this much closer than the next resident.
FACE_MATCH_THRESHOLD = env.float("FACE_MATCH_THRESHOLD", default=0.50)
FACE_MATCH_MARGIN = env.float("FACE_MATCH_MARGIN", default=0.05)
# A face scan asks the resident to turn their head (residents.biometrics.liveness), so that a
# photo held up to the camera cannot pass; a gate can differ (Gate.face_liveness, the admin).
FACE_LIVENESS = env.bool("FACE_LIVENESS", default=True)

# Voice scans: accepted above this cosine similarity (and, 1:N, this much above the next).
VOICE_MATCH_THRESHOLD = env.float("VOICE_MATCH_THRESHOLD", default=0.70)
VOICE_MATCH_MARGIN = env.float("VOICE_MATCH_MARGIN", default=0.05)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Photos and voice samples are never public: they are served by a view to logged-in staff.
# In production the web server can send them after the view says yes (README, "Media").
PROTECTED_MEDIA_ACCEL_PREFIX = env.str("PROTECTED_MEDIA_ACCEL_PREFIX", default="")
PROTECTED_MEDIA_SENDFILE = env.bool("PROTECTED_MEDIA_SENDFILE", default=False)
# Form fields other than files: the register form carries the photos and recordings that
# passed their checks back in hidden fields when it comes back with an error (up to 5 photos
# of about 0.3 MB and 3 recordings of 30 s, 0.96 MB each as WAV: about 5.5 MB in base64).
# Django's 2.5 MB default refused the corrected form with a 400 and lost it.
DATA_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024
FILE_UPLOAD_PERMISSIONS = 0o640
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o2750  # the web server's group may read (X-Accel)

# --- REST API -------------------------------------------------------------------------------

REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["hostel.parsers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "hostel.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "hostel.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = [
    "hostel.throttles.AnonRateThrottle",
    "hostel.throttles.UserRateThrottle",
    "hostel.throttles.ScopedRateThrottle",
]
# The client address behind TRUSTED_PROXY_COUNT proxies (DRF otherwise takes the whole
# X-Forwarded-For header, which a client can vary at will to escape its throttle).
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXY_COUNT
THROTTLE_LOGIN = env.str("THROTTLE_LOGIN", default="20/min")
THROTTLE_PASSWORD_RESET = env.str("THROTTLE_PASSWORD_RESET", default="5/hour")
# Leave asked for through a pass's link (no login): per address and per link.
THROTTLE_LEAVE_LINK = env.str("THROTTLE_LEAVE_LINK", default="10/hour")
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "anon": env.str("THROTTLE_ANON", default="120/min"),
    "user": env.str("THROTTLE_USER", default="1200/min"),
    "login": THROTTLE_LOGIN,  # /api/token (and the login pages), per client address
    "refresh": env.str("THROTTLE_REFRESH", default="60/min"),  # /api/token/refresh, likewise
    "scan": env.str("THROTTLE_SCAN", default="300/min"),  # /api/scan, per staff member
    "verify": env.str("THROTTLE_VERIFY", default="4/hour"),  # POST /api/ledger/verify
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(hours=env.int("JWT_REFRESH_HOURS", default=24)),
    "UPDATE_LAST_LOGIN": True,
    # Tokens carry a fingerprint of the password hash: a changed password voids them.
    "CHECK_REVOKE_TOKEN": True,
    "TOKEN_REFRESH_SERIALIZER": "hostel.auth.TokenRefreshSerializer",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "hostel API",
    "DESCRIPTION": "Residents, gate scans and the tamper-evident ledger.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Two "status" choice sets: a resident's (IN/OUT) and a leave's.
    "ENUM_NAME_OVERRIDES": {
        "ResidentStatusEnum": "residents.models.Resident.Status",
        "LeaveStatusEnum": "leaves.models.Leave.Status",
    },
    "PREPROCESSING_HOOKS": ["hostel.schema.without_slash_twins"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "hostel.schema.with_error_responses",
    ],
}

# --- Mail (verify_chain --mail-admins) ------------------------------------------------------

ADMINS = [(address.split("@")[0], address) for address in env.list("ADMINS", default=[])]
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
SERVER_EMAIL = env.str("SERVER_EMAIL", default="hostel@localhost")
DEFAULT_FROM_EMAIL = SERVER_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)  # a slow mail server must not hang a worker
# Error mails carry no form or upload data: residents' details stay out of inboxes.
DEFAULT_EXCEPTION_REPORTER_FILTER = "hostel.logs.NoRequestDataFilter"

# --- Security ----------------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out login before checking it
    "hostel.auth.ModelBackend",  # Django's, with one permission query instead of two
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "hostel.auth.locked_out"
AXES_CLIENT_IP_CALLABLE = "hostel.auth.client_address"

# Scripts, styles, images, media and requests come from this site only; nothing inline.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^health$"]  # load balancers probe over plain HTTP
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = logs.config(
    json=env.bool("LOG_JSON", default=not DEBUG), level=env.str("LOG_LEVEL", default="INFO")
)
