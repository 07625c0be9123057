"""The exchange job (SPEC §6): claims due outbox messages in batches (one UPDATE … RETURNING walking the
outbox by id; row locks with SKIP LOCKED on PostgreSQL, so several workers never take the same message),
asks the consent gate again right before every POST attempt, sends through the portal adapter with retries
(tenacity, exponential wait), and writes the portal's receipts set-based, guarded by worker and status:
accepted (with `published_at` of finals and exam results from the receipt), rejected (parked as failed with
the reason), or unacknowledged (tried again later, parked after `EXCHANGE_MAX_ATTEMPTS`). `rounds.Round`
overlaps this database work with the portal's time."""
import datetime as dt
import json
import logging
import os
import socket
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from operator import attrgetter

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import DateTime, Integer, String, Text, and_, bindparam, cast, exists, func, or_, select, text, update
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from app.exchange import payloads
from app.exchange.schema import envelope
from app.exchange.transport import PortalUnavailable, portal_from_config
from app.extensions import db
from app.models import ClassUnit, ExamResult, FinalGrade, OutboxMessage, OutboxStatus, School, Student
from app.models.people import PersonName
from app.services import clock
from app.services.consent import electronic_recipients
from app.services.id_lists import among, dialect, listed, per_database

# The job's statements are Core on the outbox table: its rows come back as plain rows, with no ORM bulk-update
# machinery per statement and no identity map to keep in step (a profile's second largest cost after the binds).
OUTBOX = OutboxMessage.__table__
Q = OUTBOX.c
SNAPSHOTS_PER_REQUEST = 10
PUBLISHED = {"snapshot", "final_grade", "exam_result"}  # the kinds that may carry a result's publication
log = logging.getLogger(__name__)
# The payload is read as its stored JSON text and sent as it is (schema.RawJSON): the job never decodes it.
COLUMNS = (Q.id, Q.key, Q.kind, Q.student_id, Q.school_id, Q.created_at, cast(Q.payload, Text).label("payload"),
           Q.attempts)


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
    earlier = OUTBOX.alias("earlier").c
    # A message cancelled by a withdrawal while a worker held it stays «busy» until that worker lets go (or its
    # lease ends): the worker may be mid-POST, and the withdrawal must reach the portal after it. Both are
    # unsettled: PostgreSQL looks among the unsettled messages of the student only (their partial index).
    busy = exists().where(
        earlier.student_id == Q.student_id, earlier.id < Q.id, earlier.unsettled, or_(
            earlier.status == OutboxStatus.sending,
            and_(earlier.status == OutboxStatus.cancelled, earlier.claimed_until > now)))
    return and_(Q.waiting, Q.status.in_([OutboxStatus.queued, OutboxStatus.sending]),  # the partial index's
                or_(and_(Q.status == OutboxStatus.queued, Q.next_attempt_at <= now),
                    and_(Q.status == OutboxStatus.sending, Q.claimed_until < now)),
                or_(Q.kind != "withdrawal", ~busy))  # the withdrawal goes after everything before it


def _no_jit() -> None:
    """PostgreSQL's JIT compiled the claim on a large outbox (182 of its 230 ms in a profile) for a query that
    reads a few hundred index entries: off for the claim's transaction (SET LOCAL: nothing else is touched). The
    outcome UPDATE finds its rows by primary key, far below JIT's cost threshold: it is not asked (a round trip)."""
    if dialect() == "postgresql":
        db.session.execute(text("SET LOCAL jit = off"))


@per_database
def _claim_statement(database: str):
    """The claim, built once with its values bound at each run (`now`, `after`, `size`, `claimer`, `lease`):
    building it (an alias, a CTE and their columns) cost the job more than PostgreSQL's running it (issue 19)."""
    now = bindparam("now", type_=DateTime)
    chosen = select(Q.id).where(Q.id > bindparam("after", type_=Integer), _due(now)).order_by(Q.id) \
        .limit(bindparam("size", type_=Integer))
    if database == "postgresql":
        # Materialised: PostgreSQL may run an IN-subquery again per row, and with SKIP LOCKED each run can
        # pick other rows, so one claim took more than `limit` messages.
        chosen = chosen.with_for_update(skip_locked=True).cte("chosen").prefix_with("MATERIALIZED")
        chosen = select(chosen.c.id)
    return update(OUTBOX).where(Q.id.in_(chosen.scalar_subquery())).values(
        status=OutboxStatus.sending, worker=bindparam("claimer", type_=String), attempts=Q.attempts + 1,
        claimed_until=bindparam("lease", type_=DateTime)).returning(*COLUMNS)


