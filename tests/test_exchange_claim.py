"""The exchange job's claim and outcome (issue 19): claims walk the outbox by id with one UPDATE … RETURNING
(on PostgreSQL two workers racing take disjoint sets), the outcome is written set-based yet never over a message
a withdrawal cancelled after its POST, and a batch claimed ahead while the portal was failing goes back to the
queue untried. Against the real portal simulator."""
import datetime as dt
import json
import os
import threading

import pytest
from sqlalchemy import insert, select

from app.exchange.capture import message_row
from app.exchange.sender import claim, run
from app.exchange.transport import HttpPortal
from app.extensions import db
from app.models import Decision, OutboxMessage, OutboxStatus
from app.services import clock
from tests.consent_helpers import NOV_2, record
from tests.test_exchange_outbox import outbox
from tests.test_exchange_sender import queue_marks

pytestmark = pytest.mark.usefixtures("school_today")  # the clock reads TODAY


def holidays(world, count: int) -> list[int]:
    """`count` small valid messages for Алексеев, committed; their ids."""
    kid = world.students["Алексеев"]
    db.session.execute(insert(OutboxMessage), [message_row("holidays", kid.id, kid.school_id, {
        "id": 1, "deleted": True}, clock.utcnow()) for _ in range(count)])
    db.session.commit()
    return list(db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.kind == "holidays")
                                   .order_by(OutboxMessage.id)))


def test_a_claim_takes_the_due_messages_after_an_id_oldest_first(world):
    ids = holidays(world, 6)
    rows = claim("w", clock.utcnow(), 3, after=ids[1])
    assert [r.id for r in rows] == ids[2:5]
    assert [r.attempts for r in rows] == [1, 1, 1]  # RETURNING gives the row as claimed
    assert json.loads(rows[0].payload) == {"id": 1, "deleted": True}  # its stored JSON text, sent as it is
    db.session.expire_all()
    taken = {m.id: (m.status, m.worker) for m in outbox()}
    assert [taken[i] for i in ids] == [(OutboxStatus.queued, "")] * 2 + [(OutboxStatus.sending, "w")] * 3 + [
        (OutboxStatus.queued, "")]
    assert [r.id for r in claim("w", clock.utcnow(), 10)] == [ids[0], ids[1], ids[5]]  # from the start: the rest


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                    reason="row locks with SKIP LOCKED: PostgreSQL only")
def test_two_workers_racing_claim_disjoint_sets(world, app, database_url):
    ids = holidays(world, 400)
    start, taken, errors = threading.Barrier(2), {"a": [], "b": []}, []

    def worker(name: str) -> None:
        with app.app_context():
            try:
                start.wait()
                after = 0
                while rows := claim(name, clock.utcnow(), 7, after):
                    taken[name] += [r.id for r in rows]
                    after = rows[-1].id
                if rows := claim(name, clock.utcnow(), 7):  # what the other held when this one passed by
                    taken[name] += [r.id for r in rows]
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(name,)) for name in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert set(taken["a"]).isdisjoint(taken["b"]) and taken["a"] and taken["b"]
    assert sorted(taken["a"] + taken["b"]) == ids  # every message, once
    db.session.expire_all()
    by_worker = {m.id: m.worker for m in outbox("holidays")}
    assert all(by_worker[i] == name for name in taken for i in taken[name])


class WithdrawnAfterThePost(HttpPortal):
    """The real transport; once the portal has answered the first POST, the family withdraws (before the job
    writes the outcome)."""

    concurrent = False  # it writes the withdrawal through the test's session: called on the job's thread

    def __init__(self, simulator, world):
        super().__init__(simulator.url, simulator.secret)
        self.world, self.posts = world, 0

    def send(self, messages):
        receipts = super().send(messages)
        self.posts += 1
        if self.posts == 1:
            record(self.world, Decision.withdrawal, on=NOV_2, number="40-ПД")
        return receipts


def test_the_outcome_is_never_written_over_a_message_a_withdrawal_cancelled(world, portal):
    record(world)  # Алексеев's snapshot
    queue_marks(world, 3)  # and 4 marks
    with WithdrawnAfterThePost(portal, world) as transport:
        result = run(once=True, deliver=False, portal=transport, batch=50)
    kinds = [m["kind"] for m in portal.messages(world.students["Алексеев"].id)]
    assert kinds == ["snapshot"] + ["mark"] * 4 + ["withdrawal"]  # the portal took the whole first batch
    db.session.expire_all()
    first = [m for m in outbox() if m.kind != "withdrawal"]
    assert len(first) == 5 and {(m.status, m.claimed_until) for m in first} == {(OutboxStatus.cancelled, None)}
    assert all(m.accepted_at is None for m in first)  # cancelled stays cancelled: the withdrawal is what counts
    assert outbox("withdrawal")[0].status == OutboxStatus.accepted  # it went after them, in the same run
    assert (result.accepted, result.batches) == (1, 2)  # only what the job wrote is counted


def test_a_batch_claimed_while_the_portal_was_failing_goes_back_untried(world, portal, app):
    record(world)
    queue_marks(world, 24)
    app.config["EXCHANGE_TRIES"] = 2
    portal.mode("down")
    result = run(once=True, deliver=False, batch=10)
    assert result.portal_down and result.batches == 1
    db.session.expire_all()
    waiting = outbox()
    assert {(m.status, m.claimed_until) for m in waiting} == {(OutboxStatus.queued, None)}
    assert [m.attempts for m in waiting] == [1] * 10 + [0] * 16  # the one tried; the next claimed ahead, released


def test_batches_overlap_yet_reach_the_portal_in_outbox_order(world, portal):
    record(world)
    queue_marks(world, 45)
    result = run(once=True, deliver=False, batch=10)
    assert (result.accepted, result.batches) == (47, 5)
    sent = portal.messages(world.students["Алексеев"].id)
    assert [m["id"] for m in sent] == sorted(m.id for m in outbox())
    assert {m.status for m in outbox()} == {OutboxStatus.accepted}
    assert all(m.accepted_at and m.accepted_at > clock.utcnow() - dt.timedelta(hours=1) for m in outbox())


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_claims_values_are_never_taken_for_columns(dialect):
    """The claim is built once and given its values by name at each run: a name that is also an outbox column
    would be written into every claimed row too (SQLAlchemy adds it to the UPDATE's SET)."""
    from sqlalchemy.dialects import postgresql, sqlite

    from app.exchange.sender import OUTBOX, _claim_statement

    statement = _claim_statement.__wrapped__(dialect)  # the builder itself, for either database
    given = {name for name, value in statement.compile(dialect={
        "sqlite": sqlite, "postgresql": postgresql}[dialect].dialect()).params.items() if value is None}
    assert given == {"now", "after", "size", "claimer", "lease"} and given.isdisjoint(OUTBOX.c.keys())
