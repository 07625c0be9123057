"""The outbox (SPEC §6): every flush that changes something a family sees queues, in the same
transaction, one message per student concerned whose family receives data electronically (the
consent service's gate: a current consent and a channel other than paper). A rolled-back change leaves
no message.

A new consent (or a consented family leaving paper) queues the student's full initial sync, and so does
a move to another class (the new class's teachers, timetable and lessons); a withdrawal or refusal
cancels what is still waiting and queues the withdrawal message, the last one the portal gets about the
student; a consented family choosing paper has what waits cancelled.
New final grades and lesson changes also compose the family's notifications (delivery.py).
"""
import datetime as dt
import uuid

from flask_babel import gettext as _
from sqlalchemy import event, insert, inspect, update
from sqlalchemy.orm import Session

from app.exchange import payloads
from app.models import (
    Consent,
    DeliveryPreference,
    Enrolment,
    ExamResult,
    Lesson,
    Notification,
    OutboxMessage,
    OutboxStatus,
    Student,
)
from app.services import clock
from app.services.consent import electronic_recipients, statuses

IGNORED = {"published_at", "recorded_at"}  # bookkeeping of the exchange itself, not news for families


def message_row(kind: str, student_id: int, school_id: int, payload: dict, now: dt.datetime,
                entity: str = "", entity_id: int | None = None, entity_version: int | None = None) -> dict:
    """One outbox row, ready for a Core insert."""
    return {"key": uuid.uuid4().hex, "kind": kind, "student_id": student_id, "school_id": school_id,
            "entity": entity, "entity_id": entity_id, "entity_version": entity_version, "payload": payload,
            "created_at": now, "next_attempt_at": now, "status": OutboxStatus.queued, "attempts": 0,
            "worker": "", "failure": ""}


def _students_of(session: Session, obj, today: dt.date) -> set[int]:
    """Students whose diary shows this row (its kind says who reads it)."""
    return payloads.KINDS[type(obj)].audience(session, obj, today)


def _changed_columns(obj) -> set[str]:
    state = inspect(obj)
    return {a.key for a in state.mapper.column_attrs if state.attrs[a.key].history.has_changes()}


def _worth_telling(session: Session, obj, deleted: bool) -> bool:
    """Skip changes families cannot see: bookkeeping columns, and bare planned lessons (the timetable
    tells of those; a lesson is news once it has a topic or homework)."""
    changed = _changed_columns(obj) if obj in session.dirty else None
    if isinstance(obj, Lesson) and not deleted and not (obj.topic or obj.homework):
        return bool(changed and changed & {"topic", "homework"})  # cleared: the portal must drop the old text
    return changed is None or bool(changed - IGNORED)


def _changes(session: Session):
    for obj in session.new:
        yield obj, False
    for obj in session.dirty:
        if session.is_modified(obj, include_collections=False):
            yield obj, False
    for obj in session.deleted:
        yield obj, True


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context, _instances) -> None:
    """A changed exam result must reach the family again, its 24 hours counted anew (whatever path
    changed it); and before a new consent decision lands, note who could already receive data
    electronically."""
    for obj in session.dirty:
        if isinstance(obj, ExamResult) and _changed_columns(obj) - IGNORED:
            obj.published_at, obj.recorded_at = None, clock.utcnow()
    students = {c.student_id or (c.student and c.student.id) for c in _standing_changes(session)}
    students.discard(None)
    if students:
        with session.no_autoflush:
            ids, today = sorted(students), clock.today()
            standing = statuses(ids, today)
            session.info["exchange_electronic_before"] = electronic_recipients(ids, today, standing)
            session.info["exchange_consented_before"] = {s for s, st in standing.items() if st.electronic}


def _standing_changes(session: Session):
    """New consent decisions and changed delivery preferences: what may move a family between channels."""
    for obj in session.new:
        if isinstance(obj, (Consent, DeliveryPreference)):
            yield obj
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, DeliveryPreference):
            yield obj


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context) -> None:
    """Note what changed while the session still knows (history); the messages are built after the
    flush, when new rows have their relations."""
    found = [(obj, deleted) for obj, deleted in _changes(session)
             if not isinstance(obj, (Consent, DeliveryPreference)) and _worth_telling(session, obj, deleted)]
    consents = list(_standing_changes(session))
    if found or consents:
        session.info.setdefault("exchange_changes", []).extend(found)
        session.info.setdefault("exchange_consents", []).extend(consents)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, _previous_transaction) -> None:
    """A failed flush or a rollback: what was noted belongs to changes that never happened."""
    for key in ("exchange_changes", "exchange_consents", "exchange_electronic_before", "exchange_consented_before"):
        session.info.pop(key, None)