def _claim(worker: str, now: dt.datetime, limit: int, after: int) -> list:
    _no_jit()
    lease = now + dt.timedelta(seconds=current_app.config["EXCHANGE_LEASE"])
    rows = db.session.execute(_claim_statement(), {
        "now": now, "after": after, "size": limit, "claimer": worker, "lease": lease}).all()
    return sorted(rows, key=attrgetter("id"))  # RETURNING keeps no order


def claim(worker: str, now: dt.datetime, limit: int, after: int = 0) -> list:
    """Take up to `limit` due messages with ids above `after` for this worker (committed), oldest first: one
    UPDATE … RETURNING. The job walks the outbox by id (keyset), so a batch never rescans what it passed."""
    rows = _claim(worker, now, limit, after)
    db.session.commit()
    return rows


def _let_go(ids: list[int], worker: str) -> None:
    """Messages cancelled (a withdrawal) while this worker held them: the withdrawal behind them may go now."""
    db.session.execute(update(OUTBOX).where(
        among(Q.id, ids), Q.worker == worker, Q.status == OutboxStatus.cancelled,
        Q.claimed_until.is_not(None)).values(claimed_until=None))


def release(rows, worker: str) -> None:
    """Give back claimed messages that were never tried (the portal went down before their turn): queued
    again, the attempt not counted; a message cancelled meanwhile stays cancelled (committed)."""
    ids = [r.id for r in rows]
    db.session.execute(update(OUTBOX).where(
        among(Q.id, ids), Q.worker == worker, Q.status == OutboxStatus.sending,
    ).values(status=OutboxStatus.queued, claimed_until=None, attempts=Q.attempts - 1))
    _let_go(ids, worker)
    db.session.commit()


@dataclass
class Batch:
    """Claimed rows made ready to leave: their envelopes in outbox order (the consent gate decides, right before
    each POST, which of them go) and the keys held back so far."""

    rows: list
    messages: list[dict]
    by_key: dict[str, tuple[int, int]]  # key → (outbox id, student id)
    refused: set[str]


def prepare(rows) -> Batch:
    """The envelopes of claimed rows (the caller's transaction)."""
    students, schools = _blocks(rows)
    return Batch(rows, [envelope(r, students[r.student_id], schools[r.school_id]) for r in rows],
                 {r.key: (r.id, r.student_id) for r in rows}, set())


def _claimed(worker: str, size: int, after: int) -> Batch | None:
    """The next batch after id `after`, claimed and made ready in one transaction (None when nothing is due)."""
    try:
        rows = _claim(worker, clock.utcnow(), size, after)
        batch = prepare(rows) if rows else None
        db.session.commit()
    except Exception:
        db.session.rollback()  # the claim too: nothing is left held
        raise
    return batch


def _blocks(rows) -> tuple[dict, dict]:
    """The envelope blocks of the batch's students and schools: one Core statement (a student's columns with
    their class's name and their school's; ORM entities cost a fifth of a SQLite batch in a profile); a message
    written by another school than the student's now (they moved) has its school read apart."""
    found = db.session.execute(_blocks_statement(),
                               {"ids": listed({r.student_id for r in rows})}).all()
    # the models' own rules for a full name and a class's name, read off the row's columns
    students = {s.id: payloads.student_fields(s.id, s.file_number, PersonName.full_name.fget(s),
                                              ClassUnit.name.fget(s) if s.grade is not None else None) for s in found}
    schools = {s.school: payloads.school_fields(s.school, s.school_name) for s in found}
    if missing := {r.school_id for r in rows} - schools.keys():
        schools.update((s.id, payloads.school_block(s)) for s in db.session.scalars(
            select(School).where(School.id.in_(missing))))
    return students, schools


@per_database
def _blocks_statement(_database: str):
    """The students' columns for their blocks (built once; `ids` at each run)."""
    return select(
        Student.id, Student.file_number, Student.surname, Student.name, Student.patronymic,
        ClassUnit.grade, ClassUnit.letter, School.id.label("school"), School.full_name.label("school_name"),
    ).join(School, School.id == Student.school_id).outerjoin(ClassUnit, ClassUnit.id == Student.class_unit_id) \
        .where(among(Student.id))


