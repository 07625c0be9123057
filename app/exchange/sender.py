"""The exchange job (SPEC §6): claims due outbox messages in batches (row locks with SKIP LOCKED on
PostgreSQL, so several workers never take the same message), asks the consent gate again, sends
through the portal adapter with retries (tenacity, exponential wait), and applies the portal's
receipts: accepted (with `published_at` of finals and exam results from the receipt), rejected
(parked as failed with the reason), or unacknowledged (tried again later, parked after
`EXCHANGE_MAX_ATTEMPTS`)."""
import datetime as dt
import logging
import os
import socket
import time
from dataclasses import dataclass, fields

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import aliased, selectinload
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from app.exchange import payloads
from app.exchange.schema import envelope
from app.exchange.transport import PortalUnavailable, portal_from_config
from app.extensions import db
from app.models import ExamResult, FinalGrade, OutboxMessage, OutboxStatus, School, Student
from app.services import clock
from app.services.consent import electronic_recipients

Q = OutboxMessage
SNAPSHOTS_PER_REQUEST = 10
log = logging.getLogger(__name__)
COLUMNS = (Q.id, Q.key, Q.kind, Q.student_id, Q.school_id, Q.created_at, Q.payload, Q.attempts)


@dataclass
class Run:
    """What a run did."""

    batches: int = 0
    accepted: int = 0
    rejected: int = 0
    unacknowledged: int = 0
    parked: int = 0
    cancelled: int = 0
    portal_down: str = ""

    def add(self, other: "Run") -> None:
        for f in fields(self):
            if f.name != "portal_down":
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        self.portal_down = other.portal_down or self.portal_down


def _due(now: dt.datetime):
    """Queued and due, or claimed by a worker whose lease ran out (it died mid-batch)."""
    earlier = aliased(Q)
    # A message cancelled by a withdrawal while a worker held it stays «busy» until that worker lets go (or its
    # lease ends): the worker may be mid-POST, and the withdrawal must reach the portal after it.
    busy = exists().where(earlier.student_id == Q.student_id, earlier.id < Q.id, or_(
        earlier.status == OutboxStatus.sending,
        and_(earlier.status == OutboxStatus.cancelled, earlier.claimed_until > now)))
    return and_(Q.status.in_([OutboxStatus.queued, OutboxStatus.sending]),  # the partial index
                or_(and_(Q.status == OutboxStatus.queued, Q.next_attempt_at <= now),
                    and_(Q.status == OutboxStatus.sending, Q.claimed_until < now)),
                or_(Q.kind != "withdrawal", ~busy))  # the withdrawal goes after everything before it


def claim(worker: str, now: dt.datetime, limit: int) -> list:
    """Take up to `limit` due messages for this worker (committed), oldest first."""
    chosen = select(Q.id).where(_due(now)).order_by(Q.id).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        chosen = chosen.with_for_update(skip_locked=True)
    lease = now + dt.timedelta(seconds=current_app.config["EXCHANGE_LEASE"])
    ids = db.session.scalars(update(Q).where(Q.id.in_(chosen.scalar_subquery())).values(
        status=OutboxStatus.sending, worker=worker, claimed_until=lease, attempts=Q.attempts + 1,
    ).returning(Q.id).execution_options(synchronize_session=False)).all()
    db.session.commit()
    if not ids:
        return []
    return db.session.execute(select(*COLUMNS).where(Q.id.in_(ids)).order_by(Q.id)).all()


def _blocks(rows) -> tuple[dict, dict]:
    students = db.session.scalars(select(Student).options(selectinload(Student.class_unit)).where(
        Student.id.in_({r.student_id for r in rows}))).all()
    schools = db.session.scalars(select(School).where(School.id.in_({r.school_id for r in rows}))).all()
    return ({s.id: payloads.student_block(s) for s in students}, {s.id: payloads.school_block(s) for s in schools})


