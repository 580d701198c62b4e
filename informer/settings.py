"""Settings for Informer Jobs, read from the environment.

Every knob has a default that runs the embedded configuration (SQLite + django-q2's ORM broker) on one
machine; setting ``DATABASE_URL`` and ``REDIS_URL`` scales it out.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("INFORMER_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    """Return an environment variable as a string."""
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    """Return an environment variable as a boolean (1/true/yes/on)."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean, got {raw!r}.")


def env_int(name: str, default: int) -> int:
    """Return an environment variable as an integer."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}.") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """Return a comma-separated environment variable as a list of non-empty strings."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
PRODUCTION = env_bool("INFORMER_PRODUCTION", False)
if DEBUG and PRODUCTION:
    # Debug mode would quietly undo what production asks for (HTTPS redirects, secure cookies, HSTS,
    # a real SECRET_KEY) and show tracebacks to anyone: refuse rather than guess which one was meant.
    raise ImproperlyConfigured(
        "DEBUG=1 and INFORMER_PRODUCTION=1 cannot be set together: debug mode turns off the production "
        "hardening and the SECRET_KEY requirement. Unset DEBUG in production."
    )
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set in production.")
    # Development and tests only: a fixed key keeps sessions valid across restarts.
    SECRET_KEY = "insecure-development-key-change-me-for-any-real-deployment-0123456789"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "guardian",
    # Before django_q: the first app to define a management command wins, and runs' qcluster wraps
    # django-q2's so that it stops in bounded time.
    "runs",
    "django_q",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "informer",
    "datasets",
    "library",
    "jobs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "informer.api.middleware.ApiErrorMiddleware",
]

ROOT_URLCONF = "informer.urls"
WSGI_APPLICATION = "informer.wsgi.application"
AUTH_USER_MODEL = "informer.User"

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

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'informer.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A PostgreSQL connection costs a new backend process, authentication and cold catalog caches (5-8 ms
    # and as much server CPU, docs/benchmarks.md): keep it for a minute, and check a kept one is still
    # alive before a request or task uses it, so that a database restart costs one reconnect, not an error.
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    # SQLite opens its file in-process (under half a millisecond); the development server's thread per
    # request would leave a kept connection behind in every thread that served one.
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web, scheduler and worker processes read while one writes; IMMEDIATE takes the
        # write lock at BEGIN so two writers queue on the busy timeout instead of failing mid-transaction.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file, not memory, so that integration tests can share the test database with the scheduler
    # and worker processes they start.
    # One file per test session, so that concurrent sessions on one checkout do not collide.
    DATABASES["default"]["TEST"] = {"NAME": env_str("SQLITE_TEST_NAME", str(VAR_DIR / f"test-{os.getpid()}.sqlite3"))}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
GUARDIAN_RAISE_403 = False
GUARDIAN_RENDER_403 = False
ANONYMOUS_USER_NAME = None  # no anonymous object permissions: anonymous requests get 401

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Times in the admin show their seconds and zone (2026-12-03 07:41:05 UTC), not "Dec. 3, 2026, 7:41 a.m.".
FORMAT_MODULE_PATH = ["informer.formats"]

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
LOGIN_URL = "/admin/login/"

# --- Email --------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if env_str("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "informer@localhost")

