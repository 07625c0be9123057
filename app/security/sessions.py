"""Sessions and tokens end when they should (issue 15): every session cookie and JWT carries the epoch of
its user's sign-ins it was issued under; logout, a password change and a deactivation bump the epoch, so
every older cookie and token is anonymous (pages: to the login; API: 401).

The bump on a password change or deactivation is a session-level guard: whichever path changes the user
(FAB's own screens, its API, `flask fab reset-password`, a service) passes through the flush.
"""
import base64
import functools
import json

from flask import current_app, g, has_request_context, jsonify, request, session
from flask_appbuilder.security.sqla.models import Group, User
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import ValidationError, validate_csrf
from sqlalchemy import bindparam, event, inspect, select
from sqlalchemy.orm import Session, joinedload

from app.models.sessions import SessionEpoch
from app.security import grants
from app.services.params import as_id

EPOCH_KEY = "_auth_epoch"  # in the signed session cookie
EPOCH_CLAIM = "epoch"  # in every JWT
_LOADED = "school.user_and_epoch"  # request.environ: {user id: (user, epoch)} read this request
_STAFF = "school.staff_of_user"  # request.environ: {user id: their staff record or None}, read with the user

API_NEEDS_CSRF = _l("The REST API takes a browser session only with its CSRF token in the X-CSRFToken header; "
                    "other clients sign in for a JWT (POST /api/v1/security/login) and send it as "
                    "Authorization: Bearer.")


def current_epoch(user_id: int) -> int:
    """The user's epoch now (0 before the first bump)."""
    from app.extensions import db

    return db.session.scalar(select(SessionEpoch.epoch).where(SessionEpoch.user_id == user_id)) or 0


@functools.cache
def _user_statement(with_grants: bool):
    """The statement of `user_and_epoch`, built once per process (its construction cost more Python than
    the rest of a bare page's signing-in); parameters `user_id` and `public_role`."""
    from app.models import Staff

    user_id = bindparam("user_id")
    extra = grants.user_columns(user_id, bindparam("public_role")) if with_grants else ()
    return (select(User, SessionEpoch.epoch, Staff, *extra)
            .outerjoin(SessionEpoch, SessionEpoch.user_id == User.id)
            .outerjoin(Staff, Staff.user_id == User.id)  # who this is in the school: every scope asks
            .where(User.id == user_id)
            .options(joinedload(User.roles), joinedload(User.groups).joinedload(Group.roles)))


def user_and_epoch(user_id: int) -> tuple[User | None, int]:
    """The user with their roles, groups and the groups' roles, their epoch, their staff record and (in a
    request) the grants of their roles and of the public role: one statement, read once per request (the
    session or JWT check, FAB's user loader and every permission check need them; separately they were six
    statements). A bump in the request forgets it."""
    from app.extensions import db

    in_request = has_request_context()
    memo = request.environ.setdefault(_LOADED, {}) if in_request else {}
    if user_id not in memo:
        public_role = current_app.appbuilder.sm.auth_role_public if in_request else None
        row = db.session.execute(_user_statement(in_request), {"user_id": user_id, "public_role": public_role}
                                 ).unique().first()
        memo[user_id] = (row[0], row[1] or 0) if row else (None, 0)
        if in_request:
            request.environ.setdefault(_STAFF, {})[user_id] = row[2] if row else None
            if row:
                roles = [*row[0].roles, *(role for group in row[0].groups for role in group.roles)]
                grants.remember(public_role, row[3], [role.id for role in roles], row[4])
    return memo[user_id]


def staff_read_with(user_id: int):
    """(True, the user's staff record or None) when this request read it with the user, else (False, None)."""
    known = request.environ.get(_STAFF, {}) if has_request_context() else {}
    return (True, known[user_id]) if user_id in known else (False, None)


def _bump(session: Session, user_id: int) -> int:
    if has_request_context():
        request.environ.pop(_LOADED, None)
    with session.no_autoflush:
        row = session.get(SessionEpoch, user_id)
        if row is None:
            row = SessionEpoch(user_id=user_id, epoch=0)
            session.add(row)
        row.epoch = (row.epoch or 0) + 1
    return row.epoch


