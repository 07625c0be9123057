"""The outbox as the school's staff see it: counts by state, the oldest waiting message, «retry
failed», the initial sync of families who consented before the exchange was switched on, and the archive
that keeps the job's table the size of what is in flight (`prune`)."""
import datetime as dt
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, insert, literal, select, union, update
from sqlalchemy.orm import joinedload

from app.exchange import payloads
from app.exchange.capture import message_row
from app.extensions import db
from app.models import OutboxArchive, OutboxMessage, OutboxStatus, Student
from app.services import clock
from app.services.consent import electronic_recipients

WAITING = (OutboxStatus.queued, OutboxStatus.sending)


@dataclass
class OutboxState:
    """Counts by status and the age of the oldest waiting message."""

    counts: dict[str, int] = field(default_factory=dict)
    oldest_waiting: dt.datetime | None = None
    last_accepted: dt.datetime | None = None
    archived: int = 0  # accepted messages moved to the archive by `prune`

    def count(self, status: OutboxStatus) -> int:
        return self.counts.get(status.value, 0)

    def oldest_age(self, now: dt.datetime) -> dt.timedelta | None:
        return now - self.oldest_waiting if self.oldest_waiting else None


def age_text(age: dt.timedelta | None) -> str:
    """«2 d 3 h», «5 h 10 min», «7 min»; empty for no age."""
    if age is None:
        return ""
    minutes = max(int(age.total_seconds()) // 60, 0)
    days, hours, minutes = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return str(_l("%(days)d d %(hours)d h", days=days, hours=hours))
    if hours:
        return str(_l("%(hours)d h %(minutes)d min", hours=hours, minutes=minutes))
    return str(_l("%(minutes)d min", minutes=minutes))


def state(school_id: int | None = None) -> OutboxState:
    """The outbox at a glance (one grouped query and a few aggregates), the archive's count included."""
    def scoped(query, model=OutboxMessage):
        return query.where(model.school_id == school_id) if school_id else query

    counts = dict(db.session.execute(scoped(select(OutboxMessage.status, func.count()).group_by(
        OutboxMessage.status))).all())
    archived, archived_last = db.session.execute(scoped(select(func.count(), func.max(OutboxArchive.accepted_at)),
                                                        OutboxArchive)).one()
    last = db.session.scalar(scoped(select(func.max(OutboxMessage.accepted_at))))
    return OutboxState(
        counts={getattr(k, "value", k): v for k, v in counts.items()},
        oldest_waiting=db.session.scalar(scoped(select(func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status.in_(WAITING)))),
        last_accepted=max(filter(None, (last, archived_last)), default=None), archived=archived)


def waiting_and_failed(school_id: int | None = None) -> dict[str, int]:
    """{"waiting": n, "failed": n} of the school (or of every school): one grouped count."""
    query = select(OutboxMessage.status, func.count()).where(  # unsettled: the partial index on PostgreSQL
        OutboxMessage.unsettled, OutboxMessage.status.in_([*WAITING, OutboxStatus.failed])).group_by(
        OutboxMessage.status)
    if school_id:
        query = query.where(OutboxMessage.school_id == school_id)
    counts = dict(db.session.execute(query).all())
    return {"waiting": sum(counts.get(s, 0) for s in WAITING), "failed": counts.get(OutboxStatus.failed, 0)}


def latest_failed(school_id: int | None, limit: int) -> list[OutboxMessage]:
    """The school's (or every school's) most recent failed messages with their students."""
    query = select(OutboxMessage).options(joinedload(OutboxMessage.student)).where(
        OutboxMessage.unsettled, OutboxMessage.status == OutboxStatus.failed).order_by(OutboxMessage.id.desc())
    if school_id:
        query = query.where(OutboxMessage.school_id == school_id)
    return db.session.scalars(query.limit(limit)).all()


def retry_failed(school_id: int | None = None) -> int:
    """Put every failed message back in the queue, due now, with fresh attempts (the caller commits)."""
    query = update(OutboxMessage).where(OutboxMessage.status == OutboxStatus.failed)
    if school_id:
        query = query.where(OutboxMessage.school_id == school_id)
    return db.session.execute(query.values(status=OutboxStatus.queued, attempts=0, next_attempt_at=clock.utcnow(),
                                           failure="").execution_options(synchronize_session=False)).rowcount


def initial_sync(school_id: int | None = None) -> int:
    """Queue a full sync for each consented current student who has none waiting or accepted (the
    caller commits). Families consented before the exchange began get their diary this way."""
    query = select(Student).where(Student.left_on.is_(None))
    if school_id:
        query = query.where(Student.school_id == school_id)
    students = db.session.scalars(query.order_by(Student.id)).all()
    today = clock.today()
    electronic = electronic_recipients([s.id for s in students], today)
    synced = set(db.session.scalars(union(  # an archived snapshot was accepted: the family has its diary
        select(OutboxMessage.student_id).where(
            OutboxMessage.kind == "snapshot", OutboxMessage.status.in_([*WAITING, OutboxStatus.accepted])),
        select(OutboxArchive.student_id).where(OutboxArchive.kind == "snapshot"))))
    now, queued = clock.utcnow(), 0
    due = [s for s in students if s.id in electronic and s.id not in synced]
    for start in range(0, len(due), 50):  # snapshots are large: a few at a time
        chunk = due[start:start + 50]
        db.session.execute(insert(OutboxMessage), [message_row(
            "snapshot", s.id, s.school_id, payloads.snapshot(s, today), now, "student", s.id) for s in chunk])
        queued += len(chunk)
    return queued


ARCHIVED_COLUMNS = ("id", "key", "kind", "student_id", "school_id", "entity", "entity_id", "entity_version", "payload",
                    "created_at", "attempts", "worker", "accepted_at")
PRUNE_CHUNK = 5000


def prune(before: dt.datetime) -> int:
    """Move the messages the portal accepted before `before` (naive UTC) to the archive, whole, in chunks
    (each committed). Waiting, failed and cancelled messages stay, whatever their age: the job, «retry failed»
    and the outbox page still need them. Nothing else reads accepted messages but the counts (`state`, which
    adds the archive) and the initial sync (which counts an archived snapshot as delivered); the 24-hour rule
    reads `published_at` on the results themselves. Returns how many were moved."""
    old = select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.accepted,
                                         OutboxMessage.accepted_at < before).order_by(OutboxMessage.id)
    source = [getattr(OutboxMessage, c) for c in ARCHIVED_COLUMNS]
    moved = 0
    while ids := db.session.scalars(old.limit(PRUNE_CHUNK)).all():
        db.session.execute(insert(OutboxArchive).from_select(
            [*ARCHIVED_COLUMNS, "archived_at"],
            select(*source, literal(clock.utcnow(), OutboxArchive.archived_at.type)).where(OutboxMessage.id.in_(ids))))
        db.session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids)).execution_options(
            synchronize_session=False))
        db.session.commit()
        moved += len(ids)
    return moved
