"""The audit trail, written by the session itself: every flush of an audited row adds its
AuditEvent in the same transaction, whoever saves it (view, API, service, CLI, job).

Models opt in with `__audited__ = True`; the actor is the request's user, or the one named by
`acting_as(...)` in the CLI and jobs.
"""
import contextlib
import datetime as dt
import enum
from contextvars import ContextVar
from decimal import Decimal

from flask import g, has_request_context
from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session

from app.models.audit import AuditEvent

_actor: ContextVar[tuple[int | None, str] | None] = ContextVar("audit_actor", default=None)


@contextlib.contextmanager
def acting_as(username: str, user_id: int | None = None):
    """Attribute the changes made inside the block to this actor (CLI, jobs, demo)."""
    token = _actor.set((user_id, username))
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor() -> tuple[int | None, str]:
    """(user id, username) of whoever is changing data now."""
    explicit = _actor.get()
    if explicit:
        return explicit
    if has_request_context():
        from flask import current_app

        user = current_app.appbuilder.sm.current_user if hasattr(current_app, "appbuilder") else None
        user = user or getattr(g, "user", None)
        if user is not None and getattr(user, "id", None):
            return user.id, user.username
    return None, "system"


def _plain(value):
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _snapshot(obj, before: bool = False) -> dict:
    state = inspect(obj)
    out = {}
    for attr in state.mapper.column_attrs:
        hist = state.attrs[attr.key].history
        if before and hist.deleted:
            value = hist.deleted[0]
        elif before and hist.added:
            value = None
        else:
            value = getattr(obj, attr.key)
        out[attr.key] = _plain(value)
    return out


def _is_audited(obj) -> bool:
    return getattr(type(obj), "__audited__", False)


@event.listens_for(Session, "after_flush")
def _write_audit(session: Session, _flush_context) -> None:
    rows = []
    user_id, username = current_actor()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    changes = [("create", o) for o in session.new] + [("update", o) for o in session.dirty] + \
              [("delete", o) for o in session.deleted]
    for action, obj in changes:
        if not _is_audited(obj):
            continue
        if action == "update" and not session.is_modified(obj, include_collections=False):
            continue
        before = None if action == "create" else _snapshot(obj, before=action == "update")
        after = None if action == "delete" else _snapshot(obj)
        if action == "update" and before == after:
            continue
        rows.append({"at": now, "school_id": getattr(obj, "school_id", None), "user_id": user_id,
                     "username": username, "entity": type(obj).__tablename__,
                     "entity_id": inspect(obj).identity[0] if inspect(obj).identity else None,
                     "action": action, "before": before, "after": after})
    if rows:
        session.connection().execute(insert(AuditEvent), rows)