# --- Security (production) ----------------------------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", SECURE_SSL_REDIRECT)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", SECURE_SSL_REDIRECT)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SECURE_SSL_REDIRECT else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", SECURE_HSTS_SECONDS > 0)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY") else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- API ----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Bearer first: its WWW-Authenticate header is what turns an anonymous request into a 401.
        "informer.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "informer.api.pagination.HalPagination",
    "DEFAULT_FILTER_BACKENDS": [
        "informer.api.filters.SearchFilter",
        "informer.api.filters.SortFilter",
        "django_filters.rest_framework.DjangoFilterBackend",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "informer.api.parsers.JSONParser",
        "informer.api.parsers.FormParser",
        "informer.api.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "informer.api.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": False,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_THROTTLE_RATES": {"login": env_str("INFORMER_LOGIN_RATE", "20/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Informer Jobs API",
    "DESCRIPTION": "Scheduled jobs made of ordered actions, compatible with Informer's Job API.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {},
    "APPEND_COMPONENTS": {},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "informer.api.schema.add_error_responses",
    ],
}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Informer -----------------------------------------------------------------------------------
INFORMER_DEFAULT_TENANT_SLUG = "default"
INFORMER_TOKEN_LAST_USED_RESOLUTION = env_int("INFORMER_TOKEN_LAST_USED_RESOLUTION", 60)
INFORMER_MAX_PAGE_SIZE = 1000
INFORMER_JSON_MAX_DEPTH = env_int("INFORMER_JSON_MAX_DEPTH", 64)  # levels of arrays/objects in a request
INFORMER_OUTBOUND_ALLOW = env_list("INFORMER_OUTBOUND_ALLOW", [])
INFORMER_MISFIRE_GRACE = env_int("INFORMER_MISFIRE_GRACE", 60)
INFORMER_HEARTBEAT_SECONDS = env_int("INFORMER_HEARTBEAT_SECONDS", 10)
INFORMER_WORKER_TIMEOUT = env_int("INFORMER_WORKER_TIMEOUT", 60)
INFORMER_MAX_CONCURRENT_RUNS = env_int("INFORMER_MAX_CONCURRENT_RUNS", 50)
INFORMER_ATTACHMENT_MAX_BYTES = env_int("INFORMER_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
# Uploads beyond this spill to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
INFORMER_HISTORY_KEEP = env_int("INFORMER_HISTORY_KEEP", 500)
INFORMER_HISTORY_MAX_AGE_DAYS = env_int("INFORMER_HISTORY_MAX_AGE_DAYS", 90)

# Datasets (§8). Secrets at rest are sealed under INFORMER_SECRETS_KEY, or SECRET_KEY when it is unset.
INFORMER_SECRETS_KEY = env_str("INFORMER_SECRETS_KEY")
INFORMER_DATASOURCE_ROOT = Path(env_str("INFORMER_DATASOURCE_ROOT", str(VAR_DIR / "datasources")))
# Hosts (names, addresses or networks) a datasource may reach although the address guard refuses them.
INFORMER_DATASOURCE_ALLOW = env_list("INFORMER_DATASOURCE_ALLOW", [])
INFORMER_QUERY_TIMEOUT = env_int("INFORMER_QUERY_TIMEOUT", 300)  # seconds per statement on a datasource
INFORMER_DATASET_MAX_ROWS = env_int("INFORMER_DATASET_MAX_ROWS", 1_000_000)
INFORMER_DATASET_MAX_BYTES = env_int("INFORMER_DATASET_MAX_BYTES", 1024**3)

# Libraries (§9): local libraries live under the root; files beyond the size are listed as skipped.
INFORMER_LIBRARY_ROOT = Path(env_str("INFORMER_LIBRARY_ROOT", str(VAR_DIR / "library")))
INFORMER_LIBRARY_MAX_FILE_BYTES = env_int("INFORMER_LIBRARY_MAX_FILE_BYTES", 100 * 1024 * 1024)
INFORMER_LIBRARY_MAX_TEXT_CHARS = env_int("INFORMER_LIBRARY_MAX_TEXT_CHARS", 5_000_000)  # text kept per file
INFORMER_LIBRARY_MAX_INDEX_BYTES = env_int("INFORMER_LIBRARY_MAX_INDEX_BYTES", 50 * 1024 * 1024)  # larger: not indexed
INFORMER_VECTOR_CACHE_MB = env_int("INFORMER_VECTOR_CACHE_MB", 512)  # exact search: vectors kept per process

REDIS_URL = env_str("REDIS_URL")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # URL credentials (and, during a run, its header values) never reach the logs, tracebacks included.
    "filters": {"redact": {"()": "informer.redaction.RedactingFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- django-q2 ----------------------------------------------------------------------------------
# Our own tables hold run results and our own attempt counter drives retries, so django-q2 keeps no
# successes, never retries on its own and gets a timeout longer than any run's lease can last: a job
# may ask for up to 7 days (Job.timeout_seconds), which our executor enforces itself; django-q2
# killing the worker earlier would contradict it. ``retry`` above the timeout keeps the ORM broker
# from handing out a task that is still running.
_LONGEST_JOB_TIMEOUT = 7 * 86400
_TASK_TIMEOUT = env_int("INFORMER_TASK_TIMEOUT", _LONGEST_JOB_TIMEOUT + 3600)
if _TASK_TIMEOUT <= _LONGEST_JOB_TIMEOUT:
    raise ImproperlyConfigured(
        f"INFORMER_TASK_TIMEOUT must exceed the longest job timeout ({_LONGEST_JOB_TIMEOUT} s), got {_TASK_TIMEOUT}."
    )
# A queued run still queued this many seconds after it was enqueued, while the broker holds nothing,
# is enqueued again by the dispatcher: its message was lost (a cluster killed with tasks it had taken
# from the broker, which the Redis broker forgets and the ORM broker hands out again only after
# ``retry``, a week away; a flushed broker; a crash between commit and enqueue). It cannot be
# django-q2's ``retry``, which must stay above the timeout. A second delivery of a run does nothing
# (its claim is a conditional update), so a short wait is safe: it costs one no-op delivery for a
# run that was only behind a busy worker. Below a second it would be shorter than the scheduler's
# pass, and than a task's normal way from the broker to a worker.
INFORMER_REDELIVER_AFTER = env_int("INFORMER_REDELIVER_AFTER", 10)
if not 1 <= INFORMER_REDELIVER_AFTER <= 3600:
    raise ImproperlyConfigured(
        f"INFORMER_REDELIVER_AFTER must be between 1 and 3600 seconds, got {INFORMER_REDELIVER_AFTER}."
    )
Q_CLUSTER: dict[str, object] = {
    "name": env_str("INFORMER_CLUSTER_NAME", "informer"),
    "workers": env_int("INFORMER_WORKERS", 2),
    "timeout": _TASK_TIMEOUT,
    "retry": _TASK_TIMEOUT + 60,
    "max_attempts": 1,
    "save_limit": -1,
    "ack_failures": True,
    "catch_up": False,
    "poll": 0.2,
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