def _cleared(request: list[dict], by_key: dict, worker: str, refused: set[str]) -> list[dict]:
    """The messages of a request that may leave right now: still held by this worker (a withdrawal cancels
    claimed messages) and the family's consent still current (a withdrawal message always may). Asked before
    every POST attempt, retries included; the refused keys are added to `refused`."""
    asked = {m["idempotency_key"]: by_key[m["idempotency_key"]] for m in request
             if m["idempotency_key"] not in refused}
    held = _held(asked, worker)
    electronic = electronic_recipients(sorted({asked[key][1] for key in held}), clock.today())
    db.session.commit()  # no transaction stays open while the portal is called
    cleared = [m for m in request if m["idempotency_key"] in held
               and (m["kind"] == "withdrawal" or asked[m["idempotency_key"]][1] in electronic)]
    if len(cleared) < len(request):
        refused.update({m["idempotency_key"] for m in request} - {m["idempotency_key"] for m in cleared})
    return cleared


def _held(asked: dict[str, tuple[int, int]], worker: str) -> set[str]:
    """The keys of `asked` (key → (outbox id, student id)) whose messages this worker still holds: counted first,
    as all of them normally are; their ids are read only when some are not."""
    if not asked:
        return set()
    count, which = _held_statements()
    values = {"ids": listed(row_id for row_id, _ in asked.values()), "claimer": worker}
    if db.session.scalar(count, values) == len(asked):
        return set(asked)
    still = set(db.session.scalars(which, values))
    return {key for key, (row_id, _) in asked.items() if row_id in still}


@per_database
def _held_statements(_database: str) -> tuple:
    """How many of the messages `ids` the worker `claimer` holds, and which (built once)."""
    ours = (among(Q.id), Q.worker == bindparam("claimer", type_=String), Q.status == OutboxStatus.sending)
    return select(func.count()).where(*ours), select(Q.id).where(*ours)


def _requests(messages: list[dict]) -> list[list[dict]]:
    """The batch's requests, in outbox order: a snapshot is large, so at most SNAPSHOTS_PER_REQUEST to one."""
    requests, snapshots = [[]], 0
    for message in messages:
        if message["kind"] == "snapshot":
            if snapshots == SNAPSHOTS_PER_REQUEST:
                requests.append([])
                snapshots = 0
            snapshots += 1
        requests[-1].append(message)
    return requests


def _send(post, batch: Batch, worker: str) -> dict:
    """Receipts by key for the batch's messages, sent in order by `post(messages)`. Each request is tried
    again after a growing pause (tenacity), the consent gate asked before each attempt (`_cleared`)."""
    config = current_app.config
    retrying = Retrying(stop=stop_after_attempt(config["EXCHANGE_TRIES"]), reraise=True,
                        wait=wait_exponential_jitter(initial=config["EXCHANGE_RETRY_WAIT"], max=60),
                        retry=retry_if_exception_type(PortalUnavailable))

    def attempt(request: list[dict]) -> list:
        cleared = _cleared(request, batch.by_key, worker, batch.refused)
        return post(cleared) if cleared else []

    return {r.key: r for request in _requests(batch.messages) for r in retrying(attempt, request)}


def _outcome(row, receipt, refused: set[str], portal_down: str, now: dt.datetime) -> tuple[str, dict]:
    """What becomes of a sent row: (what it counts as, the columns to write)."""
    if row.key in refused and receipt is None:
        return "cancelled", _done(OutboxStatus.cancelled, "нет согласия или выбрана бумажная форма: не отправлено")
    if receipt is None:
        change = _later(row, portal_down or _("the portal did not acknowledge receipt"), now)
        return ("parked" if change["status"] == OutboxStatus.failed else "later"), change
    if receipt.accepted:
        return "accepted", _done(OutboxStatus.accepted, "", accepted_at=receipt.accepted_at or now)
    return "rejected", _done(OutboxStatus.failed, _("rejected by the portal: %(reason)s", reason=receipt.reason)[:500])


def _record(run: Run, rows, receipts: dict, refused: set[str], now: dt.datetime, worker: str) -> set[int]:
    """Write the outcomes set-based: one UPDATE per distinct outcome (a batch the portal took whole is one),
    each guarded by worker and status — a message cancelled by a withdrawal, or re-claimed by another worker
    after this one's lease ran out, is not ours to overwrite. Counts only what was written; the ids written."""
    written = set()
    for (counted, change), members in _grouped(rows, receipts, refused, run.portal_down, now).items():
        by_id = {r.id: r for r in members}
        ours = db.session.scalars(update(OUTBOX).where(
            among(Q.id, by_id), Q.worker == worker, Q.status == OutboxStatus.sending,
        ).values(dict(change)).returning(Q.id)).all()
        if counted == "accepted":
            for row_id in sorted(i for i in ours if by_id[i].kind in PUBLISHED):
                _publish(by_id[row_id], dict(change)["accepted_at"])
        _count(run, counted, len(ours))
        written.update(ours)
    return written