@event.listens_for(Session, "after_flush_postexec")
def _capture(session: Session, _context) -> None:
    found, consents = session.info.pop("exchange_changes", []), session.info.pop("exchange_consents", [])
    before = (session.info.pop("exchange_electronic_before", set()),
              session.info.pop("exchange_consented_before", set()))
    described = [(obj, deleted, *d) for obj, deleted in found if (d := payloads.describe(obj, deleted))]
    moved = {obj.student_id: obj.id for obj, _ in found if isinstance(obj, Enrolment)}
    if not described and not consents and not moved:
        return
    today, now = clock.today(), clock.utcnow()
    concerned = [(item, _students_of(session, item[0], today)) for item in described]
    everyone = sorted({sid for _, students in concerned for sid in students})
    electronic = electronic_recipients(everyone, today) if everyone else set()
    rows, notices = [], []
    for (obj, deleted, kind, payload), students in concerned:
        to = sorted(students & electronic)
        entity = type(obj).__tablename__
        version = getattr(obj, "version", None)
        rows += [message_row(kind, sid, obj.school_id, payload, now, entity, obj.id, version) for sid in to]
        if to and not deleted and _notable(obj):
            from app.exchange.delivery import notice_rows
            notices += notice_rows(obj, to, now)
    if consents:
        rows += _consent_changes(session, consents, before, today, now)
    for sid in {c.student_id for c in consents}:
        moved.pop(sid, None)  # its consent already queued what the move would
    if moved:
        rows += _resync(session, moved, today, now)
    connection = session.connection()
    if rows:
        connection.execute(insert(OutboxMessage), rows)
    if notices:
        connection.execute(insert(Notification), notices)


def _notable(obj) -> bool:
    """Changes the family is also notified of by their channel (a final grade set, a lesson changed)."""
    return payloads.KINDS[type(obj)].notable(obj)


def _consent_changes(session: Session, changes: list, before: tuple[set[int], set[int]], today: dt.date,
                     now: dt.datetime) -> list[dict]:
    """A family that now receives electronically (a consent, or a channel other than paper) gets its full
    diary; one whose consent ended has what waits cancelled and the withdrawal queued; one that chose paper
    under a standing consent has what waits cancelled (the portal may keep what it lawfully received)."""
    decisions = {}
    for change in changes:  # a consent decision is the cause over a preference changed in the same flush
        if isinstance(change, Consent) or change.student_id not in decisions:
            decisions[change.student_id] = change
    ids = sorted(decisions)
    standing = statuses(ids, today)
    after = electronic_recipients(ids, today, standing)
    consented = {sid for sid, status in standing.items() if status.electronic}
    rows = []
    for sid, cause in decisions.items():
        entity = type(cause).__tablename__
        if sid in after and sid not in before[0]:
            _cancel(session, sid, _("consent given again: do not send the withdrawal"), kind="withdrawal")
            student = session.get(Student, sid)
            rows.append(message_row("snapshot", sid, cause.school_id, payloads.snapshot(student, today), now,
                                    entity, cause.id))
        elif sid in before[1] and sid not in consented and isinstance(cause, Consent):
            _cancel(session, sid, _("consent withdrawn: do not send"), claimed=True)
            rows.append(message_row("withdrawal", sid, cause.school_id, payloads.withdrawal(cause), now,
                                    entity, cause.id))
        elif sid in before[0] and sid not in after:
            _cancel(session, sid, _("the family chose paper: do not send"), claimed=True)
    return rows


def _resync(session: Session, moved: dict[int, int], today: dt.date, now: dt.datetime) -> list[dict]:
    """The full diary again for a consented student whose enrolment changed (student id → enrolment id);
    it replaces a snapshot still waiting (a move is several flushes: the last one has the new class)."""
    rows = []
    for sid in sorted(electronic_recipients(sorted(moved), today)):
        student = session.get(Student, sid)
        if student is not None:
            _cancel(session, sid, _("replaced by a newer snapshot of the diary"), kind="snapshot")
            rows.append(message_row("snapshot", sid, student.school_id, payloads.snapshot(student, today), now,
                                    "enrolment", moved[sid]))
    return rows


def _cancel(session: Session, student_id: int, reason: str, kind: str | None = None, claimed: bool = False) -> None:
    """Cancel the student's messages that have not left (of one kind, or all); with `claimed`, also those a
    worker holds and the portal has not acknowledged (the worker asks before each POST and keeps its hands off
    them afterwards; their lease keeps the withdrawal behind them until the worker lets go)."""
    waiting = [OutboxStatus.queued, OutboxStatus.failed] + ([OutboxStatus.sending] if claimed else [])
    query = update(OutboxMessage).where(OutboxMessage.student_id == student_id, OutboxMessage.unsettled,
                                        OutboxMessage.status.in_(waiting))
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    session.connection().execute(query.values(status=OutboxStatus.cancelled, failure=reason))
