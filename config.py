"""Settings, all from the environment (SPEC §8)."""
import os
from pathlib import Path

from flask_appbuilder.const import AUTH_DB

from app.security.hardening import DEMO_AUDIT_KEY, DEMO_SECRET_KEY
from app.security.passwords import password_policy

BASE_DIR = Path(__file__).resolve().parent


def _default_database_url() -> str:
    return "sqlite:///" + str(BASE_DIR / "instance" / "journal.db")


class Config:
    """Development and demo defaults."""

    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY", DEMO_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or _default_database_url()
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "demo")
    PORTAL_URL = os.environ.get("PORTAL_URL", "http://127.0.0.1:8090/api/ediary")
    PORTAL_SECRET = os.environ.get("PORTAL_SECRET", "demo-portal-secret")
    PORTAL_TIMEOUT = float(os.environ.get("PORTAL_TIMEOUT", "10"))
    SMTP_URL = os.environ.get("SMTP_URL", "smtp://127.0.0.1:8025")
    SMTP_FROM = os.environ.get("SMTP_FROM", "journal@school.local")

    # The exchange job (SPEC §6): batch size; tries of one request (tenacity, exponential wait with jitter
    # from EXCHANGE_RETRY_WAIT s); the pause before a message's next attempt (EXCHANGE_BACKOFF s, doubled
    # per attempt, at most an hour) and the attempts after which it is parked as failed (12: about six
    # hours of a portal outage); a worker's lease on claimed messages; the idle poll.
    EXCHANGE_BATCH = int(os.environ.get("EXCHANGE_BATCH", "500"))
    EXCHANGE_TRIES = int(os.environ.get("EXCHANGE_TRIES", "3"))
    EXCHANGE_RETRY_WAIT = float(os.environ.get("EXCHANGE_RETRY_WAIT", "1"))
    EXCHANGE_BACKOFF = float(os.environ.get("EXCHANGE_BACKOFF", "30"))
    EXCHANGE_MAX_ATTEMPTS = int(os.environ.get("EXCHANGE_MAX_ATTEMPTS", "12"))
    EXCHANGE_LEASE = int(os.environ.get("EXCHANGE_LEASE", "300"))
    EXCHANGE_POLL = float(os.environ.get("EXCHANGE_POLL", "5"))
    EXCHANGE_SLA_HOURS = 24  # regulation point 6
    EXCHANGE_SLA_WARN_HOURS = int(os.environ.get("EXCHANGE_SLA_WARN_HOURS", "6"))

    # Journal rules (SPEC §3, §4).
    MARK_EDIT_DAYS = int(os.environ.get("MARK_EDIT_DAYS", "7"))
    LATE_MARK_DAYS = int(os.environ.get("LATE_MARK_DAYS", "3"))  # control report: a mark entered later is late
    MIN_MARKS_FOR_FINAL = int(os.environ.get("MIN_MARKS_FOR_FINAL", "3"))
    FINALS_OPEN_DAYS = int(os.environ.get("FINALS_OPEN_DAYS", "14"))  # finals open this many days before a period ends
    PROMOTION_RETAIN_OWED = int(os.environ.get("PROMOTION_RETAIN_OWED", "3"))  # subjects owed that retain
    FINAL_THRESHOLDS = (4.60, 3.60, 2.60)
    SCHOOL_TODAY = os.environ.get("SCHOOL_TODAY")  # replay another day (demo, benchmarks); unset: real date

    # The audit chain is HMAC-SHA256 keyed with AUDIT_KEY, kept outside the database (production refuses to
    # start without one); `flask audit anchor` appends the chain's head to AUDIT_ANCHOR_FILE (keep it, or a
    # copy, off the database server).
    AUDIT_KEY = os.environ.get("AUDIT_KEY", DEMO_AUDIT_KEY)
    AUDIT_ANCHOR_FILE = os.environ.get("AUDIT_ANCHOR_FILE") or str(BASE_DIR / "instance" / "audit-anchors.jsonl")

    # Flask-AppBuilder: the schema belongs to Alembic, permissions to `flask school init`.
    APP_NAME = "Электронный журнал"
    APP_THEME = ""
    AUTH_TYPE = AUTH_DB
    FAB_CREATE_DB = False
    FAB_UPDATE_PERMS = False
    FAB_ADD_SECURITY_VIEWS = True
    FAB_API_SWAGGER_UI = True
    FAB_ADD_OPENAPI_VIEWS = False  # app/api/openapi.py registers the spec (built once) and the Swagger page
    AUTH_ROLE_ADMIN = "Admin"
    AUTH_ROLE_PUBLIC = "Public"
    WTF_CSRF_ENABLED = True  # every form and our JSON endpoints (X-CSRFToken); FAB exempts its JWT REST API
    JWT_ACCESS_TOKEN_EXPIRES = 3600
    # Refresh tokens (POST /api/v1/security/refresh) live a day, not Flask-JWT-Extended's 30 days; logout, a
    # password change or deactivation ends them sooner (app/security/sessions.py).
    JWT_REFRESH_TOKEN_EXPIRES = int(os.environ.get("JWT_REFRESH_TOKEN_EXPIRES", "86400"))

    # Hardening (app/security/hardening.py). Cookies: not readable by scripts, not sent on cross-site
    # POSTs; Secure in production (HTTPS).
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    # Security headers (Flask-Talisman). Scripts only from our origin or inline with the per-request
    # nonce FAB's templates carry; styles allow 'unsafe-inline' because FAB's and our templates use
    # style="" attributes, which no nonce covers. No framing, no plugins, forms post only to us.
    CONTENT_SECURITY_POLICY = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data:",
        "font-src": "'self' data:",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    FORCE_HTTPS = False  # redirect http → https (production)
    HSTS = False  # Strict-Transport-Security on HTTPS responses (production)
    PROXY_FIX = int(os.environ.get("PROXY_FIX", "0"))  # reverse proxies in front setting X-Forwarded-*
    # Login rate limit on FAB's Flask-Limiter: failed sign-ins per client address, form and API login
    # together. memory:// counts per process: with several gunicorn workers use a shared store,
    # e.g. RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379/0 (needs the `redis` package).
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True  # Retry-After and X-RateLimit-* on the login endpoints
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per 5 minutes")
    AUTH_RATE_LIMITED = False  # FAB's own limit counts successful sign-ins too; LOGIN_RATE_LIMIT replaces it
    # Password policy of passwords set in the UI and the API (the CLI and the demo are not checked).
    FAB_PASSWORD_COMPLEXITY_ENABLED = True
    FAB_PASSWORD_COMPLEXITY_VALIDATOR = staticmethod(password_policy)
    PASSWORD_MIN_LENGTH = 10

    # Russian first, English second (Babel; our catalogue in translations/).
    BABEL_DEFAULT_LOCALE = "ru"
    BABEL_DEFAULT_TIMEZONE = "Europe/Moscow"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
    LANGUAGES = {
        "ru": {"flag": "ru", "name": "Русский"},
        "en": {"flag": "gb", "name": "English"},
    }