def end_sessions(user_id: int) -> None:
    """End every session and token of the user (logout); the caller commits."""
    from app.extensions import db

    _bump(db.session, user_id)


def _password_changed(user: User) -> bool:
    return inspect(user).attrs.password.history.has_changes()


def _deactivated(user: User) -> bool:
    return False in inspect(user).attrs.active.history.added


@event.listens_for(Session, "before_flush")
def _end_sessions_of_changed_users(db_session: Session, _flush_context, _instances) -> None:
    """A new password or a deactivation ends the user's sessions and tokens. The request that changed its
    own user's password keeps going under the new epoch (its old cookie, if copied, does not)."""
    for user in [o for o in db_session.dirty if isinstance(o, User)]:
        password, deactivated = _password_changed(user), _deactivated(user)
        if not (password or deactivated):
            continue
        epoch = _bump(db_session, user.id)
        if password and not deactivated and has_request_context() and session_user_id() == user.id:
            session[EPOCH_KEY] = epoch


def session_user_id() -> int | None:
    """The user id the browser session names (whether or not its epoch is still current)."""
    value = session.get("_user_id")
    return int(value) if value is not None and str(value).isdigit() else None


def claimed_user_id() -> int | None:
    """The user id the request claims: its bearer token's subject (read, not verified: the token is checked
    later as ever; PyJWT's decode would parse it a fifth time), else its session's. Only to read that user
    with the public grants in one statement."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return session_user_id()
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):  # binascii, JSON and Unicode errors are ValueErrors
        return None
    return as_id(claims.get("sub")) if isinstance(claims, dict) else None  # a number no row has: none


def stamp_session(_sender, user, **_extra) -> None:
    """Flask-Login's user_logged_in: the new session carries the user's current epoch."""
    session[EPOCH_KEY] = current_epoch(user.id)


def session_is_current(user) -> bool:
    """Whether the browser session was issued under the user's current epoch."""
    return session.get(EPOCH_KEY) == user_and_epoch(user.id)[1]


def jwt_claims(identity) -> dict:
    """Every JWT (access and refresh) carries its user's epoch."""
    try:
        return {EPOCH_CLAIM: current_epoch(int(identity))}
    except (TypeError, ValueError):
        return {}


def jwt_revoked(_header: dict, payload: dict) -> bool:
    """A JWT issued under an older epoch (or without one) is revoked: 401."""
    try:
        user_id = int(payload.get("sub"))
    except (TypeError, ValueError):
        return True
    return payload.get(EPOCH_CLAIM) != user_and_epoch(user_id)[1]


def _api_revoked(_header: dict, _payload: dict):
    return jsonify(msg="Token has been revoked"), 401


def api_session_needs_csrf():
    """On the REST API a bearer token decides alone (the session cookie is ignored), and a write with the
    browser session alone needs its CSRF token in X-CSRFToken (a JSON 400 otherwise): a cookie is sent by
    the browser on its own, a header only by the page itself. FAB's login and refresh are token-only."""
    if not request.path.startswith("/api/") or request.blueprint == "SecurityApi":
        return None
    if request.headers.get("Authorization"):
        g._login_user = current_app.login_manager.anonymous_user()
        return None
    if request.method not in current_app.config["WTF_CSRF_METHODS"] or \
            not current_app.config.get("WTF_CSRF_ENABLED", True) or not current_user.is_authenticated:
        return None
    token = next((request.headers[h] for h in current_app.config["WTF_CSRF_HEADERS"] if request.headers.get(h)),
                 None)
    try:
        validate_csrf(token)
    except ValidationError:
        return jsonify(message=str(API_NEEDS_CSRF)), 400
    return None


def install_jwt(jwt_manager) -> None:
    """Every JWT carries its user's epoch; one of an older epoch is revoked."""
    jwt_manager.additional_claims_loader(jwt_claims)
    jwt_manager.token_in_blocklist_loader(jwt_revoked)
    jwt_manager.revoked_token_loader(_api_revoked)


def install(app) -> None:
    """A new session carries the current epoch; the API's requests are checked as above."""
    from flask_login import user_logged_in

    user_logged_in.connect(stamp_session, app)
    app.before_request(api_session_needs_csrf)