def _cleared(request: list[dict], rows: dict, worker: str, refused: set[str]) -> list[dict]:
    """The messages of a request that may leave right now: still held by this worker (a withdrawal cancels
    claimed messages) and the family's consent still current (a withdrawal message always may). Asked before
    every POST attempt, retries included; the refused keys are added to `refused`."""
    keys = [m["idempotency_key"] for m in request if m["idempotency_key"] not in refused]
    held = set(db.session.scalars(select(Q.key).where(Q.key.in_(keys), Q.worker == worker,
                                                      Q.status == OutboxStatus.sending))) if keys else set()
    electronic = electronic_recipients(sorted({rows[k].student_id for k in held}), clock.today())
    db.session.commit()  # no transaction stays open while the portal is called
    cleared = [m for m in request if m["idempotency_key"] in held
               and (m["kind"] == "withdrawal" or rows[m["idempotency_key"]].student_id in electronic)]
    refused.update(set(m["idempotency_key"] for m in request) - {m["idempotency_key"] for m in cleared})
    return cleared


def _send(portal, messages: list[dict], rows: dict, worker: str, refused: set[str]) -> dict:
    """Receipts by key for the messages, sent in order; a snapshot is large, so at most SNAPSHOTS_PER_REQUEST
    of them go in one request. Each request is tried again after a growing pause (tenacity), the consent gate
    asked before each attempt (`_cleared`)."""
    config = current_app.config
    retrying = Retrying(stop=stop_after_attempt(config["EXCHANGE_TRIES"]), reraise=True,
                        wait=wait_exponential_jitter(initial=config["EXCHANGE_RETRY_WAIT"], max=60),
                        retry=retry_if_exception_type(PortalUnavailable))
    requests, snapshots = [[]], 0
    for message in messages:  # in outbox order; a new request after every SNAPSHOTS_PER_REQUEST snapshots
        if message["kind"] == "snapshot":
            if snapshots == SNAPSHOTS_PER_REQUEST:
                requests.append([])
                snapshots = 0
            snapshots += 1
        requests[-1].append(message)

    def attempt(request: list[dict]) -> list:
        cleared = _cleared(request, rows, worker, refused)
        return portal.send(cleared) if cleared else []

    return {r.key: r for request in requests for r in retrying(attempt, request)}


def _still_ours(rows, worker: str) -> set[int]:
    """Ids of the rows this worker still holds: one whose lease ran out may have been claimed (and sent)
    by another worker meanwhile — its outcome is not ours to write."""
    query = select(Q.id).where(Q.id.in_([r.id for r in rows]), Q.worker == worker, Q.status == OutboxStatus.sending)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return set(db.session.scalars(query))


def send_batch(portal, rows, now: dt.datetime, worker: str) -> Run:
    """Send claimed rows and record the outcome of each (committed)."""
    run = Run(batches=1)
    electronic = electronic_recipients(sorted({r.student_id for r in rows}), clock.today())
    leaving = [r for r in rows if r.kind == "withdrawal" or r.student_id in electronic]
    refused = {r.key for r in rows} - {r.key for r in leaving}
    receipts = {}
    if leaving:
        students, schools = _blocks(leaving)
        messages = [envelope(r, students[r.student_id], schools[r.school_id]) for r in leaving]
        try:
            receipts = _send(portal, messages, {r.key: r for r in leaving}, worker, refused)
        except PortalUnavailable as error:
            run.portal_down = str(error)
    ours, changes = _still_ours(rows, worker), []
    for row in (r for r in rows if r.id in ours):
        receipt = receipts.get(row.key)
        if row.key in refused and receipt is None:
            change = _done(row, OutboxStatus.cancelled, "нет согласия или выбрана бумажная форма: не отправлено")
            run.cancelled += 1
        elif receipt is None:
            change = _later(row, run.portal_down or _("the portal did not acknowledge receipt"), now)
            run.parked += change["status"] == OutboxStatus.failed
            run.unacknowledged += 1
        elif receipt.accepted:
            change = _done(row, OutboxStatus.accepted, "", accepted_at=receipt.accepted_at or now)
            _publish(row, change["accepted_at"])
            run.accepted += 1
        else:
            change = _done(row, OutboxStatus.failed,
                           _("rejected by the portal: %(reason)s", reason=receipt.reason)[:500])
            run.rejected += 1
        changes.append(change)
    if changes:
        db.session.execute(update(Q), changes)
    db.session.execute(update(Q).where(  # cancelled while held: the withdrawal behind them may go now
        Q.id.in_([r.id for r in rows]), Q.worker == worker, Q.status == OutboxStatus.cancelled,
        Q.claimed_until.is_not(None)).values(claimed_until=None).execution_options(synchronize_session=False))
    db.session.commit()
    return run


