"""The audit trail is a chain per school (issue 19): each event links to the previous event of its own school
(no school: a chain of its own), so saves of two schools interleave without waiting for each other, a
tampered chain is named by its school while the others stay valid, anchors hold every chain's head, and the
trail written as one chain before migration 0014 still verifies up to the point the chains begin."""
import datetime as dt
import json
import os

import pytest
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import AuditChainStart, AuditEvent, ContactKind
from app.services.audit import HASHED_FIELDS, acting_as, event_hash, record_created, verify_chain
from tests.consent_helpers import add_contact, add_guardian
from tests.journal_helpers import audit_events, clear_trail
from tests.test_audit_chain import TABLE, tamper

POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")


def write(school_id, n: int) -> None:
    """One audited write of a school (None: of no school), through the writers' own chaining."""
    with acting_as("system"):
        record_created(db.session, AuditChainStart, [{"id": n, "school_id": school_id, "per_school_from": n}])
        db.session.commit()


@pytest.fixture
def interleaved(world):
    """Contacts of a family of school A and of school B saved in turns, and one write of no school."""
    add_guardian(world, "Гаврилов", "Гаврилова")
    clear_trail()
    for n in range(2):
        add_contact(world, "Алексеева", ContactKind.email, f"a{n}@example.ru")
        add_contact(world, "Гаврилова", ContactKind.email, f"b{n}@example.ru")
    write(None, 1)
    add_contact(world, "Алексеева", ContactKind.email, "a2@example.ru")
    return {"a": world.school_a.id, "b": world.school_b.id}


def test_each_event_links_to_the_previous_event_of_its_school(interleaved):
    trail = audit_events()
    assert [e.school_id for e in trail] == [interleaved[s] for s in "abab"] + [None, interleaved["a"]]
    heads = {}
    for event in trail:
        assert event.prev_hash == heads.get(event.school_id, ""), event.id
        assert event.hash == event_hash({k: getattr(event, k) for k in HASHED_FIELDS})
        heads[event.school_id] = event.hash
    assert verify_chain() == (6, None)


def test_a_tampered_chain_is_named_and_the_other_schools_stay_valid(runner, interleaved):
    b_events = [e.id for e in audit_events() if e.school_id == interleaved["b"]]
    tamper("UPDATE audit_event SET username = 'director' WHERE id = :id", id=b_events[1])
    checked, problem = verify_chain()
    assert problem == f"цепочка школы №{interleaved['b']}: запись №{b_events[1]}: содержимое изменено после записи"
    assert checked == 5  # school A's three, the one of no school, school B's first
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"цепочка школы №{interleaved['b']}" in result.output
    assert f"цепочка школы №{interleaved['a']}" not in result.output


def test_a_deleted_event_breaks_only_its_schools_chain(interleaved):
    a_events = [e.id for e in audit_events() if e.school_id == interleaved["a"]]
    tamper(delete(TABLE).where(TABLE.c.id == a_events[1]))
    checked, problem = verify_chain()
    assert problem == (f"цепочка школы №{interleaved['a']}: запись №{a_events[2]}: не совпадает хеш предыдущей "
                       f"записи — запись перед ней удалена, вставлена или переставлена")
    assert checked == 4


def test_an_anchor_holds_each_chains_head_and_names_the_chain_cut_short(runner, interleaved, tmp_path):
    anchors = tmp_path / "anchors.jsonl"
    assert runner.invoke(args=["audit", "anchor", "--file", str(anchors)]).exit_code == 0
    trail = audit_events()
    heads = json.loads(anchors.read_text(encoding="utf-8"))["chains"]
    last = {e.school_id: e for e in trail}
    assert heads == {("none" if s is None else str(s)): {"count": sum(1 for e in trail if e.school_id == s),
                                                         "last_id": e.id, "hash": e.hash} for s, e in last.items()}
    tamper(delete(TABLE).where(TABLE.c.id == last[interleaved["b"]].id))  # school B's newest event removed
    assert verify_chain() == (5, None)  # the chains alone cannot tell
    result = runner.invoke(args=["audit", "verify", "--anchor", str(anchors)])
    b_first = trail[1].id
    assert result.exit_code == 1
    assert (f"цепочка школы №{interleaved['b']}: записи после записи №{b_first} удалены" in result.output), \
        result.output
    assert f"цепочка школы №{interleaved['a']}" not in result.output


