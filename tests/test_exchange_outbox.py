"""The transactional outbox: family-visible changes queue messages in the same transaction (none after a
rollback), only for students with a current consent; a consent brings the initial sync, a withdrawal
cancels what waits and queues the withdrawal; bookkeeping columns are not news; every message is valid.

The world (consent_helpers): 5А has Алексеев (representative Алексеева) and Борисов (nobody: undecided),
5Б has Васильев (representative Васильева)."""
import datetime as dt

import pytest
from sqlalchemy import select

from app.exchange import payloads
from app.exchange.schema import envelope, errors
from app.extensions import db
from app.models import (
    Decision,
    FinalGrade,
    FinalStatus,
    FinalValue,
    Holiday,
    Lesson,
    Mark,
    Notification,
    OutboxMessage,
    OutboxStatus,
)
from app.services.audit import acting_as
from app.services.finals import set_final
from app.services.students import sync_enrolment
from tests.consent_helpers import NOV_2, TODAY, record
from tests.finals_helpers import q1
from tests.journal_helpers import actor, add_lessons, math_of, work_type

pytestmark = pytest.mark.usefixtures("school_today")  # the clock reads TODAY


def outbox(kind: str | None = None, student=None) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    if student is not None:
        query = query.where(OutboxMessage.student_id == student.id)
    return db.session.scalars(query).all()


def mark(world, kid: str, value: int = 5, day: dt.date = dt.date(2026, 11, 16)) -> Mark:
    cls = world.students[kid].class_unit.grade, world.students[kid].class_unit.letter
    lesson = db.session.scalar(select(Lesson).where(Lesson.date == day, Lesson.assignment_id == math_of(
        world, f"{cls[0]}{cls[1]}").id)) or add_lessons(world, day, cls=f"{cls[0]}{cls[1]}")[0]
    item = Mark(school_id=lesson.school_id, lesson_id=lesson.id, student_id=world.students[kid].id,
                work_type_id=work_type(world).id, value=value, author="teacher")
    db.session.add(item)
    db.session.commit()
    return item


def test_a_consent_queues_the_full_initial_sync(world):
    old = mark(world, "Алексеев", 4)
    assert outbox() == []  # no consent yet: nothing queued
    record(world)
    (sync,) = outbox()
    assert (sync.kind, sync.student_id, sync.status) == ("snapshot", world.students["Алексеев"].id, OutboxStatus.queued)
    items = [i for i in sync.payload["items"] if i["kind"] == "mark"]
    assert [(i["payload"]["id"], i["payload"]["value"]) for i in items] == [(old.id, 4)]


def test_marks_are_queued_for_consented_students_only(world):
    record(world)
    record(world, Decision.refusal, kid="Васильев", guardian="Васильева")
    for kid in ("Алексеев", "Борисов"):
        mark(world, kid)
    mark(world, "Васильев")
    marks = outbox("mark")
    assert [(m.student_id, m.payload["value"]) for m in marks] == [(world.students["Алексеев"].id, 5)]
    assert outbox(student=world.students["Борисов"]) == outbox(student=world.students["Васильев"]) == []


def test_a_rolled_back_change_leaves_no_message(world):
    record(world)
    lesson = add_lessons(world, dt.date(2026, 11, 16))[0]
    db.session.add(Mark(school_id=lesson.school_id, lesson_id=lesson.id, student_id=world.students["Алексеев"].id,
                        work_type_id=work_type(world).id, value=3, author="teacher"))
    db.session.flush()
    assert len(outbox("mark")) == 1  # queued inside the transaction…
    db.session.rollback()
    assert outbox("mark") == []  # …and gone with it


def test_changes_and_deletions_are_queued_with_the_new_state(world):
    record(world)
    item = mark(world, "Алексеев", 3)
    item.value = 4
    db.session.commit()
    db.session.delete(item)
    db.session.commit()
    payloads_seen = [m.payload for m in outbox("mark")]
    assert [p.get("value") for p in payloads_seen] == [3, 4, None]
    assert payloads_seen[-1] == {"id": item.id, "deleted": True}


