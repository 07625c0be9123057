"""The journal rules of SPEC §3 in the service: who may write which mark or attendance entry,
when, for whom; a broken rule is a clear message with nothing saved and nothing audited; two
writers of one entry never silently overwrite each other."""
import datetime as dt

import pytest
from sqlalchemy import event, update

from app.extensions import db
from app.models import (
    Attendance,
    AttendanceCode,
    AuditEvent,
    Enrolment,
    Holiday,
    LessonStatus,
    Mark,
    PeriodKind,
    ReportingPeriod,
)
from app.services.errors import RuleViolation
from app.services.freeze import closed_message
from app.services.journal import Conflict, can_write_lesson, check_entry, frozen_period, set_attendance, set_mark
from app.services.lessons import substitute
from tests.journal_helpers import (
    SEPT_7,
    SEPT_8,
    SEPT_9,
    actor,
    add_lessons,
    add_students,
    close_period,
    count,
    d,
    math_of,
    message,
    period_of,
    staff_of,
    work_type,
)

NOT_YOURS = "The lesson is not found or is not yours."


@pytest.fixture
def lesson(world):
    """Monday 07.09.2026, mathematics of 5А taught by `teacher`."""
    return add_lessons(world, SEPT_7)[0]


@pytest.fixture
def kid(world):
    """Алексеев of 5А."""
    return world.students["Алексеев"]


@pytest.fixture
def wt(world):
    """The school's «Контрольная работа» (weight 5)."""
    return work_type(world)


def refused(call, expected: str, field: str | None = None) -> RuleViolation:
    """Run a write that must break a rule: its message, no mark, attendance or audit row after it."""
    marks, entries, events = count(Mark), count(Attendance), count(AuditEvent)
    with pytest.raises(RuleViolation) as caught:
        call()
    assert caught.value.message == expected
    if field is not None:
        assert caught.value.field == field
    db.session.commit()  # whatever the call left pending would be saved now
    assert (count(Mark), count(Attendance), count(AuditEvent)) == (marks, entries, events)
    return caught.value


# --- membership: only a student of the lesson's target on that date --------------------------------

def test_teacher_enters_a_mark_for_a_student_of_the_class(world, lesson, kid, wt):
    cell = set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 5, today=SEPT_8)
    db.session.commit()
    assert cell["value"] == 5 and cell["version"] == 1 and cell["work_type_id"] == wt.id
    mark = db.session.get(Mark, cell["id"])
    assert (mark.lesson_id, mark.student_id, mark.value, mark.author) == (lesson.id, kid.id, 5, "teacher")


def test_a_student_of_another_class_gets_no_mark(world, lesson, wt):
    stranger = world.students["Васильев"]  # 5Б
    err = refused(lambda: set_mark(actor("teacher"), lesson.id, stranger.id, wt.id, 5, today=SEPT_8),
                  message("The student is not taught in this lesson on %(day)s.", day=d(SEPT_7)), "student")
    assert "07.09.2026" in err.message


def test_a_student_of_another_school_gets_no_attendance(world, lesson):
    stranger = world.students["Гаврилов"]
    refused(lambda: set_attendance(actor("teacher"), lesson.id, stranger.id, "Н", today=SEPT_8),
            message("The student is not taught in this lesson on %(day)s.", day=d(SEPT_7)), "student")


def test_membership_is_checked_on_the_lesson_date(world, wt):
    early, late = add_lessons(world, SEPT_7, dt.date(2026, 10, 5))
    newcomer = add_students(world, "5А", 1, start=dt.date(2026, 10, 1), prefix="Новиков")[0]
    refused(lambda: set_mark(actor("teacher"), early.id, newcomer.id, wt.id, 4, today=SEPT_8),
            message("The student is not taught in this lesson on %(day)s.", day=d(SEPT_7)), "student")
    cell = set_mark(actor("teacher"), late.id, newcomer.id, wt.id, 4, today=dt.date(2026, 10, 6))
    assert cell["value"] == 4


def test_a_student_who_left_the_class_gets_nothing_after_leaving(world, lesson, kid):
    enrolment = db.session.get(Enrolment, kid.enrolments[0].id)
    enrolment.end = dt.date(2026, 9, 4)
    db.session.commit()
    refused(lambda: set_attendance(actor("teacher"), lesson.id, kid.id, "Б", today=SEPT_8),
            message("The student is not taught in this lesson on %(day)s.", day=d(SEPT_7)), "student")


# --- values and codes --------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [0, 6, 7, -1, 4.5, "5", True])
def test_a_mark_is_a_whole_number_from_1_to_5(world, lesson, kid, wt, value):
    refused(lambda: set_mark(actor("teacher"), lesson.id, kid.id, wt.id, value, today=SEPT_8),
            message("A mark is a whole number from 1 to 5."), "value")


