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
from collections import defaultdict
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


def _school_of(obj) -> int:
    """The school of a row about to be flushed (0: none): its school_id, or the school it was given as an
    object (its school lock and, for an audited row, its chain)."""
    school = obj.school_id if hasattr(obj, "school_id") else None
    if school is None:
        school = getattr(obj.__dict__.get("school"), "id", None)
    return school or 0


def _schools_row(obj) -> bool:
    """An audited row, or any row of a school (the statistics read some that are not audited: classes, subjects,
    staff, assignments, and group members through their group)."""
    return _is_audited(obj) or hasattr(obj, "school_id")


@event.listens_for(Session, "before_flush")
def _lock_chains_before_writing(session: Session, _flush_context, _instances) -> None:
    """On PostgreSQL, take the school lock (the audit chain's) of each school whose rows the flush writes, before
    it writes them. A school's writers then take their locks in one order: this one, then the rows written and
    the statistics token's row (its triggers take this lock too, for writes that pass no flush; migration 0017).
    Taken after the writes, a writer holding a row or the token while waiting for it could deadlock with one
    holding it while waiting for that row or the token."""
    changed = [o for o in session.new if _schools_row(o)] + [o for o in session.deleted if _schools_row(o)] + [
        o for o in session.dirty if _schools_row(o) and session.is_modified(o)]
    locked = session.info["audit_locked"] = set()
    if changed and session.get_bind().dialect.name == "postgresql":
        connection = session.connection()
        for school in sorted({_school_of(o) for o in changed}):
            _lock_chain(connection, school)
            locked.add(school)


def _lock_chain(connection, school: int) -> None:
    """The writers of one school's chain take turns (an advisory lock keyed by the school, held to the commit)."""
    connection.execute(text("SELECT pg_advisory_xact_lock(CAST(:chain AS integer), CAST(:school AS integer))"),
                       {"chain": CHAIN_LOCK, "school": school})


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
    _append(session, rows, locked=session.info.pop("audit_locked", set()))


def _append(session: Session, rows: list[dict], locked: set[int] = frozenset()) -> None:
    """Chain each event after the newest one of its school (no school: a chain of its own) and insert them in
    the session's transaction. On PostgreSQL the writers of one school take turns (an advisory lock keyed by
    the school, held to the commit; `locked`: the schools whose lock this transaction took before the flush);
    other schools' writers do not wait."""
    if not rows:
        return
    connection, key = session.connection(), audit_key()
    by_school = defaultdict(list)
    for row in rows:
        by_school[row["school_id"]].append(row)
    for school_id in sorted(by_school, key=lambda s: s or 0):  # one order of locks: no deadlock within a flush
        if connection.dialect.name == "postgresql" and (school_id or 0) not in locked:
            _lock_chain(connection, school_id or 0)
        previous = connection.execute(select(AuditEvent.hash).where(same_chain(school_id))
                                      .order_by(AuditEvent.id.desc()).limit(1)).scalar() or ""
        for row in by_school[school_id]:
            row["prev_hash"] = previous
            row["hash"] = previous = event_hash(row, key)
    connection.execute(insert(AuditEvent), rows)


def same_chain(school_id: int | None):
    """The condition on AuditEvent of one school's chain (the index (school_id, id) serves both)."""
    return AuditEvent.school_id.is_(None) if school_id is None else AuditEvent.school_id == school_id


def record_created(session: Session, model, rows: list[dict]) -> None:
    """Audit rows a bulk INSERT created (the session's events do not see it): one «create» event each,
    `after` holding every column as the row now stands."""
    user_id, username = current_actor()
    now = clock.utcnow()
    columns = [c.key for c in inspect(model).column_attrs]
    _append(session, [{"at": now, "school_id": row.get("school_id"), "user_id": user_id, "username": username,
                       "entity": model.__tablename__, "entity_id": row["id"], "action": "create", "before": None,
                       "after": {k: _plain(row.get(k)) for k in columns}} for row in rows])


CHAIN_LOCK = 7_152_009  # advisory lock key of the audit chains (with the school's id as the second key)
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


def legacy_hash(row: dict) -> str:
    """The unkeyed SHA-256 the chain had before AUDIT_KEY (only to re-key a trail written then)."""
    return hashlib.sha256(_hashed_message(row)).hexdigest()


def verify_chain(batch: int = 5000, anchors: list[dict] | None = None) -> tuple[int, str | None]:
    """Every chain of the trail verified (app.services.audit_chain): (rows found intact, the problems of the
    broken chains, each named, or None)."""
    from app.services.audit_chain import verify_chains

    return verify_chains(batch, anchors)


def rekey_legacy_chain() -> tuple[int, str | None]:
    """Once, at the upgrade to AUDIT_KEY (app.services.audit_chain.rekey)."""
    from app.services.audit_chain import rekey

    return rekey()
