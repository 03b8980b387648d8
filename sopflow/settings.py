"""sopflow settings.

Everything that differs between a laptop and production comes from the environment. With nothing
set, sopflow runs on a SQLite file in the project folder with DEBUG on, which is what `make run`
uses. Production sets DATABASE_URL (PostgreSQL), SECRET_KEY, DEBUG=0 and ALLOWED_HOSTS.
"""

import datetime
import os
import warnings
from email.utils import getaddresses
from pathlib import Path

import dj_database_url
from cryptography.utils import CryptographyDeprecationWarning
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

# pyHanko imports cryptography's DSA key type, which every process then warns about at start.
# sopflow signs with RSA and never meets DSA; every other deprecation still shows.
warnings.filterwarnings(
    "ignore",
    message="DSA is deprecated",
    category=CryptographyDeprecationWarning,
    module=r"pyhanko\.",
)

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name, default=None):
    return os.environ.get(name, default)


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_int(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def env_list(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-local-development-key-only"

# The key of the event log's hash chain (HMAC-SHA256, activities/core/chain.py): kept outside
# the database, so that a history rewritten in the database cannot be given hashes that verify.
# Never change it once events are written with it; keep a copy apart from the database backups.
SOPFLOW_CHAIN_KEY = env("SOPFLOW_CHAIN_KEY")
if SOPFLOW_CHAIN_KEY and len(SOPFLOW_CHAIN_KEY) < 32:
    raise ImproperlyConfigured("SOPFLOW_CHAIN_KEY must be at least 32 characters")
if not SOPFLOW_CHAIN_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SOPFLOW_CHAIN_KEY must be set when DEBUG is off")
    SOPFLOW_CHAIN_KEY = "insecure-local-development-chain-key-only"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
CSRF_FAILURE_VIEW = "activities.views.errors.csrf_failure"

INSTALLED_APPS = [
    "activities",
    "axes",
    "simple_history",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "bootstrap",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    # The REST API (/api/v1/); its documentation page's Swagger UI comes from its static files.
    "ninja",
]
# Benchmark data (bench/seeding: `manage.py seed_scale`): a development app, installed with
# DEBUG on or SOPFLOW_BENCH=1 (the benchmark scripts set it), never in production.
if DEBUG or env_bool("SOPFLOW_BENCH", False):
    INSTALLED_APPS.append("bench.seeding")

MIDDLEWARE = [
    # First: an oversize body is refused before anything reads it.
    "activities.middleware.RequestSizeLimitMiddleware",
    "activities.middleware.NulInQueryMiddleware",
    "activities.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "activities.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "activities.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "activities.middleware.HtmxLoginRedirectMiddleware",
    "activities.middleware.PrivatePagesMiddleware",
    "activities.middleware.IdleSessionMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "sopflow.urls"

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
                "activities.context_processors.navigation",
            ],
        },
    },
    {
        # Plain text (mail subjects and bodies, webhook texts): rendered without HTML escaping.
        "NAME": "text",
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates" / "text"],
        "OPTIONS": {"autoescape": False},
    },
]

WSGI_APPLICATION = "sopflow.wsgi.application"

