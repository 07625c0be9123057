"""Issue 14 p.1 at the service level: the session refuses every insert, change and deletion of what
belongs to a closed period, whoever flushes (service, shell, CLI); what lies outside it, and the
exchange's bookkeeping, still saves; the administration completes a deferred final; reopening and
closing again leave an audited history."""
import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AuditEvent,
    ChangeKind,
    ControlWorkPlan,
    CurriculumItem,
    Enrolment,
    FinalGrade,
    FinalStatus,
    FinalValue,
    Lesson,
    LessonChange,
    Mark,
    PeriodKind,
    PeriodStatusChange,
    Recommendation,
    ReportingPeriod,
)
from app.services.audit import acting_as
from app.services.curriculum import fill_curriculum
from app.services.errors import RuleViolation
from app.services.finals import set_final
from app.services.lessons import generate_lessons
from tests.freeze_helpers import Q1_MONDAY, Q1_THURSDAY, Q2_MONDAY, build_frozen, changed_tables, snapshot
from tests.journal_helpers import (
    actor,
    add_lessons,
    add_students,
    bell_slot,
    math_of,
    message,
    period_of,
    staff_of,
    statements,
    timetable_entry,
    work_type,
)

IN_Q2 = dt.date(2026, 11, 20)


def _new_lesson(f, world):
    db.session.add(Lesson(school_id=f.lesson.school_id, assignment=math_of(world), date=Q1_THURSDAY,
                          bell_slot=bell_slot(world), teacher_id=f.lesson.teacher_id))


