"""Daiou's settings: every value that differs between machines comes from the environment.

With nothing set, Daiou runs for local use: SQLite in var/, DEBUG on, local-memory cache.
A deployment sets at least SECRET_KEY, DEBUG=0, ALLOWED_HOSTS, DATABASE_URL and REDIS_URL.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from config import db_pool

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DAIOU_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    try:
        return int(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY", "")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    # Local use only: a key made once per checkout and kept out of git in var/.
    path = VAR_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        path.write_text(key)
        path.chmod(0o600)
        return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "markdownx",
    "forum",
    "forum.limits",
    "forum.moderation",
    "forum.watching",
    "forum.figures",
    "incidents",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside everything that may answer early (static files, 413), so every response says DENY.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Before anything reads the body (CSRF does): too large a request is refused unread.
    "config.request_size.RequestTooLargeMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # X-Robots-Tag: noindex on search, staff, account and API pages (forum/seo.py).
    "forum.seo.NoindexMiddleware",
    # The database unreachable: the 503 page (config/faults.py; handler500 covers the rest).
    "config.faults.DatabaseUnavailableMiddleware",
    # Indicators and search documents of posts written here: built after the response is sent.
    "forum.signals.posts_changed_after_response",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
            # {% url %} with reverse()'s answers kept per process (it was a tenth of a thread page).
            "builtins": ["forum.templatetags.cached_url"],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "") or f"sqlite:///{VAR_DIR / 'daiou.sqlite3'}"
if DATABASE_URL.startswith("sqlite:///"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)
_db = dj_database_url.parse(DATABASE_URL)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["ENGINE"] = "config.sqlite"  # Django's, converting a statement's placeholders once (config/sqlite/base.py)
    _db["OPTIONS"] = {
        # IMMEDIATE takes the write lock when a transaction starts, so two writers queue
        # instead of failing half-way with "database is locked"; WAL lets readers go on.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        # A 64 MB page cache per connection (SQLite's default is 2 MB) and reads through mmap:
        # an archive's indexes are read without a system call per page.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;",
    }
    # Each process keeps its connection (and that page cache) from request to request:
    # opening one, with its pragmas and mmap, cost more than a cached page's whole query.
    _db["CONN_MAX_AGE"] = None
    # Tests use a file too: an in-memory database shares one cache between threads and
    # fails concurrent writers at once instead of queueing them as a real file does.
    # One per process, so that test runs side by side never share a file.
    _db["TEST"] = {"NAME": str(VAR_DIR / f"test-daiou-{os.getpid()}.sqlite3")}
elif _db["ENGINE"] == "django.db.backends.postgresql":
    _db["CONN_MAX_AGE"] = 0  # the pool keeps connections; Django must not keep its own
    # The pool checks a connection before handing it out (config/db_pool.py), so after a
    # database restart no request gets a dead connection: the site recovers by itself.
    _db["CONN_HEALTH_CHECKS"] = env_bool("DB_POOL_CHECK", True)
    # One test database per process, as for SQLite: test runs side by side never share one.
    _db["TEST"] = {"NAME": f"test_{_db['NAME']}_{os.getpid()}"}
    _db["OPTIONS"] = {
        # Parameters travel apart from the SQL: no client-side quoting of every post body.
        "server_side_binding": env_bool("DB_SERVER_SIDE_BINDING", True),
        # A query run this many times on a connection becomes a prepared statement, parsed and
        # planned once (the thread page's queries cost PostgreSQL more to plan than to run).
        # Django turns it off for PgBouncer in transaction mode: there set DB_PREPARE_THRESHOLD=0
        # (off), unless PgBouncer keeps prepared statements (max_prepared_statements, 1.21+).
        "prepare_threshold": env_int("DB_PREPARE_THRESHOLD", 5) or None,
        "pool": {
            # A poll of the socket, and a round trip only when the server said something
            # (config/db_pool.py); Django's default with CONN_HEALTH_CHECKS makes one each time.
            **({"check": db_pool.check_connection} if env_bool("DB_POOL_CHECK", True) else {}),
            "min_size": env_int("DB_POOL_MIN", 2),
            "max_size": env_int("DB_POOL_MAX", 10),
            "timeout": env_int("DB_POOL_TIMEOUT", 10),
        },
    }
else:
    raise ImproperlyConfigured("DATABASE_URL must be sqlite:///… or postgres://…")
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache that answers "miss" instead of failing while Redis is down;
            # add/incr raise config.cache.CacheUnavailable then (see its docstring).
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "daiou"),
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Accounts -------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
# Local use prints mail to the console; a deployment sends through SMTP (EMAIL_HOST…).
_mail_backend = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
MAILERS = {"default": {"BACKEND": _mail_backend}}
if _mail_backend.endswith("smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = {
        "host": os.environ.get("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 25),
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
    }
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "daiou@localhost")

# --- Language and time ----------------------------------------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed names let browsers cache static files for a year once DEBUG is off (after
        # collectstatic); local runs and tests serve the files as they are in static/.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("DAIOU_HASHED_STATIC", not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

# --- Security -------------------------------------------------------------------------------
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF],  # members' figures come from the site itself (/media/figures/); nothing remote
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# markdownx's preview script reads the CSRF token from this cookie, so it stays readable.
CSRF_COOKIE_HTTPONLY = False

# With DEBUG off the site is served over HTTPS unless the environment says otherwise
# (DAIOU_HTTPS=0, e.g. for a local benchmark over plain HTTP).
HTTPS = env_bool("DAIOU_HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
# Behind one reverse proxy the client's address is the hop the proxy appended to
# X-Forwarded-For, the last (forum.limits.ratelimit.client_ip); earlier hops the client wrote.
DAIOU_BEHIND_PROXY = env_bool("DAIOU_BEHIND_PROXY", False)
if DAIOU_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Request bodies: a quoted mail may be up to 10 MB; anything larger is refused early.
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
# A whole request (one upload and the form): more is refused unread (config/request_size.py).
DAIOU_MAX_REQUEST_BYTES = env_int("DAIOU_MAX_REQUEST_BYTES", 25 * 1024 * 1024)

# --- markdownx --------------------------------------------------------------------------------
# The preview goes through Daiou's own renderer and a login-only view (forum.views.preview);
# markdownx's upload endpoint is never routed.
MARKDOWNX_MARKDOWNIFY_FUNCTION = "forum.render.render_markdown"
MARKDOWNX_URLS_PATH = "/preview/"
MARKDOWNX_UPLOAD_URLS_PATH = "/preview/no-uploads/"
MARKDOWNX_EDITOR_RESIZABLE = False

# --- Forum ----------------------------------------------------------------------------------
DAIOU_POSTS_PER_PAGE = env_int("DAIOU_POSTS_PER_PAGE", 50)
DAIOU_MAX_TITLE_LENGTH = 200
DAIOU_MAX_BODY_LENGTH = env_int("DAIOU_MAX_BODY_LENGTH", 100_000)
# Whole thread and volume pages for anonymous readers, in the cache (forum/pagecache.py);
# DAIOU_PAGE_CACHE=0 turns it off (conditional GETs and ETags stay). DAIOU_RELEASE (e.g. the
# deployed commit) is added to the pages' keys; templates, code and static files are already.
DAIOU_PAGE_CACHE = env_bool("DAIOU_PAGE_CACHE", True)
# Each process also keeps the pages it served last, up to this many bytes, in front of the
# shared cache (forum.pagecache.LocalPages; never stale, a key names one version).
DAIOU_PAGE_CACHE_LOCAL_BYTES = env_int("DAIOU_PAGE_CACHE_LOCAL_BYTES", 32 * 1024 * 1024)
DAIOU_RELEASE = os.environ.get("DAIOU_RELEASE", "")

# --- Limits (forum.limits) --------------------------------------------------------------------
# The new-member gate (forum/limits/gate.py). A member is established with this many approved
# posts and an account this many days old (or the limits.established permission); staff and
# moderators are never gated. Until then a member's posts wait for approval (while they have
# fewer approved posts than DAIOU_HELD_POSTS) and may carry few clickable links of their own.
DAIOU_HELD_POSTS = env_int("DAIOU_HELD_POSTS", 3)
DAIOU_ESTABLISHED_DAYS = env_int("DAIOU_ESTABLISHED_DAYS", 7)
DAIOU_NEW_MEMBER_LINKS = env_int("DAIOU_NEW_MEMBER_LINKS", 2)
DAIOU_FLOOD_SECONDS = env_int("DAIOU_FLOOD_SECONDS", 15)
DAIOU_NEW_MEMBER_FLOOD_SECONDS = env_int("DAIOU_NEW_MEMBER_FLOOD_SECONDS", 30)
DAIOU_DUPLICATE_SECONDS = env_int("DAIOU_DUPLICATE_SECONDS", 600)
# How long the link that confirms a new member's e-mail address works.
DAIOU_CONFIRMATION_DAYS = env_int("DAIOU_CONFIRMATION_DAYS", 3)


def env_rate(name: str, default: str) -> tuple[int, int]:
    """A rate limit written "COUNT/SECONDS", e.g. DAIOU_RATE_SEARCH=30/60."""
    value = os.environ.get(name, "").strip() or default
    count, _slash, seconds = value.partition("/")
    if not (count.isdecimal() and seconds.isdecimal() and int(seconds) > 0):
        raise ImproperlyConfigured(f"{name} must be COUNT/SECONDS, e.g. 30/60, not {value!r}")
    return int(count), int(seconds)


# Requests per window, counted in the cache (the database while the cache is down).
DAIOU_RATE_LIMITS = {
    "signup": env_rate("DAIOU_RATE_SIGNUP", "5/3600"),  # accounts made per IP address
    "login_account": env_rate("DAIOU_RATE_LOGIN_ACCOUNT", "5/900"),  # failed logins per user name
    "login_ip": env_rate("DAIOU_RATE_LOGIN_IP", "20/900"),  # failed logins per IP address
    "confirmation": env_rate("DAIOU_RATE_CONFIRMATION", "3/3600"),  # confirmation mails per member
    "report": env_rate("DAIOU_RATE_REPORT", "10/600"),  # reports per member
    "removal": env_rate("DAIOU_RATE_REMOVAL", "5/3600"),  # removal requests per member or IP (contact form)
    "search": env_rate("DAIOU_RATE_SEARCH", "30/60"),  # searches per member or IP address
    "lookup": env_rate("DAIOU_RATE_LOOKUP", "60/60"),  # indicator lookups (page and API) per member or IP
}
# Moderation (forum.moderation): open reports from this many members hide a post until a
# moderator decides.
DAIOU_REPORTS_TO_HIDE = env_int("DAIOU_REPORTS_TO_HIDE", 3)
# The site's address for links in mail sent without a request (forum.watching's digest).
DAIOU_SITE_URL = os.environ.get("DAIOU_SITE_URL", "http://127.0.0.1:8000")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
CSRF_FAILURE_VIEW = "forum.views.csrf_failure"
