"""The one settings module. Everything comes from the environment through django-environ.

With no environment at all mpbraze runs on embedded defaults: SQLite, a filesystem Celery
broker and development secrets generated once into ``.local/dev-secrets.env`` (git-ignored).
``DATABASE_URL`` / ``REDIS_URL`` switch to PostgreSQL and Redis; ``DEBUG=0`` is production and
refuses to start without ``SECRET_KEY`` and ``MPBRAZE_ENCRYPTION_KEYS``.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import secrets
from pathlib import Path

import django_stubs_ext
import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

# Django's generic classes (ModelAdmin[Delivery], ModelForm[ApiToken]) take at run time the type
# arguments django-stubs gives them for mypy.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
LOCAL_DIR = Path(env.str("MPBRAZE_LOCAL_DIR", default=str(BASE_DIR / ".local")))
LOCAL_DIR.mkdir(parents=True, exist_ok=True)  # beat's schedule and dev state live here
# Prometheus metrics (/metrics): every process (gunicorn and Celery workers) writes its counters
# to files of its own here, summed at each scrape. Processes that report together share it;
# prometheus-client reads it from the environment. `make run` empties it when it starts.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="") or str(
    LOCAL_DIR / "metrics"
)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = PROMETHEUS_MULTIPROC_DIR
Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=True)


def _development_secrets() -> dict[str, str]:
    """Read, or create once, the git-ignored file of development-only secrets."""
    path = LOCAL_DIR / "dev-secrets.env"
    if not path.exists():
        LOCAL_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
            f"MPBRAZE_ENCRYPTION_KEYS={Fernet.generate_key().decode()}\n"
        )
        path.chmod(0o600)
    if "MPBRAZE_DSR_CALLBACK_SECRET=" not in path.read_text():  # a file from before erasures
        with path.open("a") as secrets_file:
            key = base64.b64encode(secrets.token_bytes(32)).decode()
            secrets_file.write(f"MPBRAZE_DSR_CALLBACK_SECRET=whsec_{key}\n")
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def _required_secret(name: str) -> str:
    value: str = env.str(name, default="")
    if value:
        return value
    if not DEBUG:
        raise ImproperlyConfigured(f"{name} must be set when DEBUG is off.")
    return _development_secrets()[name]


SECRET_KEY = _required_secret("SECRET_KEY")
MPBRAZE_ENCRYPTION_KEYS = [
    key.strip() for key in _required_secret("MPBRAZE_ENCRYPTION_KEYS").split(",") if key.strip()
]

# The host names this instance answers for; required in production (no default to forget).
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
if not DEBUG and not env.str("ALLOWED_HOSTS", default="").strip():
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "mpbraze.csrf.csrf_failure"  # the product's 403 page, not Django's

INSTALLED_APPS = [
    "mpbraze.apps.AuditAdminConfig",  # django.contrib.admin with the audit site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "connections",
    "mapping",
    "ninja",  # the API docs page serves its vendored Swagger UI from static files
]
# `manage.py fake_braze` and `make demo` come from a checkout only: a production install
# (`pip install .`, the image) has no devtools package, hence no such commands.
if importlib.util.find_spec("devtools") is not None:
    INSTALLED_APPS.append("devtools")

MIDDLEWARE = [
    "mpbraze.middleware.DrainUnreadBodyMiddleware",  # a refused body never breaks keep-alive
    "django.middleware.security.SecurityMiddleware",
    "mpbraze.middleware.ContentSecurityPolicyMiddleware",  # above WhiteNoise: static files too
    # Static files under gunicorn: hashed names cached for a year, gzip; from STATIC_ROOT.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "mpbraze.middleware.RefuseNulMiddleware",  # 400 for a NUL in the path or query string
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "mpbraze.urls"
WSGI_APPLICATION = "mpbraze.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # templates/ at the top (the design's layout), reached through the mpbraze/templates
        # link, which the wheel turns into a copy inside the package (pyproject.toml).
        "DIRS": [BASE_DIR / "mpbraze" / "templates"],
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

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{LOCAL_DIR / 'db.sqlite3'}"),
}
# Persistent connections: one per gunicorn thread and per worker process, reused for
# DB_CONN_MAX_AGE seconds, checked before reuse (a PostgreSQL restart costs no request).
# docs/operations.md "Database connections" sizes max_connections for N web and M worker processes.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One writer at a time: wait for the lock instead of failing under web + worker + beat.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Times everywhere (pages and admin) with seconds and the zone: 2026-12-02 11:21:11 UTC.
FORMAT_MODULE_PATH = ["mpbraze.formats"]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "mpbraze" / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(LOCAL_DIR / "static")))
# `collectstatic` (run when the image is built) writes hashed, compressed copies and a manifest
# that `{% static %}` reads with DEBUG off; a name missing from it fails the page, never ships
# an unstyled one. With DEBUG on, runserver serves the sources by their own names.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Security: strict in production, relaxed only where DEBUG says this is a developer's machine.
# Whether a request came over HTTPS is the WSGI server's answer (wsgi.url_scheme): gunicorn
# takes X-Forwarded-Proto only from the addresses in FORWARDED_ALLOW_IPS (the proxy's), so a
# client's own header is never believed (SECURE_PROXY_SSL_HEADER would trust anyone's).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Container health checks and scrapes call these over plain HTTP from inside, behind the proxy.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# /metrics answers only with "Authorization: Bearer <this>" when set; empty leaves it open
# (a scrape from a private network).
MPBRAZE_METRICS_TOKEN = env.str("MPBRAZE_METRICS_TOKEN", default="")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy of every response (mpbraze.middleware): every script and stylesheet
# is a file served from this origin (the API docs' Swagger UI too, from django-ninja's static
# files), no page has inline code or a style attribute, nothing loads from a CDN; so no nonce
# and no 'unsafe-inline'. tests/e2e/test_content_security_policy.py sees no violation on the
# pages. data: is for the icons Swagger UI's stylesheet draws as inline SVG images.
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}

# Throttling of failed authentications (mpbraze.throttle; counted in Redis, or in the
# process's memory without REDIS_URL) in sliding windows: at most the limit in any 15 minutes or
# any minute. 0 turns a limit off. Sign-ins (/login/, /admin/login/), per 15 minutes: failures
# of one username from one address; from one address for any username; of one username from
# anywhere (addresses the user signed in from before are spared).
MPBRAZE_LOGIN_FAILURES_PER_15_MINUTES = env.int("MPBRAZE_LOGIN_FAILURES_PER_15_MINUTES", default=10)
MPBRAZE_LOGIN_ADDRESS_FAILURES_PER_15_MINUTES = env.int(
    "MPBRAZE_LOGIN_ADDRESS_FAILURES_PER_15_MINUTES", default=50
)
MPBRAZE_LOGIN_USERNAME_FAILURES_PER_15_MINUTES = env.int(
    "MPBRAZE_LOGIN_USERNAME_FAILURES_PER_15_MINUTES", default=100
)
# Inbound API, per minute: wrong secrets for one key from one address; wrong credentials from one
# address for any key (high: mParticle sends every connection's traffic from shared addresses).
MPBRAZE_INBOUND_AUTH_FAILURES_PER_MINUTE = env.int(
    "MPBRAZE_INBOUND_AUTH_FAILURES_PER_MINUTE", default=60
)
MPBRAZE_INBOUND_AUTH_ADDRESS_FAILURES_PER_MINUTE = env.int(
    "MPBRAZE_INBOUND_AUTH_ADDRESS_FAILURES_PER_MINUTE", default=600
)
# Wrong secrets for one key from all addresses together; over it a wrong secret gets 429 instead
# of 403, and the right secret is still accepted (ten of mParticle's addresses at the key limit).
MPBRAZE_INBOUND_AUTH_KEY_FAILURES_PER_MINUTE = env.int(
    "MPBRAZE_INBOUND_AUTH_KEY_FAILURES_PER_MINUTE", default=600
)
# The Web SDK's endpoints, per minute: wrong web keys from one address; identity requests from
# one address (each may create a user in the identity store).
MPBRAZE_WEB_KEY_ADDRESS_FAILURES_PER_MINUTE = env.int(
    "MPBRAZE_WEB_KEY_ADDRESS_FAILURES_PER_MINUTE", default=60
)
MPBRAZE_IDENTITY_REQUESTS_PER_MINUTE = env.int("MPBRAZE_IDENTITY_REQUESTS_PER_MINUTE", default=300)
# The most identities (known ones and anonymous devices) one connection's identity store keeps:
# past it, identity requests that would add one answer 503 and known users still resolve.
MPBRAZE_IDENTITY_MAX_RECORDS = env.int("MPBRAZE_IDENTITY_MAX_RECORDS", default=10_000_000)
# How long a browser may keep the Web SDK's configuration (the Braze kit's settings), seconds.
MPBRAZE_WEB_CONFIG_MAX_AGE_SECONDS = env.int("MPBRAZE_WEB_CONFIG_MAX_AGE_SECONDS", default=300)
# REST API, per minute: bad bearer tokens from one address; bad tokens naming one token's prefix
# from all addresses. A valid token is never refused (it is checked first, not counted).
MPBRAZE_API_AUTH_ADDRESS_FAILURES_PER_MINUTE = env.int(
    "MPBRAZE_API_AUTH_ADDRESS_FAILURES_PER_MINUTE", default=60
)
MPBRAZE_API_AUTH_PREFIX_FAILURES_PER_MINUTE = env.int(
    "MPBRAZE_API_AUTH_PREFIX_FAILURES_PER_MINUTE", default=20
)
# Proxies in front of mpbraze that append the client's address to X-Forwarded-For (0: clients
# connect directly, REMOTE_ADDR is theirs). Behind one proxy, 1: else every client would share
# the proxy's address and its throttles.
MPBRAZE_TRUSTED_PROXY_HOPS: int = env.int("MPBRAZE_TRUSTED_PROXY_HOPS", default=0)

# Endpoint safety (docs/security.md "Endpoint rules"): loopback endpoints (a local fake Braze)
# only on a developer's machine; `check --deploy` warns when this is on with DEBUG off.
MPBRAZE_ALLOW_LOCAL_ENDPOINTS = env.bool("MPBRAZE_ALLOW_LOCAL_ENDPOINTS", default=DEBUG)
MPBRAZE_ALLOWED_ENDPOINT_HOSTS = env.list("MPBRAZE_ALLOWED_ENDPOINT_HOSTS", default=[])

# Celery's broker: CELERY_BROKER_URL when set (RabbitMQ, amqp://, beside Redis as cache and rate
# limiter), else Redis when configured, else kombu's filesystem transport (works across
# processes). docs/operations.md "Choosing a broker".
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "filesystem://"
BROKER_SCHEME = CELERY_BROKER_URL.split("://", 1)[0]
if BROKER_SCHEME not in ("filesystem", "redis", "rediss", "amqp", "amqps", "pyamqp"):
    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL must be redis://, rediss:// or amqp:// (got {BROKER_SCHEME}://)."
    )
# Redis re-delivers a message not acknowledged within this time: every countdown stays far
# below it (MPBRAZE_MAX_COUNTDOWN_SECONDS), longer waits live in the database. RabbitMQ
# re-delivers when the worker's connection closes, and needs no such timeout.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=900)


def filesystem_broker_options(folder: Path) -> dict[str, object]:
    """kombu's filesystem transport in ``folder``, made if needed; every process of one
    installation (web, worker, beat) must name the same folder."""
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),  # kombu's default is ./control
        "store_processed": False,
        # kombu looks for new messages once a second by default: a connectivity check or a
        # replay then waits up to that long for its worker. A folder listing costs little.
        "polling_interval": 0.2,
    }


if BROKER_SCHEME == "filesystem":
    BROKER_DIR = Path(env.str("MPBRAZE_BROKER_DIR", default=str(LOCAL_DIR / "broker")))
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(BROKER_DIR)
elif BROKER_SCHEME.startswith("redis"):
    # Short socket timeouts: a publish from a web request must fail fast when Redis is down
    # (the sweeper enqueues later), never hold the request past the client's patience.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
else:
    # RabbitMQ: connecting is bounded by CELERY_BROKER_CONNECTION_TIMEOUT (below); a publish is
    # one frame written to an open socket; one that fails leaves the work to the sweeper.
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
CELERY_TASK_DEFAULT_QUEUE = env.str("MPBRAZE_CELERY_QUEUE", default="mpbraze")
# Forwarding and REST hook delivery have queues of their own, consumed by the same workers
# (they take turns between queues): a backlog of mapping messages never holds back the first
# send, and a fan-out of hook deliveries never holds back mapping or a connectivity check
# (mpbraze.celery.route_task).
CELERY_TASK_QUEUES = [
    Queue(CELERY_TASK_DEFAULT_QUEUE),
    Queue(f"{CELERY_TASK_DEFAULT_QUEUE}.forward"),
    Queue(f"{CELERY_TASK_DEFAULT_QUEUE}.hooks"),
]
CELERY_TASK_ROUTES = ("mpbraze.celery.route_task",)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A broker outage must not kill a task mid-send (its requests' outcomes would be unknown and
# their objects sent twice): the task finishes, and its message, if redelivered, finds its
# rows done (claims are leases in the database, so every task is safe to run again).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# A task killed at its hard limit: every claim's lease (below) is longer than this.
CELERY_TASK_TIME_LIMIT = env.int("MPBRAZE_TASK_TIME_LIMIT_SECONDS", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = max(1, int(CELERY_TASK_TIME_LIMIT * 0.8))
CELERY_BROKER_CONNECTION_TIMEOUT = 2.0
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = 30.0  # time to hand unfinished tasks back on shutdown
CELERY_BEAT_SCHEDULE_FILENAME = str(LOCAL_DIR / "celerybeat-schedule")
# A worker touches this file while it consumes; `manage.py healthcheck worker` reads its age.
MPBRAZE_WORKER_HEARTBEAT_FILE = env.str(
    "MPBRAZE_WORKER_HEARTBEAT_FILE", default=str(LOCAL_DIR / "worker-heartbeat")
)
# Workers and web workers keep what they imported out of garbage collection (mpbraze/heap.py).
MPBRAZE_GC_FREEZE = env.bool("MPBRAZE_GC_FREEZE", default=True)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
MPBRAZE_SWEEP_SECONDS = env.float("MPBRAZE_SWEEP_SECONDS", default=30.0)
# /readyz fails when an active output's oldest due row has waited longer than this.
MPBRAZE_READY_MAX_DUE_SECONDS = env.float("MPBRAZE_READY_MAX_DUE_SECONDS", default=600.0)
MPBRAZE_PRUNE_SECONDS = env.float("MPBRAZE_PRUNE_SECONDS", default=300.0)
CELERY_BEAT_SCHEDULE = {
    "deliveries-sweep": {"task": "mpbraze.deliveries_sweep", "schedule": MPBRAZE_SWEEP_SECONDS},
    "retention-prune": {"task": "mpbraze.retention_prune", "schedule": MPBRAZE_PRUNE_SECONDS},
    "hooks-sweep": {"task": "mpbraze.hooks_sweep", "schedule": MPBRAZE_SWEEP_SECONDS},
    "replay-runs-sweep": {"task": "mpbraze.replay_runs_sweep", "schedule": MPBRAZE_SWEEP_SECONDS},
    "worker-heartbeat": {"task": "mpbraze.worker_heartbeat", "schedule": MPBRAZE_SWEEP_SECONDS},
    "dsr-sweep": {"task": "mpbraze.dsr_sweep", "schedule": MPBRAZE_SWEEP_SECONDS},
}

# Inbound API (docs/api.md "Inbound API").
MPBRAZE_INBOUND_MAX_REQUEST_BYTES = env.int("MPBRAZE_INBOUND_MAX_REQUEST_BYTES", default=262144)
MPBRAZE_INBOUND_MAX_BATCH_BYTES = env.int("MPBRAZE_INBOUND_MAX_BATCH_BYTES", default=131072)
# Per connection: one connection falling behind never gets another one refused.
MPBRAZE_INBOUND_MAX_PENDING_BATCHES = env.int("MPBRAZE_INBOUND_MAX_PENDING_BATCHES", default=100000)

# Connectivity checks (docs/pages.md "Connectivity checks"): each step (DNS, TCP, TLS, HTTP)
# is bounded by this.
MPBRAZE_CONNECTIVITY_STEP_TIMEOUT_SECONDS = env.float(
    "MPBRAZE_CONNECTIVITY_STEP_TIMEOUT_SECONDS", default=10.0
)

# REST hooks (connections.hooks): each POST gives up after this many seconds (connect, send
# and read each); retries wait these many seconds (Svix's schedule, ±20 % jitter), then the
# delivery fails; a hook whose deliveries all failed for this many hours is disabled.
MPBRAZE_HOOK_TIMEOUT_SECONDS = env.float("MPBRAZE_HOOK_TIMEOUT_SECONDS", default=10.0)
MPBRAZE_HOOK_RETRY_SECONDS = env.list(
    "MPBRAZE_HOOK_RETRY_SECONDS", cast=float, default=[5, 300, 1800, 7200, 18000, 36000, 36000]
)
MPBRAZE_HOOK_DISABLE_AFTER_HOURS = env.float("MPBRAZE_HOOK_DISABLE_AFTER_HOURS", default=120.0)
# Where people reach this site (scheme, host, optional path prefix): the links in REST hook
# payloads are absolute from it. Required when hooks exist and DEBUG is off (a system check).
MPBRAZE_PUBLIC_URL = env.str(
    "MPBRAZE_PUBLIC_URL", default="http://127.0.0.1:8000" if DEBUG else ""
).rstrip("/")

# Erasure (docs/erasure.md): the Standard Webhooks secret (whsec_…) that signs OpenDSR status
# callbacks; generated into .local/dev-secrets.env in development. Without it (DEBUG off), a
# request naming status_callback_urls is refused.
MPBRAZE_DSR_CALLBACK_SECRET = env.str("MPBRAZE_DSR_CALLBACK_SECRET", default="") or (
    _development_secrets().get("MPBRAZE_DSR_CALLBACK_SECRET", "") if DEBUG else ""
)

# Delivery (docs/architecture.md "Delivery rules"). Read through connections.delivery.tuning,
# never getattr with a default.
MPBRAZE_BRAZE_RATE_LIMIT = env.str("MPBRAZE_BRAZE_RATE_LIMIT", default="3000/3")
# Braze's user-data endpoints (/users/identify, /users/alias/new, /users/delete, /users/merge)
# share one limit per workspace, apart from /users/track's: a second bucket of the limiter.
MPBRAZE_BRAZE_USER_DATA_RATE_LIMIT = env.str(
    "MPBRAZE_BRAZE_USER_DATA_RATE_LIMIT", default="20000/60"
)
# A multiple of 75 and 50, so a claim packs into full requests.
MPBRAZE_OUTBOX_CLAIM_SIZE = env.int("MPBRAZE_OUTBOX_CLAIM_SIZE", default=750)
MPBRAZE_RETRY_BACKOFF_SECONDS = env.list(
    "MPBRAZE_RETRY_BACKOFF_SECONDS", cast=float, default=[5, 30, 120, 600, 1800, 3600, 7200, 14400]
)
MPBRAZE_RETRY_MAX_AGE_HOURS = env.float("MPBRAZE_RETRY_MAX_AGE_HOURS", default=24.0)
MPBRAZE_RETRY_MAX_ATTEMPTS = env.int("MPBRAZE_RETRY_MAX_ATTEMPTS", default=20)
# Forwarding starts this long after mapping, so batches arriving together share requests.
MPBRAZE_FORWARD_LINGER_SECONDS = env.float("MPBRAZE_FORWARD_LINGER_SECONDS", default=1.0)
# Requests one forwarding task keeps in flight at once (a thread each; Braze answers in tens of
# milliseconds, and a process waiting for one answer at a time is idle most of the time). 12
# sends a full claim (750 objects, 10 to 12 requests) in one wave.
MPBRAZE_FORWARD_CONCURRENCY = env.int("MPBRAZE_FORWARD_CONCURRENCY", default=12)
if not 1 <= MPBRAZE_FORWARD_CONCURRENCY <= 20:
    raise ImproperlyConfigured("MPBRAZE_FORWARD_CONCURRENCY must be between 1 and 20.")
# Claims one forwarding task sends at once, each from a thread of its own with a database
# connection of its own, sharing the requests in flight above: while one lane waits for Braze's
# answers, another records, claims and packs. A lane opens only when a claim leaves more rows due
# behind it. 1 on SQLite by default: it takes one writer at a time, so a second lane only waits.
MPBRAZE_FORWARD_LANES = env.int(
    "MPBRAZE_FORWARD_LANES",
    default=1 if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" else 2,
)
if not 1 <= MPBRAZE_FORWARD_LANES <= 4:
    raise ImproperlyConfigured("MPBRAZE_FORWARD_LANES must be between 1 and 4.")
# One forwarding task sends for at most this long, then hands over to the next message.
MPBRAZE_FORWARD_BUDGET_SECONDS = env.float("MPBRAZE_FORWARD_BUDGET_SECONDS", default=60.0)
if MPBRAZE_FORWARD_BUDGET_SECONDS >= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured(
        "MPBRAZE_FORWARD_BUDGET_SECONDS must be shorter than the task's soft time limit"
        f" ({CELERY_TASK_SOFT_TIME_LIMIT} s)."
    )
# A claim's lease outlives the task's hard time limit: a live worker never loses its rows.
MPBRAZE_OUTBOX_LEASE_SECONDS = env.int("MPBRAZE_OUTBOX_LEASE_SECONDS", default=600)
if MPBRAZE_OUTBOX_LEASE_SECONDS <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        f"MPBRAZE_OUTBOX_LEASE_SECONDS ({MPBRAZE_OUTBOX_LEASE_SECONDS}) must be longer than the"
        f" task time limit ({CELERY_TASK_TIME_LIMIT} s)."
    )
MPBRAZE_MAX_COUNTDOWN_SECONDS = min(300.0, CELERY_VISIBILITY_TIMEOUT / 3)
MPBRAZE_SENT_RETENTION_DAYS = env.float("MPBRAZE_SENT_RETENTION_DAYS", default=7.0)
# Repeated batches (same source_request_id or content) are dropped within this window.
MPBRAZE_DEDUP_WINDOW_DAYS = env.float("MPBRAZE_DEDUP_WINDOW_DAYS", default=7.0)
# Retention (connections.delivery.retention); failed rows are kept until replayed or discarded.
MPBRAZE_DISCARDED_RETENTION_DAYS = env.float("MPBRAZE_DISCARDED_RETENTION_DAYS", default=30.0)
MPBRAZE_ATTEMPT_RETENTION_DAYS = env.float("MPBRAZE_ATTEMPT_RETENTION_DAYS", default=7.0)
MPBRAZE_MAPPING_SAMPLE_RETENTION_DAYS = env.float(
    "MPBRAZE_MAPPING_SAMPLE_RETENTION_DAYS", default=30.0
)
MPBRAZE_BATCH_RETENTION_DAYS = env.float("MPBRAZE_BATCH_RETENTION_DAYS", default=7.0)
# REST hook deliveries that finished (with their attempts), and events none of whose
# deliveries is left; waiting deliveries are kept.
MPBRAZE_HOOK_RETENTION_DAYS = env.float("MPBRAZE_HOOK_RETENTION_DAYS", default=7.0)
if MPBRAZE_BATCH_RETENTION_DAYS < MPBRAZE_DEDUP_WINDOW_DAYS:
    raise ImproperlyConfigured(
        f"MPBRAZE_BATCH_RETENTION_DAYS ({MPBRAZE_BATCH_RETENTION_DAYS:g}) must not be shorter than"
        f" MPBRAZE_DEDUP_WINDOW_DAYS ({MPBRAZE_DEDUP_WINDOW_DAYS:g}): a batch deleted within the"
        " window would be accepted again when repeated."
    )
# User profiles (connections.profiles): what is kept of a user's attributes between batches
# for "Include enriched user attributes", and how long a user nobody sent data for is kept.
MPBRAZE_PROFILE_MAX_ATTRIBUTES = env.int("MPBRAZE_PROFILE_MAX_ATTRIBUTES", default=100)
MPBRAZE_PROFILE_MAX_BYTES = env.int("MPBRAZE_PROFILE_MAX_BYTES", default=50_000)
MPBRAZE_PROFILE_RETENTION_DAYS = env.float("MPBRAZE_PROFILE_RETENTION_DAYS", default=90.0)
if MPBRAZE_PROFILE_MAX_ATTRIBUTES < 1 or MPBRAZE_PROFILE_MAX_BYTES < 1:
    raise ImproperlyConfigured(
        "MPBRAZE_PROFILE_MAX_ATTRIBUTES and MPBRAZE_PROFILE_MAX_BYTES must be at least 1."
    )
MPBRAZE_MAPPING_GRACE_SECONDS = env.float("MPBRAZE_MAPPING_GRACE_SECONDS", default=60.0)
# A batch whose mapping fails (or kills its worker) this many times is marked failed.
MPBRAZE_MAPPING_MAX_ATTEMPTS = env.int("MPBRAZE_MAPPING_MAX_ATTEMPTS", default=5)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"scrub_secrets": {"()": "mpbraze.logging.ScrubSecretsFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["scrub_secrets"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}