MUTATIONS = {
    "lesson topic": lambda f, w: setattr(f.lesson, "topic", "Другое"),
    "lesson status": lambda f, w: setattr(f.changed_lesson, "status", "cancelled"),
    "lesson deleted": lambda f, w: db.session.delete(f.changed_lesson),
    "lesson moved into the quarter": lambda f, w: setattr(f.open_lesson, "date", Q1_THURSDAY),
    "lesson added": _new_lesson,
    "cancellation of a closed lesson": lambda f, w: db.session.add(LessonChange(
        school_id=f.lesson.school_id, lesson=f.lesson, kind=ChangeKind.cancellation, old_date=f.lesson.date,
        reason="карантин", changed_by="director")),
    "rescheduling into the quarter": lambda f, w: db.session.add(LessonChange(
        school_id=f.lesson.school_id, lesson=f.open_lesson, kind=ChangeKind.rescheduling, old_date=Q2_MONDAY,
        new_date=Q1_THURSDAY, reason="перенос", changed_by="director")),
    "lesson change edited": lambda f, w: setattr(f.change, "reason", "другая"),
    "mark changed": lambda f, w: setattr(f.mark, "value", 2),
    "mark deleted": lambda f, w: db.session.delete(f.mark),
    "attendance deleted": lambda f, w: db.session.delete(f.attendance),
    "control work moved": lambda f, w: setattr(f.control_work, "date", Q2_MONDAY),
    "control work added": lambda f, w: db.session.add(ControlWorkPlan(
        school_id=f.lesson.school_id, assignment=math_of(w), date=Q1_MONDAY, topic="ещё")),
    "recommendation added": lambda f, w: db.session.add(Recommendation(
        school_id=f.lesson.school_id, teacher=staff_of("teacher"), student=w.students["Борисов"], text="Читать",
        date=Q1_MONDAY)),
    "recommendation deleted": lambda f, w: db.session.delete(f.recommendation),
    "final changed": lambda f, w: setattr(f.final, "value", FinalValue.four),
    "final added": lambda f, w: db.session.add(FinalGrade(
        school_id=f.lesson.school_id, student=w.students["Борисов"], subject=w.subjects["math"], period=f.period,
        value=FinalValue.four, status=FinalStatus.final)),
    "curriculum changed": lambda f, w: setattr(f.curriculum, "planned_hours", 39),
    "leaving date moved into the quarter": lambda f, w: setattr(f.enrolment, "end", dt.date(2026, 10, 10)),
    "enrolment from inside the quarter": lambda f, w: db.session.add(Enrolment(
        school_id=f.lesson.school_id, student=f.newcomer, class_unit=w.classes["5А"], start=dt.date(2026, 10, 1))),
    "enrolment deleted": lambda f, w: db.session.delete(f.enrolment),
    "group member added": lambda f, w: f.group.students.append(w.students["Борисов"]),
    "group member removed": lambda f, w: f.group.students.clear(),
    "stream deleted": lambda f, w: db.session.delete(f.stream),
    "closed period's dates": lambda f, w: setattr(f.period, "end", dt.date(2026, 10, 20)),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_the_session_refuses_each_change_of_the_closed_quarter(world, frozen, name):
    before = snapshot()
    MUTATIONS[name](frozen, world)
    with pytest.raises(RuleViolation) as err:
        db.session.commit()
    assert err.value.message == frozen.message()
    assert err.value.message.startswith("1-я четверть 2026/2027 закрыта")
    db.session.rollback()
    assert changed_tables(before, snapshot()) == []


def test_what_lies_outside_the_closed_quarter_still_saves(world, frozen):
    newcomer = frozen.newcomer
    frozen.final.published_at = dt.datetime(2026, 11, 1, 10)  # the exchange's receipt is no change of the result
    frozen.enrolment.end = dt.date(2026, 11, 20)  # leaving in the second quarter
    db.session.add(Enrolment(school_id=newcomer.school_id, student=newcomer, class_unit=world.classes["5А"],
                             start=dt.date(2026, 11, 5)))
    frozen.open_lesson.topic = "Проценты"
    db.session.add(ControlWorkPlan(school_id=newcomer.school_id, assignment=math_of(world), date=Q2_MONDAY))
    db.session.commit()
    frozen.group.students.append(newcomer)  # in the class only since the second quarter
    db.session.commit()
    assert newcomer in frozen.group.students and frozen.enrolment.end == dt.date(2026, 11, 20)


@pytest.mark.usefixtures("finals_without_marks")
def test_the_administration_completes_a_deferred_final_and_nothing_else(world, frozen):
    kid, math = world.students["Борисов"], world.subjects["math"]
    reopen_direct(frozen.period)
    deferred = FinalGrade(school_id=kid.school_id, student=kid, subject=math, period=frozen.period,
                          status=FinalStatus.deferred, deferral_reason="болезнь", deferral_deadline=IN_Q2)
    db.session.add(deferred)
    db.session.commit()
    close_direct(frozen.period)
    deferred.value, deferred.status = FinalValue.three, FinalStatus.final  # not through the service: refused
    with pytest.raises(RuleViolation):
        db.session.commit()
    db.session.rollback()
    with pytest.raises(RuleViolation) as err:
        set_final(actor("teacher"), kid.id, math.id, frozen.period.id, "3", version=1, today=IN_Q2)
    assert err.value.message == message("Only the administration completes a deferred final of a closed period.")
    db.session.rollback()
    cell = set_final(actor("director"), kid.id, math.id, frozen.period.id, "3", version=1, today=IN_Q2)
    db.session.commit()
    assert (cell["status"], cell["value"]) == ("final", "3")
    with pytest.raises(RuleViolation):  # once completed it is frozen like the others
        set_final(actor("director"), kid.id, math.id, frozen.period.id, "4", version=2, today=IN_Q2)
    db.session.rollback()


def reopen_direct(period: ReportingPeriod) -> None:
    period.closed = False
    db.session.commit()


def close_direct(period: ReportingPeriod) -> None:
    period.closed = True
    db.session.commit()


def test_lessons_from_the_timetable_are_not_made_in_a_closed_quarter(world, frozen):
    timetable_entry(world, weekday=2)  # Wednesdays
    before = snapshot()
    with pytest.raises(RuleViolation) as err:
        generate_lessons(world.school_a, dt.date(2026, 10, 19), dt.date(2026, 11, 20))
    assert err.value.message == frozen.message()
    db.session.rollback()
    assert changed_tables(before, snapshot()) == []
    assert generate_lessons(world.school_a, dt.date(2026, 11, 3), dt.date(2026, 11, 20)) == 3  # the open quarter
    db.session.commit()


def test_filling_the_curriculum_leaves_the_closed_quarter_as_it_was(world, frozen):
    items = fill_curriculum(world.classes["5А"])
    db.session.commit()
    assert frozen.period.id not in {i.period_id for i in items} and len(items) == 3
    assert db.session.get(CurriculumItem, frozen.curriculum.id).planned_hours == 40


def test_one_flush_asks_a_fixed_number_of_statements_whatever_its_size(world, frozen):
    """Batch lookups: the freeze reads the closed periods, the lessons and their assignments once per flush."""
    wt = work_type(world, "Ответ на уроке", 1)

    def selects_of_a_flush(count: int) -> int:
        days = [Q2_MONDAY + dt.timedelta(days=n) for n in range(count)]
        lessons = add_lessons(world, *days, slot=3 + count)
        kids = add_students(world, "5А", count, start=dt.date(2026, 11, 3), prefix=f"Новый{count}_")
        marks = [Mark(school_id=world.school_a.id, lesson_id=lesson.id, student_id=kid.id, work_type_id=wt.id,
                      value=4) for lesson in lessons for kid in kids]
        with statements() as seen:
            db.session.add_all(marks)  # one flush of count² marks
            db.session.flush()
        db.session.rollback()
        return len([s for s in seen if s.lstrip().upper().startswith("SELECT")])

    small, large = selects_of_a_flush(2), selects_of_a_flush(6)
    assert small == large >= 3  # the closed periods, the lessons, their assignments


@pytest.mark.usefixtures("isolated")
@pytest.mark.usefixtures("finals_without_marks")
def test_reopen_edit_close_again_over_the_pages(app, world, frozen, http_today, login_as, api_token):
    period, lesson = frozen.period, frozen.lesson
    director, teacher = login_as("director"), login_as("teacher")
    headers = {"Authorization": f"Bearer {api_token('teacher')}"}
    assert teacher.post(f"/finals/close/{period.id}/reopen", data={"reason": "ошибка"}).status_code == 403
    text = director.post(f"/finals/close/{period.id}/reopen", data={"reason": "  "}, follow_redirects=True)
    assert message("Give the reason for reopening the period: it is kept in its history.") in text.text
    db.session.expire_all()
    assert db.session.get(ReportingPeriod, period.id).closed and _history(period) == []

    text = director.post(f"/finals/close/{period.id}/reopen", data={"reason": "Исправить тему урока 12.10"},
                         follow_redirects=True).text
    assert message("The period «%(period)s» is reopened: its rows may be changed until it is closed again.",
                   period=period.title) in text
    assert "Исправить тему урока 12.10" in text  # the history under the period
    db.session.expire_all()
    assert not db.session.get(ReportingPeriod, period.id).closed
    [row] = _history(period)
    assert (row.action, row.reason, row.changed_by) == ("reopened", "Исправить тему урока 12.10", "director")
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.entity == "period_status_change")).all()
    assert [(a.action, a.username, a.after["reason"]) for a in audit] == [
        ("create", "director", "Исправить тему урока 12.10")]

    response = app.test_client().put(f"/api/v1/lesson/{lesson.id}", json={"topic": "Сложение дробей"},
                                     headers=headers)
    assert response.status_code == 200, response.json
    with acting_as("teacher"):  # the missing finals, so that the quarter can close again
        for kid, who in ((world.students["Борисов"], "teacher"), (world.students["Васильев"], "teacher_b")):
            set_final(actor(who), kid.id, world.subjects["math"].id, period.id, "4", today=IN_Q2)
        db.session.commit()
    director.post(f"/finals/close/{period.id}", follow_redirects=True)
    db.session.expire_all()
    assert db.session.get(ReportingPeriod, period.id).closed
    assert [r.action for r in _history(period)] == ["closed", "reopened"]
    response = app.test_client().put(f"/api/v1/lesson/{lesson.id}", json={"topic": "Снова"}, headers=headers)
    assert response.status_code == 422 and response.json["message"] == frozen.message()
    db.session.expire_all()
    assert db.session.get(Lesson, lesson.id).topic == "Сложение дробей"