def _done(row, status: OutboxStatus, failure: str, accepted_at: dt.datetime | None = None) -> dict:
    return {"id": row.id, "status": status, "failure": failure, "claimed_until": None, "accepted_at": accepted_at}


def _later(row, reason: str, now: dt.datetime) -> dict:
    """Try again after an exponentially growing pause, or park as failed once out of attempts."""
    config = current_app.config
    if row.attempts >= config["EXCHANGE_MAX_ATTEMPTS"]:
        return _done(row, OutboxStatus.failed, _("%(reason)s (attempts: %(n)d)", reason=reason, n=row.attempts)[:500])
    pause = min(config["EXCHANGE_BACKOFF"] * 2 ** row.attempts, 3600)
    return {"id": row.id, "status": OutboxStatus.queued, "failure": reason[:500], "claimed_until": None,
            "next_attempt_at": now + dt.timedelta(seconds=pause)}


def _publish(row, accepted_at: dt.datetime) -> None:
    """Final grades and exam results the family now has: `published_at` from the portal's receipt."""
    items = row.payload.get("items", []) if row.kind == "snapshot" else [{"kind": row.kind, "payload": row.payload}]
    for item in items:
        data = item["payload"]
        if data.get("deleted"):
            continue
        if item["kind"] == "final_grade":
            db.session.execute(update(FinalGrade.__table__).where(
                FinalGrade.id == data["id"], FinalGrade.version == data["version"],
                FinalGrade.published_at.is_(None)).values(published_at=accepted_at))
        elif item["kind"] == "exam_result":  # unless changed after this message was written
            db.session.execute(update(ExamResult.__table__).where(
                ExamResult.id == data["id"], ExamResult.published_at.is_(None),
                ExamResult.recorded_at <= row.created_at).values(published_at=accepted_at))


def worker_name() -> str:
    """host:pid, shown on claimed messages."""
    return f"{socket.gethostname()}:{os.getpid()}"[:60]


def run(once: bool = False, portal=None, worker: str | None = None, batch: int | None = None,
        deliver=True, report=None) -> Run:
    """Deliver notifications and send every due message; with `once`, stop when nothing is due
    (or the portal is down), else keep polling. `report(run)` is told of each batch."""
    from app.exchange.delivery import deliver as deliver_notifications

    portal = portal or portal_from_config(current_app.config)
    worker, batch = worker or worker_name(), batch or current_app.config["EXCHANGE_BATCH"]
    total = Run()
    while True:
        try:
            if deliver:
                deliver_notifications()
                db.session.commit()
            while rows := claim(worker, clock.utcnow(), batch):
                result = send_batch(portal, rows, clock.utcnow(), worker)
                total.add(result)
                if report:
                    report(result)
                if result.portal_down:
                    break
        except Exception:
            if once:
                raise
            db.session.rollback()  # a long-running job outlives a bad moment of the database or the mail server
            log.exception("exchange: the round failed; the next one starts after the poll interval")
        if once:
            return total
        time.sleep(current_app.config["EXCHANGE_POLL"])