@pytest.mark.parametrize("value", [1, 2, 3, 4, 5])
def test_every_mark_from_1_to_5_is_accepted(world, lesson, kid, wt, value):
    assert set_mark(actor("teacher"), lesson.id, kid.id, wt.id, value, today=SEPT_8)["value"] == value
    db.session.commit()
    assert db.session.scalar(db.select(Mark.value)) == value


def test_a_work_type_of_another_school_is_refused(world, lesson, kid):
    foreign = work_type(world, school="b")
    refused(lambda: set_mark(actor("teacher"), lesson.id, kid.id, foreign.id, 5, today=SEPT_8),
            message("Choose a work type of the school."), "work_type")


@pytest.mark.parametrize("code", ["Н", "Б", "УП", "ОП"])
def test_the_four_attendance_codes_are_accepted(world, lesson, kid, code):
    cell = set_attendance(actor("teacher"), lesson.id, kid.id, code, today=SEPT_8)
    db.session.commit()
    assert cell["code"] == code
    assert db.session.get(Attendance, cell["id"]).code == AttendanceCode(code)


@pytest.mark.parametrize("code", ["X", "н", "NN", "5"])
def test_other_attendance_codes_are_refused(world, lesson, kid, code):
    refused(lambda: set_attendance(actor("teacher"), lesson.id, kid.id, code, today=SEPT_8),
            message("Attendance is one of: %(codes)s.", codes="Б, Н, ОП, УП"), "code")


def test_a_student_may_have_one_mark_per_work_type_in_a_lesson(world, lesson, kid, wt):
    answer = work_type(world, "Ответ на уроке", 1)
    set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 5, today=SEPT_8)
    set_mark(actor("teacher"), lesson.id, kid.id, answer.id, 3, today=SEPT_8)
    db.session.commit()
    assert sorted(db.session.scalars(db.select(Mark.value).where(Mark.lesson_id == lesson.id))) == [3, 5]
    with pytest.raises(Conflict) as caught:  # a second «first» mark of the same work type
        set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 2, today=SEPT_8)
    assert caught.value.current["value"] == 5
    assert count(Mark) == 2


# --- the lesson: not cancelled, inside the year, not on a holiday, not in the future -----------------

def test_a_cancelled_lesson_refuses_marks_and_attendance(world, kid, wt):
    lesson = add_lessons(world, SEPT_7, status=LessonStatus.cancelled)[0]
    expected = message("The lesson of %(day)s is cancelled: nothing can be entered.", day=d(SEPT_7))
    refused(lambda: set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 5, today=SEPT_8), expected)
    refused(lambda: set_attendance(actor("director"), lesson.id, kid.id, "Н", today=SEPT_8), expected)


def test_a_lesson_of_tomorrow_takes_no_marks_today(world, lesson, kid, wt):
    refused(lambda: set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 5, today=dt.date(2026, 9, 6)),
            message("The lesson of %(day)s has not taken place yet.", day=d(SEPT_7)))
    assert set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 5, today=SEPT_7)["value"] == 5  # same day


def test_a_lesson_outside_the_academic_year_is_refused(world, kid, wt):
    before_year = add_lessons(world, dt.date(2026, 8, 28))[0]
    refused(lambda: set_mark(actor("director"), before_year.id, kid.id, wt.id, 5, today=SEPT_8),
            message("%(day)s is outside the academic year.", day="28.08.2026"))


def test_a_lesson_on_a_holiday_is_refused(world, kid, wt):
    lesson = add_lessons(world, dt.date(2026, 10, 27))[0]  # autumn holidays 26.10–02.11
    refused(lambda: set_attendance(actor("teacher"), lesson.id, kid.id, "Н", today=dt.date(2026, 10, 28)),
            message("%(day)s is a holiday (%(name)s).", day="27.10.2026", name="Осенние каникулы"))


def test_a_holiday_of_another_grade_does_not_stop_the_class(world, lesson, kid, wt):
    db.session.add(Holiday(school=world.school_a, year=world.year_a, name="Дополнительные каникулы 1 классов",
                           start=SEPT_7, end=SEPT_9, grade=1))
    db.session.commit()
    assert set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 4, today=SEPT_8)["value"] == 4
    db.session.add(Holiday(school=world.school_a, year=world.year_a, name="Карантин 5 классов",
                           start=SEPT_7, end=SEPT_7, grade=5))
    db.session.commit()
    refused(lambda: set_attendance(actor("teacher"), lesson.id, kid.id, "Н", today=SEPT_8),
            message("%(day)s is a holiday (%(name)s).", day=d(SEPT_7), name="Карантин 5 классов"))


