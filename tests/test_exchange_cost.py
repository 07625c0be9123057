"""What a batch of the exchange job costs the database (issue 19): the same statements whatever the batch's size,
each with a handful of bound values — a batch's ids travel as one value, not as an IN list of hundreds of
parameters compiled, cast and parsed on every statement. Against the real portal simulator."""
import os

import pytest
from sqlalchemy import Text, cast, event, insert, select, text, update

from app.exchange.capture import message_row
from app.exchange.sender import claim, run
from app.extensions import db
from app.models import OutboxMessage, OutboxStatus
from app.services import clock
from tests.consent_helpers import record
from tests.test_exchange_outbox import outbox
from tests.test_exchange_sender import queue_marks

pytestmark = pytest.mark.usefixtures("school_today")  # the clock reads TODAY


def job_statements(batch: int) -> list[int]:
    """Run the job once over the due outbox; the number of bound values of each statement it sent."""
    bound = []

    def before(_conn, _cursor, _statement, parameters, _context, _many) -> None:
        bound.append(len(parameters or ()))

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        result = run(once=True, deliver=False, batch=batch)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    assert (result.accepted, result.batches) == (40, 40 // batch)
    db.session.execute(update(OutboxMessage).values(status=OutboxStatus.queued, next_attempt_at=clock.utcnow()))
    db.session.commit()  # due again for the next run
    return bound


def test_a_batch_costs_the_same_statements_and_bound_values_whatever_its_size(world, portal):
    record(world)  # Алексеев's snapshot and 39 marks: 40 messages
    queue_marks(world, 38)
    assert {m.status for m in outbox()} == {OutboxStatus.queued}
    whole, tenths = job_statements(40), job_statements(10)
    assert max(whole) == max(tenths) <= 20  # the claim's; 40 ids as an IN list would be 40 values and more
    per_batch = (len(tenths) - len(whole)) / 3  # three batches more
    assert per_batch <= 12 and len(whole) < 2 * per_batch  # one batch, and the claim that finds nothing left


def test_a_message_of_the_school_a_student_left_carries_that_school(world, portal):
    """The batch reads students with their current school in one statement; a message the former school wrote
    still goes out under the former school's name."""
    from tests.factories import school

    record(world)
    kid = world.students["Алексеев"]
    former = school("Школа Выбывших")
    db.session.execute(update(OutboxMessage).values(school_id=former.id))
    db.session.commit()
    assert run(once=True, deliver=False, batch=10).accepted == 1
    [sent] = portal.messages(kid.id)
    assert sent["school"] == {"id": former.id, "name": "МБОУ «Школа Выбывших»"} and former.id != kid.school_id


def hot_updates() -> int:
    """Rows of the outbox this transaction updated in place (HOT: no new index entries)."""
    return db.session.scalar(text("SELECT pg_stat_get_xact_tuples_hot_updated('outbox_message'::regclass)"))


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                    reason="HOT updates are PostgreSQL's")
def test_a_claim_rewrites_no_index_of_the_outbox(world):
    """Claiming (queued → sending) changes no indexed value, the pages keep room: every claimed row is a HOT
    update on PostgreSQL; the outcome (leaving the waiting index) is not."""
    record(world)
    queue_marks(world, 29)  # and the snapshot: 30
    before = hot_updates()
    rows = claim("w1", clock.utcnow(), 30)
    assert len(rows) == 30 and hot_updates() - before == 30


def test_the_waiting_column_follows_the_status(world):
    """`waiting` is computed by the database from the status, whoever writes it."""
    record(world)
    ids = [m.id for m in outbox()]
    for status, waiting in ((OutboxStatus.sending, True), (OutboxStatus.accepted, False),
                            (OutboxStatus.queued, True), (OutboxStatus.failed, False), (OutboxStatus.cancelled, False)):
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == ids[0]).values(status=status))
        assert bool(db.session.scalar(select(OutboxMessage.waiting).where(OutboxMessage.id == ids[0]))) is waiting


def test_a_payload_is_stored_as_utf8_text_and_claimed_as_stored(world):
    """JSON columns hold UTF-8 text (not «\\u041c…» escapes), and a claim returns a payload as that text: the job
    sends it without decoding it."""
    record(world)
    queue_marks(world, 1)
    stored = db.session.scalar(select(cast(OutboxMessage.payload, Text)).where(OutboxMessage.kind == "mark"))
    assert "Математика" in stored and "\\u" not in stored
    assert stored in {r.payload for r in claim("w1", clock.utcnow(), 10) if r.kind == "mark"}