def test_an_anchor_written_before_the_chains_still_catches_a_shorter_trail(runner, interleaved, tmp_path):
    """A line of the whole trail's head (count, last row, hash) keeps its meaning: the row at that count."""
    trail = audit_events()
    anchors = tmp_path / "old.jsonl"
    anchors.write_text(json.dumps({"at": "2026-11-01T10:00:00+00:00", "count": 6, "last_id": trail[5].id,
                                   "hash": trail[5].hash}) + "\n", encoding="utf-8")
    assert runner.invoke(args=["audit", "verify", "--anchor", str(anchors)]).exit_code == 0
    tamper(delete(TABLE).where(TABLE.c.id == trail[5].id))
    result = runner.invoke(args=["audit", "verify", "--anchor", str(anchors)])
    assert result.exit_code == 1 and f"весь журнал: записи после записи №{trail[4].id} удалены" in result.output


def test_the_single_chain_written_before_the_upgrade_verifies_up_to_where_the_chains_begin(world, interleaved):
    """Events before `per_school_from` were chained one after another over every school: they verify so, and
    the first per-school event of a school links to that school's newest event, old or new."""
    trail = audit_events()
    with db.engine.begin() as conn:  # the first four as the single chain wrote them
        previous = ""
        for event in trail[:4]:
            content = {**{k: getattr(event, k) for k in HASHED_FIELDS}, "prev_hash": previous}
            previous = event_hash(content)
            conn.execute(update(TABLE).where(TABLE.c.id == event.id).values(prev_hash=content["prev_hash"],
                                                                              hash=previous))
    db.session.add(AuditChainStart(id=1, per_school_from=trail[4].id))
    db.session.commit()
    assert verify_chain()[1] is not None  # the rest still links per school to the rewritten hashes …
    tamper(delete(TABLE).where(TABLE.c.id > trail[3].id))
    add_contact(world, "Гаврилова", ContactKind.phone, "+79990000001")
    add_contact(world, "Алексеева", ContactKind.phone, "+79990000002")
    assert verify_chain() == (6, None)  # … written after the upgrade, it verifies
    tamper("UPDATE audit_event SET username = 'director' WHERE id = :id", id=trail[1].id)
    assert verify_chain()[1].startswith(f"цепочка школы №{interleaved['b']}: запись №{trail[1].id}: содержимое")


def test_the_migration_starts_the_chains_after_the_trail_it_finds(tmp_path):
    """0014 on a database with a trail: `per_school_from` is the next id, and new events chain per school."""
    from tests.test_migrations import _app

    app = _app(f"sqlite:///{tmp_path}/legacy.db")
    with app.app_context():
        runner = app.test_cli_runner()
        assert runner.invoke(args=["db", "upgrade", "0013"]).exit_code == 0
        previous = ""
        with db.engine.begin() as conn:  # a trail of schools 1, 2, 1 as the single chain wrote it
            for n, school_id in enumerate((1, 2, 1), start=1):
                row = {"id": n, "at": dt.datetime(2026, 11, 1, 10, n), "school_id": school_id, "user_id": None,
                       "username": "system", "entity": "subject", "entity_id": n, "action": "create",
                       "before": None, "after": {"n": n}, "prev_hash": previous}
                row["hash"] = previous = event_hash(row)
                conn.execute(insert(TABLE), row)
        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert db.session.scalar(select(AuditChainStart.per_school_from)) == 4
        write(2, 9)
        newest = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert newest[-1].prev_hash == newest[1].hash  # school 2's newest, not the trail's
        assert verify_chain() == (4, None)
        db.session.remove()
        db.engine.dispose()


