"""The audit trail, written by the session itself: every flush of an audited row adds its
AuditEvent in the same transaction, whoever saves it (view, API, service, CLI, job).

Models opt in with `__audited__ = True`; the actor is the request's user, or the one named by
`acting_as(...)` in the CLI and jobs. The chain is keyed (HMAC-SHA256 with `AUDIT_KEY`, kept outside
the database), so whoever can only write the table cannot recompute it; anchors (`app.services.
audit_anchor`) kept outside the database reveal rows removed from its end.
"""
import contextlib
import datetime as dt
import enum
import hashlib
import hmac
import json
from contextvars import ContextVar
from decimal import Decimal

from flask import current_app, g, has_request_context
from sqlalchemy import event, insert, inspect, select, text
from sqlalchemy.orm import Session

from app.models.audit import AuditEvent
from app.services import clock

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


def _needs_reading(state, deleting: bool) -> bool:
    """Whether the session does not know a value the row had before this flush: an attribute set after
    a commit expired it (history has the new value only), or, for a deletion, one never loaded."""
    for attr in state.mapper.column_attrs:
        if attr.key in state.unloaded:
            if deleting:
                return True
            continue
        hist = state.attrs[attr.key].history
        if hist.added and not hist.deleted:
            return True
    return False


@event.listens_for(Session, "before_flush")
def _read_unknown_before(session: Session, _flush_context, _instances) -> None:
    """Read from the database, before the flush overwrites them, the old values of audited rows
    the session cannot tell (otherwise `before` would claim they were empty)."""
    known = session.info["audit_before"] = {}
    versions = session.info["audit_versions"] = {}
    deleted = session.deleted
    for obj in list(session.dirty) + list(deleted):
        state = inspect(obj)
        if not _is_audited(obj) or state.key is None:
            continue
        version = state.mapper.version_id_col
        if version is not None:  # the mapper bumps it during the flush, leaving no history
            key = state.mapper.get_property_by_column(version).key
            versions[state] = (key, getattr(obj, key))
        if not _needs_reading(state, obj in deleted):
            continue
        attrs = list(state.mapper.column_attrs)
        where = [column == value for column, value in zip(state.mapper.primary_key, state.key[1], strict=True)]
        row = session.connection().execute(select(*(a.columns[0] for a in attrs)).where(*where)).first()
        if row is not None:
            known[state] = {a.key: _plain(value) for a, value in zip(attrs, row, strict=True)}


def _row_id(obj) -> int | None:
    """The primary key of a flushed row (new rows get their identity key only after after_flush)."""
    state = inspect(obj)
    key = state.identity or state.mapper.primary_key_from_instance(obj)
    return key[0] if key else None


def _is_audited(obj) -> bool:
    return getattr(type(obj), "__audited__", False)


@event.listens_for(Session, "after_flush")
def _write_audit(session: Session, _flush_context) -> None:
    rows = []
    known = session.info.pop("audit_before", {})
    versions = session.info.pop("audit_versions", {})
    user_id, username = current_actor()
    now = clock.utcnow()
    changes = [("create", o) for o in session.new] + [("update", o) for o in session.dirty] + \
              [("delete", o) for o in session.deleted]
    for action, obj in changes:
        if not _is_audited(obj):
            continue
        if action == "update" and not session.is_modified(obj, include_collections=False):
            continue
        before = None if action == "create" else \
            known.get(inspect(obj)) or _snapshot(obj, before=action == "update")
        if action == "update" and inspect(obj) in versions:
            key, old = versions[inspect(obj)]
            before = {**before, key: old}
        after = None if action == "delete" else _snapshot(obj)
        if action == "update" and before == after:
            continue
        rows.append({"at": now, "school_id": getattr(obj, "school_id", None), "user_id": user_id,
                     "username": username, "entity": type(obj).__tablename__,
                     "entity_id": _row_id(obj),
                     "action": action, "before": before, "after": after})
    _append(session, rows)


def _append(session: Session, rows: list[dict]) -> None:
    """Chain the events after the newest one and insert them in the session's transaction."""
    if rows:
        connection = session.connection()
        if connection.dialect.name == "postgresql":  # one chain: writers of audited rows take turns
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})
        previous = connection.execute(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).scalar()
        previous, key = previous or "", audit_key()
        for row in rows:
            row["prev_hash"] = previous
            row["hash"] = previous = event_hash(row, key)
        connection.execute(insert(AuditEvent), rows)