# --- who: own lessons, substitutions, the administration --------------------------------------------

@pytest.mark.parametrize("username", ["teacher_b", "classteacher", "teacher_other", "registrar", "auditor",
                                      "director_b"])
def test_only_the_lessons_teacher_and_the_administration_write(world, lesson, kid, wt, username):
    refused(lambda: set_mark(actor(username), lesson.id, kid.id, wt.id, 5, today=SEPT_8),
            message(NOT_YOURS), "lesson")
    refused(lambda: set_attendance(actor(username), lesson.id, kid.id, "Н", today=SEPT_8),
            message(NOT_YOURS), "lesson")


def test_the_administration_and_the_deployment_admin_write_any_lesson_of_their_school(world, lesson, kid, wt):
    assert set_mark(actor("director"), lesson.id, kid.id, wt.id, 4, today=SEPT_8)["value"] == 4
    assert set_attendance(actor("admin"), lesson.id, world.students["Борисов"].id, "ОП", today=SEPT_8)["code"] == "ОП"
    db.session.commit()
    assert count(Mark) == 1 and count(Attendance) == 1


def test_a_lesson_that_does_not_exist_is_refused(world, kid, wt):
    refused(lambda: set_mark(actor("director"), 987654, kid.id, wt.id, 5, today=SEPT_8), message(NOT_YOURS))


def test_a_substitution_makes_the_lesson_writable_by_the_substitute(world, lesson, kid, wt):
    assert not can_write_lesson(actor("teacher_b"), lesson)
    substitute(lesson, staff_of("teacher_b"), "Болезнь учителя", by="director")
    db.session.commit()
    assert can_write_lesson(actor("teacher_b"), lesson)
    cell = set_mark(actor("teacher_b"), lesson.id, kid.id, wt.id, 3, today=SEPT_8)
    db.session.commit()
    assert db.session.get(Mark, cell["id"]).author == "teacher_b"
    # the substitute writes only this lesson, not the other lessons of 5А
    other = add_lessons(world, SEPT_8)[0]
    refused(lambda: set_mark(actor("teacher_b"), other.id, kid.id, wt.id, 3, today=SEPT_8), message(NOT_YOURS))


# --- when: the teachers' window, closed periods ---------------------------------------------------

def test_teachers_edit_for_seven_days_after_the_lesson(world, lesson, kid, wt):
    cell = set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 4, today=dt.date(2026, 9, 14))  # 7 days
    db.session.commit()
    refused(lambda: set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 5, version=cell["version"],
                             today=dt.date(2026, 9, 15)),
            message("Teachers may change entries only within %(days)d days after the lesson; ask the "
                    "administration.", days=7))
    assert db.session.get(Mark, cell["id"]).value == 4
    # the administration is not bound by the window
    later = set_mark(actor("director"), lesson.id, kid.id, wt.id, 5, version=cell["version"],
                     today=dt.date(2026, 10, 20))
    db.session.commit()
    assert later["value"] == 5 and later["version"] == 2


def test_the_window_follows_the_setting(app, world, lesson, kid):
    app.config["MARK_EDIT_DAYS"] = 2
    refused(lambda: set_attendance(actor("teacher"), lesson.id, kid.id, "Н", today=SEPT_9 + dt.timedelta(days=1)),
            message("Teachers may change entries only within %(days)d days after the lesson; ask the "
                    "administration.", days=2))
    assert set_attendance(actor("teacher"), lesson.id, kid.id, "Н", today=SEPT_9)["code"] == "Н"


def test_a_closed_period_freezes_its_marks_for_everyone(world, lesson, kid, wt):
    cell = set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 4, today=SEPT_8)
    db.session.commit()
    quarter = close_period(world, 1)
    assert frozen_period(lesson).id == quarter.id
    expected = closed_message(quarter)
    for username in ("teacher", "director", "admin"):
        refused(lambda u=username: set_mark(actor(u), lesson.id, kid.id, wt.id, 5, version=cell["version"],
                                            today=SEPT_8), expected)
    refused(lambda: set_mark(actor("director"), lesson.id, kid.id, wt.id, None, version=cell["version"],
                             today=SEPT_8), expected)  # nor deleted
    refused(lambda: set_attendance(actor("director"), lesson.id, kid.id, "Н", today=SEPT_8), expected)
    assert db.session.get(Mark, cell["id"]).value == 4