@pytest.mark.skipif(not POSTGRES, reason="advisory locks: PostgreSQL only")
@pytest.mark.commits
def test_two_schools_write_at_once_and_one_school_takes_turns(app, world):
    """School A's writer holds its transaction open: school B's write completes at once, a second writer of
    school A waits for the lock (a lock_timeout ends the wait instead of hanging the test)."""
    a, b = world.school_a.id, world.school_b.id
    with db.engine.connect() as first, db.engine.connect() as second:
        holder, other = Session(bind=first), Session(bind=second)
        try:
            record_created(holder, AuditChainStart, [{"id": 1, "school_id": a, "per_school_from": 1}])
            other.execute(text("SET LOCAL lock_timeout = '3s'"))
            record_created(other, AuditChainStart, [{"id": 2, "school_id": b, "per_school_from": 2}])
            other.commit()  # not blocked by school A's open transaction
            other.execute(text("SET LOCAL lock_timeout = '300ms'"))
            with pytest.raises(OperationalError, match="lock timeout"):
                record_created(other, AuditChainStart, [{"id": 3, "school_id": a, "per_school_from": 3}])
            other.rollback()
            holder.commit()
        finally:
            holder.close()
            other.close()
    written = [(e.school_id, e.entity_id) for e in audit_events("audit_chain_start")]
    assert written == [(b, 2), (a, 1)] or written == [(a, 1), (b, 2)]
    assert verify_chain()[1] is None


def _waiting_for_a_lock(seconds: float = 5.0) -> bool:
    """Whether another connection waits for a lock (polled for up to `seconds`)."""
    import time

    deadline = time.monotonic() + seconds
    with db.engine.connect() as watcher:
        while time.monotonic() < deadline:
            if watcher.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar():
                return True
            watcher.rollback()
            time.sleep(0.02)
    return False


def _attempt(outcome: dict, name: str, session: Session, work) -> None:
    """`work(session)` and the commit; outcome[name]: "ok", or the first line of the database's error."""
    try:
        work(session)
        session.commit()
        outcome[name] = "ok"
    except OperationalError as error:
        outcome[name] = str(error.orig).splitlines()[0]
        session.rollback()
    finally:
        session.close()


def in_turns(app, begin, other, finish) -> dict[str, str]:
    """Two writers of school A on connections of their own: `begin(writer)`; then `other(session)` on a thread,
    which must wait for a lock; then `finish(writer)` and the writer's commit. What became of each."""
    import threading

    outcome: dict[str, str] = {}

    def second() -> None:
        with app.app_context(), db.engine.connect() as connection, acting_as("system"):
            _attempt(outcome, "other", Session(bind=connection), other)

    thread = threading.Thread(target=second)

    def first(writer: Session) -> None:
        begin(writer)
        thread.start()
        assert _waiting_for_a_lock(), "the other writer should wait for school A's lock"
        finish(writer)

    with db.engine.connect() as connection, acting_as("system"):
        try:
            _attempt(outcome, "writer", Session(bind=connection), first)
        finally:
            if thread.ident is not None:
                thread.join(15)
    return outcome


BOTH_WENT_THROUGH = {"writer": "ok", "other": "ok"}