def record_created(session: Session, model, rows: list[dict]) -> None:
    """Audit rows a bulk INSERT created (the session's events do not see it): one «create» event each,
    `after` holding every column as the row now stands."""
    user_id, username = current_actor()
    now = clock.utcnow()
    columns = [c.key for c in inspect(model).column_attrs]
    _append(session, [{"at": now, "school_id": row.get("school_id"), "user_id": user_id, "username": username,
                       "entity": model.__tablename__, "entity_id": row["id"], "action": "create", "before": None,
                       "after": {k: _plain(row.get(k)) for k in columns}} for row in rows])


CHAIN_LOCK = 7_152_009  # advisory lock key of the audit chain
HASHED_FIELDS = ("prev_hash", "at", "school_id", "user_id", "username", "entity", "entity_id", "action",
                 "before", "after")


class MissingAuditKey(RuntimeError):
    """No AUDIT_KEY: the chain cannot be written or checked."""


def audit_key() -> str:
    """The chain's secret (AUDIT_KEY, from the environment; production refuses to start without it)."""
    key = current_app.config.get("AUDIT_KEY")
    if not key:
        raise MissingAuditKey("AUDIT_KEY is not set: the audit chain is keyed with it.")
    return key


def _hashed_message(row: dict) -> bytes:
    """What the chain hashes of an event: its content and the previous hash, as canonical JSON."""
    content = {k: row[k].isoformat() if isinstance(row[k], dt.datetime) else row[k] for k in HASHED_FIELDS}
    return json.dumps(content, sort_keys=True, ensure_ascii=False, default=str).encode()


def event_hash(row: dict, key: str | None = None) -> str:
    """HMAC-SHA256 (keyed with AUDIT_KEY) of an event's content and the previous event's hash: without
    the key nobody can recompute the chain after editing a row."""
    return hmac.new((key or audit_key()).encode(), _hashed_message(row), hashlib.sha256).hexdigest()


def verify_chain(batch: int = 5000, anchors: dict[int, dict] | None = None) -> tuple[int, str | None]:
    """Walk the trail in id order; returns (rows checked, the first problem or None). `anchors` (by row
    count, see audit_anchor.read_anchors) also demand that the count-th row still has the anchored hash,
    and that the trail is at least that long."""
    from app.extensions import db

    previous, checked, last_id, key, anchors = "", 0, 0, audit_key(), anchors or {}
    while True:
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.id > last_id)
                                    .order_by(AuditEvent.id).limit(batch)).all()
        if not events:
            return checked, _shorter_than_anchored(checked, last_id, anchors)
        for event_row in events:
            row = {k: getattr(event_row, k) for k in HASHED_FIELDS}
            if event_row.prev_hash != previous:
                return checked, (f"запись №{event_row.id}: не совпадает хеш предыдущей записи — запись перед ней "
                                 f"удалена, вставлена или переставлена")
            if event_hash(row, key) != event_row.hash:
                return checked, f"запись №{event_row.id}: содержимое изменено после записи"
            anchor = anchors.get(checked + 1)
            if anchor is not None and anchor["hash"] != event_row.hash:
                return checked, (f"запись №{event_row.id}: хеш не совпадает с привязкой от {anchor['at']} "
                                 f"(запись {checked + 1} по счёту) — журнал до неё перестроен")
            previous, checked, last_id = event_row.hash, checked + 1, event_row.id


def _shorter_than_anchored(checked: int, last_id: int, anchors: dict[int, dict]) -> str | None:
    """The problem of a trail that ends before the longest anchor's row (its tail was removed)."""
    longest = max(anchors, default=0)
    if longest <= checked:
        return None
    anchor = anchors[longest]
    first = f"после записи №{last_id}" if last_id else "с первой"
    return (f"записи {first} удалены: по привязке от {anchor['at']} в журнале было записей {longest} "
            f"(последняя №{anchor['last_id']}), сейчас {checked}")


def legacy_hash(row: dict) -> str:
    """The unkeyed SHA-256 the chain had before AUDIT_KEY (only to re-key a trail written then)."""
    return hashlib.sha256(_hashed_message(row)).hexdigest()


def rekey_legacy_chain() -> tuple[int, str | None]:
    """Once, at the upgrade: check the trail under the old unkeyed hash and, only if it is intact, chain it
    again with AUDIT_KEY. Returns (rows re-keyed, the first problem or None); on a problem nothing changes."""
    from app.extensions import db

    old_previous, new_previous, done, key = "", "", 0, audit_key()
    for event_row in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        row = {k: getattr(event_row, k) for k in HASHED_FIELDS}
        if event_row.prev_hash != old_previous or legacy_hash(row) != event_row.hash:
            db.session.rollback()
            return 0, f"запись №{event_row.id}: цепочка без ключа нарушена — перевод на ключ отменён"
        old_previous = event_row.hash
        event_row.prev_hash = row["prev_hash"] = new_previous
        event_row.hash = new_previous = event_hash(row, key)
        done += 1
    db.session.commit()
    return done, None