def test_a_lesson_with_a_topic_reaches_each_consented_member(world):
    record(world)
    lesson = add_lessons(world, dt.date(2026, 11, 16))[0]
    assert outbox("lesson") == []  # a bare planned lesson is in the timetable already
    lesson.topic, lesson.homework = "Дроби", "№ 12, 14"
    db.session.commit()
    (message,) = outbox("lesson")
    assert message.student_id == world.students["Алексеев"].id  # Борисов (5А) has no consent
    assert (message.payload["topic"], message.payload["homework"]) == ("Дроби", "№ 12, 14")


def test_a_holiday_reaches_consented_students_of_its_grade(world):
    record(world)
    record(world, kid="Васильев", guardian="Васильева")
    db.session.add(Holiday(school=world.school_a, year=world.year_a, name="Дополнительные каникулы",
                           start=dt.date(2026, 12, 1), end=dt.date(2026, 12, 3), grade=5))
    db.session.add(Holiday(school=world.school_a, year=world.year_a, name="Для старших",
                           start=dt.date(2026, 12, 1), end=dt.date(2026, 12, 3), grade=11))
    db.session.commit()
    holidays = outbox("holidays")
    assert sorted(m.student_id for m in holidays) == sorted([world.students["Алексеев"].id,
                                                            world.students["Васильев"].id])
    assert {m.payload["name"] for m in holidays} == {"Дополнительные каникулы"}


def test_withdrawal_cancels_what_waits_and_is_the_last_message(world):
    record(world)
    waiting = mark(world, "Алексеев")
    record(world, Decision.withdrawal, on=NOV_2, number="40-ПД")
    mark(world, "Алексеев", 2, day=dt.date(2026, 11, 17))  # after the withdrawal: not queued
    kinds = [(m.kind, m.status) for m in outbox(student=world.students["Алексеев"])]
    assert kinds == [("snapshot", OutboxStatus.cancelled), ("mark", OutboxStatus.cancelled),
                     ("withdrawal", OutboxStatus.queued)]
    withdrawal = outbox("withdrawal")[0]
    assert withdrawal.payload["decision"] == "withdrawal" and withdrawal.payload["decided_on"] == NOV_2.isoformat()
    assert db.session.get(Mark, waiting.id) is not None


@pytest.mark.usefixtures("finals_without_marks")
def test_a_final_queues_its_message_and_the_familys_notification(world):
    record(world)
    kid = world.students["Алексеев"]
    with acting_as("teacher"):
        set_final(actor("teacher"), kid.id, world.subjects["math"].id, q1(world).id, FinalValue.four.value)
        db.session.commit()
    (message,) = outbox("final_grade")
    assert (message.payload["value"], message.payload["status"], message.entity_version) == ("4", "final", 1)
    (notice,) = db.session.scalars(select(Notification)).all()
    assert notice.kind.value == "final_grade" and "Математика" in notice.title


def test_a_proposed_final_and_publication_bookkeeping_are_not_news(world):
    record(world)
    kid = world.students["Алексеев"]
    final = FinalGrade(school_id=kid.school_id, student_id=kid.id, subject_id=world.subjects["math"].id,
                       period_id=q1(world).id, proposed_value=FinalValue.five, status=FinalStatus.proposed)
    db.session.add(final)
    db.session.commit()
    assert outbox("final_grade") == []
    final.status, final.value, final.decided_at = FinalStatus.final, FinalValue.five, dt.datetime(2026, 11, 20, 9)
    db.session.commit()
    final.published_at = dt.datetime(2026, 11, 20, 10)
    db.session.commit()
    assert len(outbox("final_grade")) == 1