@pytest.mark.skipif(not POSTGRES, reason="advisory and row locks of concurrent transactions: PostgreSQL only")
@pytest.mark.commits
def test_a_finals_save_waits_for_the_audit_lock_before_it_locks_the_statistics_token(app, world):
    """One order of the two locks a school's writers take: the audit chain's (advisory) first, then the
    statistics token's row (its triggers, during the writes). A writer holding school A's audit lock, then
    writing a final of school A, must not find the token held by a finals save waiting behind it — the two
    would deadlock (the token was taken during the writes, the audit lock only after the flush)."""
    from app.models import FinalGrade, FinalValue
    from tests.journal_helpers import period_of
    from tests.stats_helpers import final

    a = world.school_a.id
    kept, other = (final(world.students[kid], world.subjects["math"], period_of(world.year_a, 2), "4")
                   for kid in ("Алексеев", "Борисов"))
    db.session.commit()

    def save_a_final(saving: Session) -> None:  # a finals save of school A, as a request would
        saving.execute(text("SET LOCAL lock_timeout = '5s'"))
        saving.get(FinalGrade, other.id).value = FinalValue.five

    def write_a_final(holder: Session) -> None:
        holder.execute(text("SET LOCAL lock_timeout = '500ms'"))  # before the deadlock detector's 1 s
        holder.execute(update(FinalGrade).where(FinalGrade.id == kept.id).values(value="3"))

    assert in_turns(app, lambda holder: record_created(holder, AuditChainStart, [
        {"id": 1, "school_id": a, "per_school_from": 1}]), save_a_final, write_a_final) == BOTH_WENT_THROUGH
    db.session.expire_all()
    assert {g.id: g.value for g in db.session.scalars(select(FinalGrade).where(FinalGrade.school_id == a))} == {
        kept.id: FinalValue.three, other.id: FinalValue.five}


@pytest.mark.skipif(not POSTGRES, reason="advisory and row locks of concurrent transactions: PostgreSQL only")
@pytest.mark.commits
@pytest.mark.parametrize("way", ["flush", "core"])
def test_a_write_the_statistics_read_but_the_trail_does_not_takes_the_school_lock_first(app, world, way):
    """A class renamed (not audited, but read by the statistics: its write renews the school's token) by a flush
    or by a Core statement, then an enrolment changed in the same transaction, while a finals save of the same
    school runs: the save waits for the school lock and both go through (they deadlocked: the first writer held
    the token without the school lock, the save the school lock while waiting for the token)."""
    from app.models import ClassUnit, Enrolment, FinalGrade, FinalValue
    from tests.journal_helpers import period_of
    from tests.stats_helpers import final

    saved = final(world.students["Борисов"], world.subjects["math"], period_of(world.year_a, 2), "4")
    db.session.commit()
    class_id = world.classes["5А"].id

    def rename_the_class(writer: Session) -> None:
        writer.execute(text("SET LOCAL lock_timeout = '3s'"))
        if way == "flush":
            writer.get(ClassUnit, class_id).letter = "Я"
            writer.flush()
        else:
            writer.execute(update(ClassUnit).where(ClassUnit.id == class_id).values(letter="Я"))

    def save_a_final(saving: Session) -> None:
        saving.get(FinalGrade, saved.id).value = FinalValue.five

    def change_an_enrolment(writer: Session) -> None:
        enrolment = writer.scalars(select(Enrolment).where(Enrolment.class_unit_id == class_id)).first()
        enrolment.end = enrolment.start

    assert in_turns(app, rename_the_class, save_a_final, change_an_enrolment) == BOTH_WENT_THROUGH


@pytest.mark.skipif(not POSTGRES, reason="advisory and row locks of concurrent transactions: PostgreSQL only")
@pytest.mark.commits
def test_a_flush_takes_the_school_lock_before_it_locks_the_rows_it_writes(app, world):
    """Two subjects of school A renamed in turns by two transactions (subjects are read by the statistics, not
    audited): the second waits for the school lock before it touches its row, so the first can go on to that
    row (the second held it while waiting for the lock the first held: a deadlock)."""
    from app.models import Subject
    from tests import factories

    second = factories.subject(world.school_a, "Русский язык")
    db.session.commit()
    first_id, second_id = world.subjects["math"].id, second.id

    def rename(subject_id: int, name: str):
        def write(session: Session) -> None:
            session.get(Subject, subject_id).name = name
            session.flush()
        return write

    assert in_turns(app, rename(first_id, "Математика и алгебра"), rename(second_id, "Русский язык и литература"),
                    rename(second_id, "Русский язык (углублённый)")) == BOTH_WENT_THROUGH