def test_the_unsettled_column_follows_the_status_and_the_lease(world):
    """`unsettled` (what the student and school indexes hold on PostgreSQL) is computed by the database: waiting,
    failed, or held by a lease — a cancelled message a worker still holds stays «busy» for the withdrawal."""
    record(world)
    first = outbox()[0].id
    lease = clock.utcnow()
    s = OutboxStatus
    cases = ((s.sending, lease, True), (s.accepted, None, False), (s.queued, None, True), (s.failed, None, True),
             (s.cancelled, lease, True), (s.cancelled, None, False))
    for status, claimed_until, unsettled in cases:
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == first).values(
            status=status, claimed_until=claimed_until))
        assert bool(db.session.scalar(select(OutboxMessage.unsettled).where(OutboxMessage.id == first))) is unsettled


def plan(statement: str, parameters=None) -> str:
    """PostgreSQL's plan of a statement as sent, with sequential scans priced out: an index it cannot use stays
    unused."""
    connection = db.session.connection()
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    return "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters or {}))


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                    reason="partial indexes over unsettled messages are PostgreSQL's")
def test_the_queries_that_look_for_unsettled_messages_reach_their_partial_indexes(world):
    """A settled message leaves the student and school indexes (its receipt adds entries to the primary key and
    the key only); the home page's counts, a withdrawal's cancelling and the claim's «busy» check still find
    theirs by those indexes."""
    from sqlalchemy.dialects import postgresql

    from app.exchange import outbox as outbox_service
    from app.exchange.capture import _cancel
    from app.exchange.sender import _due

    record(world)
    kid, school_id = world.students["Алексеев"], world.school_a.id
    db.session.execute(text(  # a history of settled messages of the same school and student, as a school has
        "INSERT INTO outbox_message (key, kind, student_id, school_id, entity, payload, status, attempts, worker, "
        "failure, created_at, next_attempt_at) SELECT md5(g::text), kind, student_id, school_id, entity, payload, "
        "'accepted', 1, 'w', '', created_at, next_attempt_at FROM outbox_message, generate_series(1, 3000) g "
        "WHERE id = :first"), {"first": outbox()[0].id})
    db.session.execute(text("ANALYZE outbox_message"))
    seen = []

    def keep(_conn, _cursor, statement, parameters, _context, _many) -> None:
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        outbox_service.waiting_and_failed(school_id)
        _cancel(db.session, kid.id, "test", claimed=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    dialect = postgresql.psycopg.dialect()
    busy = str(select(OutboxMessage.id).where(_due(clock.utcnow())).compile(
        dialect=dialect, compile_kwargs={"literal_binds": True}))
    counts, cancel = (next(sent for sent in seen if sent[0].lstrip().startswith(verb)) for verb in ("SELECT", "UPDATE"))
    for sent in (counts, cancel, (busy,)):  # either partial index: both hold the unsettled messages only
        assert "using ix_outbox_unsettled_" in plan(*sent)


def test_the_job_reads_the_same_student_and_school_blocks_as_the_models_give(world, portal):
    """The batch's blocks come from plain columns: the same as payloads.student_block of the entity, a student
    without a class included."""
    from app.exchange import payloads

    record(world)
    queue_marks(world, 1)
    kid = world.students["Алексеев"]
    expected = payloads.student_block(kid), payloads.school_block(world.school_a)
    assert run(once=True, deliver=False, batch=10).accepted == len(outbox()) >= 2
    assert {(str(m["student"]), str(m["school"])) for m in portal.messages(kid.id)} == {tuple(map(str, expected))}
    assert expected[0]["class"] and expected[0]["name"].count(" ") == 2
    kid.class_unit_id = None
    db.session.commit()
    last = outbox("mark")[-1]  # again under a new key: the portal keeps a key's first message only
    db.session.execute(insert(OutboxMessage), [message_row("mark", kid.id, last.school_id, last.payload,
                                                           clock.utcnow(), "mark", last.entity_id, 1)])
    db.session.commit()
    assert run(once=True, deliver=False, batch=10).accepted >= 1
    assert portal.messages(kid.id)[-1]["student"] == {**expected[0], "class": None}