def test_every_queued_message_is_valid_against_the_schema(world):
    record(world)
    mark(world, "Алексеев")
    record(world, Decision.withdrawal, on=TODAY, number="41-ПД")
    messages = outbox()
    assert {m.kind for m in messages} == {"snapshot", "mark", "withdrawal"}
    student, school = payloads.student_block(world.students["Алексеев"]), payloads.school_block(world.school_a)
    for message in messages:
        assert errors(envelope(message, student, school)) == [], message.kind


def test_consent_given_again_cancels_the_withdrawal_still_waiting(world):
    record(world)
    record(world, Decision.withdrawal, on=NOV_2, number="40-ПД")
    record(world, on=TODAY, number="50-ПД")
    kinds = [(m.kind, m.status) for m in outbox(student=world.students["Алексеев"])]
    assert kinds == [("snapshot", OutboxStatus.cancelled), ("withdrawal", OutboxStatus.cancelled),
                     ("snapshot", OutboxStatus.queued)]


def test_a_flush_that_fails_after_the_capture_leaves_nothing_behind(world):
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    record(world)

    def fail(_session, _context):
        raise RuntimeError("a later listener fails")

    item = Mark(school_id=world.school_a.id, lesson_id=add_lessons(world, dt.date(2026, 11, 18))[0].id,
                student_id=world.students["Алексеев"].id, work_type_id=work_type(world).id, value=5)
    event.listen(Session, "after_flush", fail)
    try:
        db.session.add(item)
        with pytest.raises(RuntimeError):
            db.session.commit()
    finally:
        event.remove(Session, "after_flush", fail)
    db.session.rollback()
    assert not {k for k in db.session.info if k.startswith("exchange_")}
    mark(world, "Алексеев", 3, day=dt.date(2026, 11, 19))  # the next change is captured normally
    assert [m.payload["value"] for m in outbox("mark")] == [3]


def test_an_unchanged_exam_result_keeps_its_publication(world):
    from app.models import ExamKind, ExamResult
    from app.services.exams import validate_exam_result

    record(world)
    kid = world.students["Алексеев"]
    result = ExamResult(school_id=kid.school_id, student=kid, kind=ExamKind.exam, name="Пробный ОГЭ",
                        date=dt.date(2026, 11, 10), result_date=dt.date(2026, 11, 12), score=20.0)
    db.session.add(result)
    db.session.commit()
    published = dt.datetime(2026, 11, 12, 10)
    result.published_at = published
    db.session.commit()
    validate_exam_result(result)  # saved again without a change
    db.session.commit()
    assert result.published_at == published and len(outbox("exam_result")) == 1
    result.score = 25.0
    validate_exam_result(result)
    db.session.commit()
    assert result.published_at is None and len(outbox("exam_result")) == 2


def test_a_move_to_another_class_queues_the_full_diary_of_the_new_class(world):
    """The new class's teachers, timetable and lessons reach the family at once, not as they change."""
    record(world)
    consented, other = world.students["Алексеев"], world.students["Борисов"]
    before = {m.id for m in outbox()}
    for student in (consented, other):
        student.class_unit = world.classes["5Б"]
        enrolment = sync_enrolment(student, TODAY)
    db.session.commit()
    (sync,) = [m for m in outbox() if m.status == OutboxStatus.queued]
    # The consent's snapshot and the one of the move's first flush (old class ended) are replaced.
    assert {m.id for m in outbox() if m.status == OutboxStatus.cancelled} >= before
    assert (sync.kind, sync.student_id, sync.entity) == ("snapshot", consented.id, "enrolment")
    assert sync.payload["items"], "the snapshot of the new class is not empty"
    taught = {i["payload"]["scope_name"] for i in sync.payload["items"] if i["kind"] == "teachers"}
    assert taught == {str(world.classes["5Б"])}
    student, school = payloads.student_block(consented), payloads.school_block(world.school_a)
    assert errors(envelope(sync, student, school)) == []
    assert enrolment.class_unit_id == world.classes["5Б"].id  # the unconsented one moved too, silently
