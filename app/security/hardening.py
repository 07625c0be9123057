"""Hardening of the web layer (issue 8): the start-up checks of production settings, security headers
(Flask-Talisman), the login rate limit on FAB's Flask-Limiter, and the 429 page."""
from flask import current_app, jsonify, render_template_string, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

DEMO_SECRET_KEY = "demo-secret-key-change-me-for-a-real-school"  # 32 bytes at least, as HS256 wants
DEMO_AUDIT_KEY = "demo-audit-key-change-me"
MIN_SECRET_KEY_LENGTH = 32


class UnsafeConfiguration(RuntimeError):
    """The app refuses to start with settings unsafe for production."""


def check_production(config) -> None:
    """A production start needs a real SECRET_KEY and AUDIT_KEY and no debug mode; say what to fix otherwise."""
    if config.get("ENV_NAME") != "production":
        return
    key = config.get("SECRET_KEY") or ""
    if not key or key == DEMO_SECRET_KEY or len(key) < MIN_SECRET_KEY_LENGTH:
        raise UnsafeConfiguration(
            "SECRET_KEY is missing, is the demo key or is shorter than "
            f"{MIN_SECRET_KEY_LENGTH} characters: set the SECRET_KEY environment variable to a random "
            "value, e.g. `python -c \"import secrets; print(secrets.token_hex(32))\"`, "
            "before starting with APP_CONFIG=config.ProductionConfig.")
    audit_key = config.get("AUDIT_KEY") or ""
    if not audit_key or audit_key == DEMO_AUDIT_KEY or len(audit_key) < MIN_SECRET_KEY_LENGTH:
        raise UnsafeConfiguration(
            "AUDIT_KEY is missing, is the demo key or is shorter than "
            f"{MIN_SECRET_KEY_LENGTH} characters: the audit trail is chained with HMAC-SHA256 under this key, "
            "which must be kept outside the database. Set the AUDIT_KEY environment variable to a random value "
            "(e.g. `python -c \"import secrets; print(secrets.token_hex(32))\"`), keep it with the backups "
            "of SECRET_KEY and never change it: the existing chain verifies only with the key it was written with.")
    if config.get("DEBUG"):
        raise UnsafeConfiguration("DEBUG must be off with APP_CONFIG=config.ProductionConfig.")


def trust_proxy(app) -> None:
    """Behind PROXY_FIX reverse proxies, take the client address and scheme from X-Forwarded-* (the
    login limit counts per client address; HTTPS detection needs the original scheme)."""
    hops = int(app.config.get("PROXY_FIX") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)


def security_headers(app) -> Talisman:
    """CSP with a per-request script nonce (FAB's templates put it on every script tag), frame and
    sniffing protection, Referrer-Policy, cookie flags; HTTPS redirect and HSTS only when configured
    (production). One Talisman per app: its options live on the instance."""
    production = app.config.get("ENV_NAME") == "production"
    talisman = Talisman(
        app,
        content_security_policy=app.config["CONTENT_SECURITY_POLICY"],
        content_security_policy_nonce_in=["script-src"],
        force_https=bool(app.config.get("FORCE_HTTPS")),
        strict_transport_security=bool(app.config.get("HSTS")),
        frame_options="DENY",
        referrer_policy="same-origin",
        session_cookie_secure=bool(app.config.get("SESSION_COOKIE_SECURE")) or production,
        session_cookie_http_only=True,
        session_cookie_samesite=app.config.get("SESSION_COOKIE_SAMESITE", "Lax"),
        x_content_type_options=True,
    )
    app.extensions["talisman"] = talisman
    return talisman


def _login_failed(response) -> bool:
    """Only failed sign-ins count: a school behind one NAT address signs in together at 8:00."""
    if request.blueprint == "SecurityApi":
        return response.status_code != 200
    return not current_user.is_authenticated


def limit_logins(app, appbuilder) -> None:
    """LOGIN_RATE_LIMIT failed sign-ins per client address, shared by the login form and the API login
    (`/api/v1/security/login`), on FAB's limiter (RATELIMIT_ENABLED, RATELIMIT_STORAGE_URI)."""
    sm = appbuilder.sm
    shared = sm.limiter.shared_limit(
        lambda: current_app.config["LOGIN_RATE_LIMIT"], scope="login", methods=["POST"],
        deduct_when=_login_failed,
        error_message=lambda: str(_l("Too many failed sign-in attempts from your address. "
                                     "Wait a few minutes and try again.")))
    shared(sm.auth_view.blueprint)
    shared(app.blueprints["SecurityApi"])
    app.register_error_handler(429, too_many_requests)


TOO_MANY_PAGE = """{% extends base_template %}
{% block content %}<div class="alert alert-danger too-many-requests">{{ message }}</div>{% endblock %}"""


def too_many_requests(err):
    """429: JSON for the API, a page with the message for the browser."""
    limit = getattr(err, "limit", None)
    message = err.description if limit is not None and limit.error_message else str(
        _l("Too many requests. Wait a few minutes and try again."))
    if request.path.startswith("/api/"):
        response = jsonify(message=message)
    else:
        appbuilder = current_app.appbuilder
        response = current_app.make_response(render_template_string(
            TOO_MANY_PAGE, message=message, base_template=appbuilder.base_template, appbuilder=appbuilder))
    response.status_code = 429
    return response