def _history(period) -> list[PeriodStatusChange]:
    return db.session.scalars(select(PeriodStatusChange).where(PeriodStatusChange.period_id == period.id)
                              .order_by(PeriodStatusChange.id.desc())).all()


def test_a_quarter_of_a_closed_year_is_not_reopened(world):
    frozen_world = build_frozen(world)
    year = ReportingPeriod(school=world.school_a, year=world.year_a, kind=PeriodKind.year, number=1,
                           start=world.year_a.start, end=world.year_a.end, closed=True)
    db.session.add(year)
    db.session.commit()
    from app.services.periods import reopen_period

    with pytest.raises(RuleViolation) as err:
        reopen_period(actor("director"), frozen_world.period.id, "ошибка")
    assert err.value.message == message("Reopen «%(year)s» first: the closed year freezes all its periods.",
                                        year=year.title)
    with pytest.raises(RuleViolation) as err:
        reopen_period(actor("teacher"), frozen_world.period.id, "ошибка")
    assert err.value.message == message("Only the administration reopens a period.")
    with pytest.raises(RuleViolation) as err:
        reopen_period(actor("director"), period_of(world.year_a, 2).id, "ошибка")
    assert err.value.message == message("The period «%(period)s» is not closed.",
                                        period=period_of(world.year_a, 2).title)
    db.session.rollback()
    assert period_of(world.year_a, 1).closed and db.session.scalar(select(PeriodStatusChange.id)) is None



def test_the_lessons_command_refuses_a_closed_quarter(world, frozen, runner):
    timetable_entry(world, weekday=2)
    before = snapshot()
    result = runner.invoke(args=["school", "lessons", "--from", "2026-10-19", "--to", "2026-10-23"])
    assert result.exit_code != 0 and frozen.message() in result.output
    assert changed_tables(before, snapshot()) == []