# SQLite is the embedded default for a first run; DATABASE_URL=postgres://… is production.
# IMMEDIATE transactions make SQLite take its write lock at BEGIN, so two racing transitions
# queue up instead of failing with "database is locked" (SQLite ignores select_for_update).
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
# How long a statement waits for a row lock on PostgreSQL before it gives up (a transition
# then says "try again"; activities/core/locking.py). Set when the connection starts, so no
# transition spends a query on it.
SOPFLOW_LOCK_TIMEOUT_MS = env_int("SOPFLOW_LOCK_TIMEOUT_MS", 5000)
# Parallel workers per query on PostgreSQL. A page reads a few dozen rows through its indexes;
# a parallel plan only adds the start of its workers (about 5 ms) and takes the cores the other
# requests need, and its lower estimated cost made the planner prefer a scan of every active
# round to the inbox's index. 0 unless an installation that runs big reports wants them.
SOPFLOW_DB_PARALLEL_WORKERS = env_int("SOPFLOW_DB_PARALLEL_WORKERS", 0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        f"-c lock_timeout={SOPFLOW_LOCK_TIMEOUT_MS} "
        f"-c max_parallel_workers_per_gather={SOPFLOW_DB_PARALLEL_WORKERS}"
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One cache shared by every worker and server, in the database (no service of its own): rate
# limits count across processes. Its table is made by a migration. The unit calendars keep
# their own per-process cache (activities/models/units.py).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "sopflow_cache",
        # Rate-limit counters are culled once the table holds this many entries: room for a
        # flood from many addresses without forgetting the counts that matter.
        "OPTIONS": {"MAX_ENTRIES": 5000},
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-axes first: it refuses a login for a locked-out account or address before the
# password is even checked. The attempts are rows in the database, so the count holds across
# every gunicorn worker and server.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failures count per username and address pair: a guesser cannot lock an account for its
# owner at another computer. One address trying many usernames is locked at the much higher
# SOPFLOW_LOGIN_ADDRESS_LIMIT, so one office behind one NAT is not one lock
# (activities/throttling.py).
AXES_HANDLER = "activities.throttling.LoginAttempts"
AXES_FAILURE_LIMIT = env_int("SOPFLOW_LOGIN_FAILURE_LIMIT", 5)
SOPFLOW_LOGIN_ADDRESS_LIMIT = env_int("SOPFLOW_LOGIN_ADDRESS_LIMIT", 50)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("SOPFLOW_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "activities.throttling.axes_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
# Behind N reverse proxies (nginx in front of gunicorn: 1) the client's address is the one the
# outermost proxy appended to X-Forwarded-For; with none, the connection's (a forged header
# then changes nothing). Every per-address limit reads it the same way.
SOPFLOW_PROXY_COUNT = env_int("SOPFLOW_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "activities.throttling.client_address"
RATELIMIT_IP_META_KEY = "activities.throttling.client_address"

# Sessions end at the latest after SOPFLOW_SESSION_HOURS, and after SOPFLOW_IDLE_MINUTES
# without a request on a shared office PC (`activities.middleware.IdleSessionMiddleware`).
SESSION_COOKIE_AGE = env_int("SOPFLOW_SESSION_HOURS", 10) * 3600
# Django's database sessions, their query built once per session (activities/sessions.py).
SESSION_ENGINE = "activities.sessions"
SOPFLOW_IDLE_MINUTES = env_int("SOPFLOW_IDLE_MINUTES", 30)
# Password reset mails: at most this many per address and per client address in an hour.
SOPFLOW_RESET_MAILS_PER_HOUR = env_int("SOPFLOW_RESET_MAILS_PER_HOUR", 3)
PASSWORD_RESET_TIMEOUT = 3600 * 2

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "inbox"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "id"
LANGUAGES = [("id", _("Bahasa Indonesia")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Jakarta"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", BASE_DIR / "media"))

STORAGES = {
    "default": {"BACKEND": env("FILE_STORAGE", "django.core.files.storage.FileSystemStorage")},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

WHITENOISE_USE_FINDERS = DEBUG

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "sopflow <sopflow@localhost>")
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000")
# A mail server that hangs must not hold a worker for ever: SMTP gives up after this many seconds.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)

# Background work (activities/background/tasks.py): PostgreSQL (or the SQLite file) is the queue and
# `manage.py db_worker` runs it. Tests use the immediate backend (tests/conftest.py).
# Deliveries to other people's servers (the webhook) have a queue of their own and a worker of
# their own (`db_worker --queue-name outside`), so a slow receiver never delays the rest.
SOPFLOW_OUTSIDE_QUEUE = "outside"
TASKS = {
    "default": {
        "BACKEND": env("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default", SOPFLOW_OUTSIDE_QUEUE],
    }
}
# A task still marked running this long after it started is taken to have lost its worker
# (killed, machine gone) and is queued again; every task is idempotent, so that is safe.
SOPFLOW_TASK_STALE_SECONDS = env_int("SOPFLOW_TASK_STALE_SECONDS", 15 * 60)
# A period report prepared in the background can be downloaded for this long; then the
# scheduler deletes its file and the page offers to prepare it again.
SOPFLOW_PERIOD_REPORT_KEEP_HOURS = env_int("SOPFLOW_PERIOD_REPORT_KEEP_HOURS", 24)

# The deadline sweep (activities/time/deadlines.py, every few minutes from the scheduler).
# A reminder when this share (percent) of a step's standard has passed, and when it is due.
SOPFLOW_REMINDER_PERCENT = env_int("SOPFLOW_REMINDER_PERCENT", 80)
# Escalation to the superior of the step's role once it is this many office minutes overdue,
# to the next superior after twice as long, and so on up the chain.
SOPFLOW_ESCALATION_MINUTES = env_int("SOPFLOW_ESCALATION_MINUTES", 60)
# The morning digest (local time, WIB) on working days.
SOPFLOW_DIGEST_TIME = env("SOPFLOW_DIGEST_TIME", "07:00")
SOPFLOW_SWEEP_MINUTES = env_int("SOPFLOW_SWEEP_MINUTES", 5)

# Notifications: in-app always; these outside channels besides (activities/notifications.py).
SOPFLOW_NOTIFICATION_CHANNELS = env_list("SOPFLOW_NOTIFICATION_CHANNELS", ["email"])
SOPFLOW_WEBHOOK_URL = env("SOPFLOW_WEBHOOK_URL", "")
SOPFLOW_WEBHOOK_SECRET = env("SOPFLOW_WEBHOOK_SECRET", "")
# Seconds a webhook receiver has to answer; a slow one is retried later rather than waited for.
SOPFLOW_WEBHOOK_TIMEOUT = env_int("SOPFLOW_WEBHOOK_TIMEOUT", 5)
# The REST API: requests per key (django-ratelimit's "N/s|m|h"), how long a new key is valid
# unless chosen otherwise.
SOPFLOW_API_RATE = env("SOPFLOW_API_RATE", "120/m")
# How often the scheduler has new events turned into webhook deliveries (the scheduler itself
# wakes every 15 s).
SOPFLOW_WEBHOOK_DISPATCH_SECONDS = env_int("SOPFLOW_WEBHOOK_DISPATCH_SECONDS", 15)
if "webhook" in SOPFLOW_NOTIFICATION_CHANNELS and not (
    SOPFLOW_WEBHOOK_URL and SOPFLOW_WEBHOOK_SECRET
):
    raise ImproperlyConfigured(
        "the webhook channel needs SOPFLOW_WEBHOOK_URL and SOPFLOW_WEBHOOK_SECRET"
    )

SERVER_EMAIL = env("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
# ADMINS="Nama <admin@example.go.id>, Lain <lain@example.go.id>": they get a mail for every
# server error (500) when DEBUG is off.
ADMINS = getaddresses([env("ADMINS", "")]) if env("ADMINS") else []

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # The load balancer's health probe may speak plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# Every line: time, level, the request's id (X-Request-ID, also sent back in the response),
# logger and message.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "activities.request_id.RequestIdFilter"},
        "quiet_refusals": {"()": "activities.logs.QuietRefusalFilter"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "plain",
        },
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false"],
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # An expected 403 or 404 is one INFO line without its traceback (quiet_refusals).
        "django.request": {
            "handlers": ["console", "mail_admins"],
            "filters": ["quiet_refusals"],
            "level": "WARNING",
            "propagate": False,
        },
        # WeasyPrint reports every rendering stage at INFO.
        "weasyprint": {"level": "WARNING"},
        # django-axes says hello at INFO on every start; lockouts are WARNINGs.
        "axes": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# sopflow's own settings.
SOPFLOW_UPLOAD_MAX_BYTES = env_int("SOPFLOW_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
SOPFLOW_UPLOAD_STEP_MAX_BYTES = env_int("SOPFLOW_UPLOAD_STEP_MAX_BYTES", 50 * 1024 * 1024)
# The largest request body: one step's attachments plus 1 MB for the form around them.
SOPFLOW_REQUEST_MAX_BYTES = env_int(
    "SOPFLOW_REQUEST_MAX_BYTES", SOPFLOW_UPLOAD_STEP_MAX_BYTES + 1024 * 1024
)
# Form fields (not files) held in memory, and how many fields and files one request may carry:
# beyond these Django refuses the request with 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 300
DATA_UPLOAD_MAX_NUMBER_FILES = 50
SOPFLOW_PARENT_GOVERNMENT = "Pemerintah Kota Tangerang"
# The unit (its short name) whose kop and head a period report over several units carries: the
# city's organisation bureau (Bagian Organisasi of the Sekretariat Daerah), which coordinates the
# SOP AP of every perangkat daerah (docs/DESIGN.md, "Who signs a report over several units").
# "" or a name no unit has: the report carries the government's kop alone, and no signature.
SOPFLOW_CITY_UNIT = env("SOPFLOW_CITY_UNIT", "Organisasi")

# Electronic signature of the archived laporan (activities/documents/signing.py): a PKCS#12 file and its
# password, or a remote signing service (dotted path of a factory); neither: stored unsigned.
SOPFLOW_SIGNING_PKCS12 = env("SOPFLOW_SIGNING_PKCS12", "")
SOPFLOW_SIGNING_PASSWORD = env("SOPFLOW_SIGNING_PASSWORD", "")
SOPFLOW_SIGNING_SERVICE = env("SOPFLOW_SIGNING_SERVICE", "")
SOPFLOW_SIGNING_TRUST_ROOTS = env_list("SOPFLOW_SIGNING_TRUST_ROOTS", [])
# The officials' own electronic signatures (TTE) on the laporan (activities/documents/tte.py):
# "pkcs12" (a folder of <NIP>.p12 files, the demo), "esign" (BSrE's Esign Client API at
# SOPFLOW_ESIGN_URL with its client account), or "" (the office seal alone, no personal TTE).
SOPFLOW_TTE_SERVICE = env("SOPFLOW_TTE_SERVICE", "")
SOPFLOW_TTE_PKCS12_DIR = env("SOPFLOW_TTE_PKCS12_DIR", str(BASE_DIR / "var" / "demo-tte"))
SOPFLOW_ESIGN_URL = env("SOPFLOW_ESIGN_URL", "")
SOPFLOW_ESIGN_USERNAME = env("SOPFLOW_ESIGN_USERNAME", "")
SOPFLOW_ESIGN_PASSWORD = env("SOPFLOW_ESIGN_PASSWORD", "")
# One signing request waits this long; it is never repeated automatically.
SOPFLOW_ESIGN_TIMEOUT = float(env("SOPFLOW_ESIGN_TIMEOUT", "30"))
# The trusted timestamp (RFC 3161) of every signature: the timestamp authority's URL (empty: no
# timestamp, PAdES B-B) and how long to wait for it; whether the signer may fetch the chain's
# revocation data (CRL/OCSP) to embed it (PAdES B-LT).
SOPFLOW_TSA_URL = env("SOPFLOW_TSA_URL", "")
SOPFLOW_TSA_TIMEOUT = env_int("SOPFLOW_TSA_TIMEOUT", 10)
SOPFLOW_TSA_TRUST_ROOTS = env_list("SOPFLOW_TSA_TRUST_ROOTS", [])
# `make run` only: run_all serves the demo timestamp authority (keys in this folder) at
# SOPFLOW_TSA_URL's host and port (activities/documents/demo_tsa.py). Never in production.
SOPFLOW_DEMO_TSA_DIR = env("SOPFLOW_DEMO_TSA_DIR", "")
SOPFLOW_SIGNING_FETCH_REVOCATION = env_bool("SOPFLOW_SIGNING_FETCH_REVOCATION", True)
# The number of a naskah (activities/documents/register.py): {klasifikasi}, {urut} (the yearly
# sequence of the unit), {unit} (the unit's short name) and {tahun}; the kode klasifikasi used
# when neither the run nor its SOP names one.
SOPFLOW_NOMOR_NASKAH_FORMAT = env(
    "SOPFLOW_NOMOR_NASKAH_FORMAT", "{klasifikasi}/{urut}/{unit}/{tahun}"
)
SOPFLOW_DEFAULT_KLASIFIKASI = env("SOPFLOW_DEFAULT_KLASIFIKASI", "000")
# The public /verifikasi/ page: requests per minute and address (django-ratelimit, counting in
# the shared database cache, so every worker and server sees one count).
SOPFLOW_VERIFY_RATE = env("SOPFLOW_VERIFY_RATE", "30/m")
SOPFLOW_VERIFY_UPLOAD_RATE = env("SOPFLOW_VERIFY_UPLOAD_RATE", "10/m")
SOPFLOW_VERIFY_UPLOAD_MAX_BYTES = env_int("SOPFLOW_VERIFY_UPLOAD_MAX_BYTES", 30 * 1024 * 1024)
# Where the admin lives, e.g. "kelola-7f3a/" to keep it off the well-known path.
SOPFLOW_ADMIN_PATH = env("SOPFLOW_ADMIN_PATH", "admin/").strip("/") + "/"