class TestConfig(Config):
    """Tests: a database URL given by the test harness, CSRF off for form posts."""

    TESTING = True
    WTF_CSRF_ENABLED = False
    SECRET_KEY = "test-secret-key-at-least-32-bytes-long"
    AUDIT_KEY = "test-audit-key"
    SQLALCHEMY_ENGINE_OPTIONS = {}
    EXCHANGE_BACKOFF = EXCHANGE_RETRY_WAIT = 0.01
    EXCHANGE_POLL = 0.1
    FAB_PASSWORD_HASH_METHOD = "pbkdf2:sha256:1"  # every login verifies a hash: scrypt costs 0.1 s each
    RATELIMIT_ENABLED = False  # tests/test_hardening.py builds a production app with the limiter on


class ProductionConfig(Config):
    """Production: SECRET_KEY and AUDIT_KEY must be set (the app refuses to start otherwise), no debug, HTTPS only."""

    ENV_NAME = "production"
    DEBUG = False
    TESTING = False
    SECRET_KEY = os.environ.get("SECRET_KEY")
    AUDIT_KEY = os.environ.get("AUDIT_KEY")
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    FORCE_HTTPS = True  # http → https; a TLS proxy in front sends X-Forwarded-Proto: https (and see PROXY_FIX)
    HSTS = True