def test_a_closed_quarter_does_not_freeze_the_next_one(world, kid, wt):
    close_period(world, 1)
    lesson = add_lessons(world, dt.date(2026, 11, 9))[0]
    assert frozen_period(lesson) is None
    assert set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 5, today=dt.date(2026, 11, 10))["value"] == 5


def test_a_closed_year_freezes_every_lesson_of_it(world, lesson, kid, wt):
    year_period = ReportingPeriod(school=world.school_a, year=world.year_a, kind=PeriodKind.year, number=1,
                                  start=world.year_a.start, end=world.year_a.end, closed=True)
    db.session.add(year_period)
    db.session.commit()
    refused(lambda: set_mark(actor("director"), lesson.id, kid.id, wt.id, 5, today=SEPT_8),
            closed_message(year_period))
    assert period_of(world.year_a, 1).closed is False


# --- no silent overwrites ----------------------------------------------------------------------------

def test_the_later_of_two_writers_gets_a_conflict_and_the_current_value(world, lesson, kid, wt):
    first = set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 3, today=SEPT_8)
    db.session.commit()
    seen = first["version"]  # both the teacher and the director opened the journal now
    mine = set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 4, version=seen, today=SEPT_8)
    db.session.commit()
    assert mine["version"] == seen + 1
    with pytest.raises(Conflict) as caught:
        set_mark(actor("director"), lesson.id, kid.id, wt.id, 2, version=seen, today=SEPT_8)
    assert caught.value.current == {**mine, "comment": ""}
    assert caught.value.current["value"] == 4
    db.session.commit()
    assert db.session.get(Mark, first["id"]).value == 4
    with pytest.raises(Conflict):  # a stale delete is refused as well
        set_mark(actor("director"), lesson.id, kid.id, wt.id, None, version=seen, today=SEPT_8)
    db.session.commit()
    assert count(Mark) == 1


def test_creating_an_entry_someone_else_created_meanwhile_is_a_conflict(world, lesson, kid):
    set_attendance(actor("teacher"), lesson.id, kid.id, "Б", today=SEPT_8)
    db.session.commit()
    with pytest.raises(Conflict) as caught:  # the director's page still showed an empty cell
        set_attendance(actor("director"), lesson.id, kid.id, "Н", version=None, today=SEPT_8)
    assert caught.value.current["code"] == "Б"
    db.session.commit()
    assert [a.code for a in db.session.scalars(db.select(Attendance))] == [AttendanceCode.ill]


@pytest.mark.commits  # another connection commits while this session's transaction is open
def test_a_change_committed_between_reading_and_writing_is_a_conflict(world, lesson, kid, wt):
    """The row changes in another transaction after this one checked the version: the version
    column of the UPDATE catches it (no silent overwrite even in a real race)."""
    cell = set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 3, today=SEPT_8)
    db.session.commit()
    loaded = db.session.get(Mark, cell["id"])  # this session holds version 1
    assert loaded.version == 1
    with db.engine.begin() as other:  # another writer commits version 2
        other.execute(update(Mark.__table__).where(Mark.__table__.c.id == cell["id"])
                      .values(value=5, version=2))
    with pytest.raises(Conflict) as caught:
        set_mark(actor("director"), lesson.id, kid.id, wt.id, 2, version=1, today=SEPT_8)
    assert caught.value.current["value"] == 5 and caught.value.current["version"] == 2
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Mark, cell["id"]).value == 5


@pytest.mark.commits  # another connection commits while this session's transaction is open
def test_two_writers_creating_the_same_mark_at_once_give_a_conflict(world, lesson, kid, wt):
    """Both saw an empty cell; the other one's row is committed just before this flush."""
    raced = []

    def other_writer(session, _context, _instances):
        if raced or not any(isinstance(obj, Mark) for obj in session.new):
            return
        raced.append(True)
        with db.engine.begin() as other:
            other.execute(Mark.__table__.insert().values(
                school_id=lesson.school_id, lesson_id=lesson.id, student_id=kid.id, work_type_id=wt.id, value=5,
                comment="", author="director", version=1))

    session = db.session()
    event.listen(session, "before_flush", other_writer)
    try:
        with pytest.raises(Conflict) as caught:
            set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 2, today=SEPT_8)
    finally:
        event.remove(session, "before_flush", other_writer)
    assert raced
    assert caught.value.current["value"] == 5
    db.session.commit()
    assert [(m.value, m.author) for m in db.session.scalars(db.select(Mark))] == [(5, "director")]


def test_check_entry_returns_the_lesson_for_a_member(world, lesson, kid):
    assert check_entry(actor("teacher"), lesson, kid.id, SEPT_8) is lesson
    assert math_of(world).teacher_id == lesson.teacher_id
