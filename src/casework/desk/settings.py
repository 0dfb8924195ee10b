"""Django settings for the desk.

Embedded by default (SQLite in ``var/``, background jobs in-process) so that ``make run`` needs nothing else.
Scale-out is two environment variables: ``DATABASE_URL`` (PostgreSQL) and ``CELERY_BROKER_URL`` (Redis).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # src/casework
BASE_DIR = Path(os.environ.get("CASEWORK_HOME", Path.cwd())).resolve()
VAR_DIR = BASE_DIR / "var"

DEBUG = os.environ.get("CASEWORK_DEBUG", "1") == "1"
SECRET_KEY = os.environ.get("CASEWORK_SECRET_KEY", "casework-embedded-development-key-change-me-in-production")
ALLOWED_HOSTS = [h for h in os.environ.get("CASEWORK_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Only for its bundled Swagger UI files: /api/v1/docs then works offline instead of loading a CDN.
    "ninja",
    "casework.desk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "casework.desk.urls"
WSGI_APPLICATION = "casework.desk.wsgi.application"

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
                "django.template.context_processors.i18n",
            ],
        },
    }
]

_default_db = f"sqlite:///{VAR_DIR / 'casework.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", _default_db), conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the queue page read while a claim writes; IMMEDIATE makes write transactions take the lock
    # up front so two claims serialise instead of failing with "database is locked" mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Connections are kept (60 s, as for PostgreSQL): reopening one per request ran the PRAGMAs again and started
    # every request with SQLite's page cache empty — about half the CPU of an API request (bench/RESULTS.md,
    # "Desk at scale"). Safe with WAL: a connection is per thread, and in autocommit it holds no read snapshot
    # or lock between requests.
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and os.environ.get("CASEWORK_PG_PREPARE", "1") == "1":
    # Server-side parameters, so psycopg prepares a statement once it has run 5 times on a connection (kept for
    # CONN_MAX_AGE): PostgreSQL then skips planning, which was most of its CPU per desk request (the queue and
    # list queries join 5-7 tables; 2-5 ms planning against < 1 ms executing). CASEWORK_PG_PREPARE=0 turns it
    # off, e.g. behind a pgbouncer in transaction mode (prepared statements do not survive its connection swaps).
    DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No parallel query workers for the desk's own connections by default: its queries read a page of rows, and a
    # Gather's worker start-up (≈ 30 ms on a busy 2-core machine) cost more than the whole query (the "about to
    # breach" page: 40 ms parallel, < 3 ms serial). Parallel workers would also take the cores other requests
    # are waiting for. CASEWORK_PG_PARALLEL_WORKERS=N gives reports on a big machine their parallelism back.
    _parallel = os.environ.get("CASEWORK_PG_PARALLEL_WORKERS", "0")
    # Random reads priced as on SSD or cached data (PostgreSQL's default of 4 assumes spinning disks). With 4, the
    # generic plan of a prepared statement preferred walking the whole created_at index over the exact
    # (line, severity, created_at) index for "line=storage&severity=P1" (16 ms against 0.5 ms per request).
    # CASEWORK_PG_RANDOM_PAGE_COST overrides it (empty: the server's own setting).
    _random = os.environ.get("CASEWORK_PG_RANDOM_PAGE_COST", "1.1")
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        f"-c max_parallel_workers_per_gather={int(_parallel)}"
        + (f" -c random_page_cost={float(_random)}" if _random else "")
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []
# The first backend logs people in (and loads the profile with the user); Django's own stays second so sessions
# started before it was added stay valid.
SESSION_ENGINE = "casework.desk.access.sessions"  # Django's database sessions, read with SQL compiled once
AUTHENTICATION_BACKENDS = [
    "casework.desk.access.backends.ProfileBackend",
    "django.contrib.auth.backends.ModelBackend",
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Serve app static files straight from the package in development; `casework desk serve` runs collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
# The embedded database and collected static files live here; SQLite will not create the folder itself.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Background jobs: in-process unless a broker is configured (see casework.desk.jobs).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL

# Limits that protect the desk from bad input (a 10 MB description is refused, not stored).
CASEWORK_MAX_DESCRIPTION_CHARS = 100_000
CASEWORK_MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
MEDIA_ROOT = VAR_DIR / "media"
DATA_UPLOAD_MAX_MEMORY_SIZE = 25 * 1024 * 1024