def _grouped(rows, receipts: dict, refused: set[str], portal_down: str, now: dt.datetime) -> dict[tuple, list]:
    """The rows by outcome: (what it counts as, the change's items) → rows. A row's outcome depends only on its
    receipt's verdict, or without one on whether it was refused and its attempts: worked out once a verdict."""
    verdicts: dict[tuple, list] = defaultdict(list)
    for row in rows:
        receipt = receipts.get(row.key)
        verdicts[(receipt.accepted, receipt.reason, receipt.accepted_at) if receipt
                 else (row.key in refused, row.attempts)].append(row)
    groups: dict[tuple, list] = defaultdict(list)
    for members in verdicts.values():
        first = members[0]
        counted, change = _outcome(first, receipts.get(first.key), refused, portal_down, now)
        groups[counted, tuple(change.items())] += members  # one function builds each change, keys in order
    return groups


def _count(run: Run, counted: str, n: int) -> None:
    if counted in ("later", "parked"):
        run.unacknowledged += n
        run.parked += n if counted == "parked" else 0
    else:
        setattr(run, counted, getattr(run, counted) + n)


def _deliver(post, batch: Batch, worker: str) -> tuple[Run, dict]:
    """POST the batch (`post` sends one request); what happened and the receipts by key."""
    run, receipts = Run(batches=1), {}
    if batch.messages:
        try:
            receipts = _send(post, batch, worker)
        except PortalUnavailable as error:
            run.portal_down = str(error)
    return run, receipts


def _settle(run: Run, batch: Batch, receipts: dict, now: dt.datetime, worker: str, commit: bool = True) -> None:
    """Write the batch's outcome and let go of what a withdrawal cancelled meanwhile (committed unless the
    caller's next claim commits it: one write transaction a batch)."""
    written = _record(run, batch.rows, receipts, batch.refused, now, worker)
    if len(written) < len(batch.rows):  # some were not ours any more: cancelled by a withdrawal, or re-claimed
        _let_go([r.id for r in batch.rows if r.id not in written], worker)
    if commit:
        db.session.commit()


def send_batch(portal, rows, now: dt.datetime, worker: str) -> Run:
    """Send claimed rows and record the outcome of each (committed), all on this thread."""
    batch = prepare(rows)
    db.session.commit()
    run, receipts = _deliver(portal.send, batch, worker)
    _settle(run, batch, receipts, now, worker)
    return run


def _done(status: OutboxStatus, failure: str, accepted_at: dt.datetime | None = None) -> dict:
    return {"status": status, "failure": failure, "claimed_until": None, "accepted_at": accepted_at}


def _later(row, reason: str, now: dt.datetime) -> dict:
    """Try again after an exponentially growing pause, or park as failed once out of attempts."""
    config = current_app.config
    if row.attempts >= config["EXCHANGE_MAX_ATTEMPTS"]:
        return _done(OutboxStatus.failed, _("%(reason)s (attempts: %(n)d)", reason=reason, n=row.attempts)[:500])
    pause = min(config["EXCHANGE_BACKOFF"] * 2 ** row.attempts, 3600)
    return {"status": OutboxStatus.queued, "failure": reason[:500], "claimed_until": None,
            "next_attempt_at": now + dt.timedelta(seconds=pause)}


def _publish(row, accepted_at: dt.datetime) -> None:
    """Final grades and exam results the family now has (a PUBLISHED kind): `published_at` from the receipt."""
    payload = json.loads(row.payload)
    items = payload.get("items", []) if row.kind == "snapshot" else [{"kind": row.kind, "payload": payload}]
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
    from app.exchange.rounds import Round

    portal = portal or portal_from_config(current_app.config)
    worker, batch = worker or worker_name(), batch or current_app.config["EXCHANGE_BATCH"]
    total = Run()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="exchange-post") as pool:
        while True:
            try:
                if deliver:
                    deliver_notifications()
                    db.session.commit()
                Round(portal, pool, worker, batch, report, total).run()
            except Exception:
                if once:
                    raise
                db.session.rollback()  # a long-running job outlives a bad moment of the database or the mail server
                log.exception("exchange: the round failed; the next one starts after the poll interval")
            if once:
                return total
            time.sleep(current_app.config["EXCHANGE_POLL"])
