"""Lessons from the timetable and their changes: generation skips weekends and holidays and never
duplicates; substitution, rescheduling and cancellation follow their rules; a class's week of
changes and its control-work schedule (with the warning of more than two a day)."""
import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    ChangeKind,
    ControlWorkPlan,
    Holiday,
    Lesson,
    LessonChange,
    LessonStatus,
    Mark,
    Subject,
    TeachingAssignment,
)
from app.services.errors import RuleViolation
from app.services.journal import set_mark
from app.services.lessons import (
    cancel,
    changes_of_class,
    control_works_of_class,
    describe_lesson,
    generate_lessons,
    overloaded_days,
    reschedule,
    substitute,
)
from tests.factories import assign
from tests.journal_helpers import (
    SEPT_7,
    SEPT_8,
    actor,
    add_lessons,
    bell_slot,
    count,
    math_of,
    message,
    staff_of,
    timetable_entry,
    work_type,
)

MON, TUE, WED, THU, FRI, SAT = range(6)


def lesson_days(world, cls: str = "5А") -> list[dt.date]:
    """Dates of the class's mathematics lessons, in order."""
    return list(db.session.scalars(select(Lesson.date).where(Lesson.assignment_id == math_of(world, cls).id)
                                   .order_by(Lesson.date)))


# --- generation --------------------------------------------------------------------------------------

def test_generation_follows_the_weekday_and_skips_the_holidays(world):
    entry = timetable_entry(world, MON)
    # Mondays 19.10, 26.10 (holidays 26.10–02.11), 02.11 (holidays), 09.11
    assert generate_lessons(world.school_a, dt.date(2026, 10, 17), dt.date(2026, 11, 10)) == 2
    db.session.commit()
    assert lesson_days(world) == [dt.date(2026, 10, 19), dt.date(2026, 11, 9)]
    lesson = db.session.scalar(select(Lesson).order_by(Lesson.date))
    assignment = math_of(world)
    assert (lesson.teacher_id, lesson.timetable_entry_id, lesson.bell_slot_id, lesson.room, lesson.status) == (
        assignment.teacher_id, entry.id, entry.bell_slot_id, "12", LessonStatus.planned)


def test_generation_skips_weekends(world):
    timetable_entry(world, SAT)  # a five-day school has no Saturday lessons
    timetable_entry(world, FRI)
    assert generate_lessons(world.school_a, dt.date(2026, 9, 1), dt.date(2026, 9, 30)) == 4
    db.session.commit()
    assert [day.weekday() for day in lesson_days(world)] == [FRI] * 4
    assert lesson_days(world)[0] == dt.date(2026, 9, 4)


def test_generation_run_twice_never_duplicates(world):
    timetable_entry(world, TUE)
    timetable_entry(world, THU)
    first = generate_lessons(world.school_a, dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    db.session.commit()
    assert first == 9  # Tuesdays 1, 8, 15, 22, 29 and Thursdays 3, 10, 17, 24
    assert generate_lessons(world.school_a, dt.date(2026, 9, 1), dt.date(2026, 9, 30)) == 0
    db.session.commit()
    # an overlapping span adds only the new days
    assert generate_lessons(world.school_a, dt.date(2026, 9, 20), dt.date(2026, 10, 8)) == 3  # 1, 6, 8.10
    db.session.commit()
    days = lesson_days(world)
    assert len(days) == len(set(days)) == 12


def test_generation_respects_the_validity_of_entries_and_grade_holidays(world):
    timetable_entry(world, WED, valid_from=dt.date(2026, 9, 10), valid_to=dt.date(2026, 9, 25))
    db.session.add(Holiday(school=world.school_a, year=world.year_a, name="Карантин 5 классов",
                           start=dt.date(2026, 9, 16), end=dt.date(2026, 9, 16), grade=5))
    db.session.add(Holiday(school=world.school_a, year=world.year_a, name="Каникулы первоклассников",
                           start=dt.date(2026, 9, 23), end=dt.date(2026, 9, 23), grade=1))
    db.session.commit()
    assert generate_lessons(world.school_a, dt.date(2026, 9, 1), dt.date(2026, 9, 30)) == 1
    db.session.commit()
    assert lesson_days(world) == [dt.date(2026, 9, 23)]  # 16.09 is the 5th grade's quarantine


def test_generation_does_not_recreate_a_moved_lesson(world):
    timetable_entry(world, MON)
    generate_lessons(world.school_a, dt.date(2026, 9, 1), dt.date(2026, 9, 13))
    db.session.commit()
    lesson = db.session.scalar(select(Lesson))
    assert lesson.date == SEPT_7
    reschedule(lesson, SEPT_8, bell_slot(world), "Экскурсия", by="director")
    db.session.commit()
    assert generate_lessons(world.school_a, dt.date(2026, 9, 1), dt.date(2026, 9, 13)) == 0
    db.session.commit()
    assert lesson_days(world) == [SEPT_8]


def test_generation_refuses_a_reversed_span(world):
    with pytest.raises(RuleViolation) as caught:
        generate_lessons(world.school_a, dt.date(2026, 9, 30), dt.date(2026, 9, 1))
    assert caught.value.message == message("The end date %(end)s is before the start date %(start)s.",
                                           end="01.09.2026", start="30.09.2026")


def test_the_lessons_command_creates_lessons_once(app, world):
    timetable_entry(world, MON)
    runner = app.test_cli_runner()
    args = ["school", "lessons", "--from", "2026-09-01", "--to", "2026-09-30", "--school", "Школа А"]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert "Школа А: создано уроков 4" in first.output
    second = runner.invoke(args=args)
    assert "Школа А: создано уроков 0" in second.output
    db.session.expire_all()
    assert len(lesson_days(world)) == 4


# --- changes -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("reason", ["", "   "])
def test_every_change_needs_a_reason(world, reason):
    lesson = add_lessons(world, SEPT_7)[0]
    expected = message("Give the reason of the change: families see it.")
    for call in (lambda: cancel(lesson, reason, by="director"),
                 lambda: substitute(lesson, staff_of("teacher_b"), reason, by="director"),
                 lambda: reschedule(lesson, SEPT_8, bell_slot(world), reason, by="director")):
        with pytest.raises(RuleViolation) as caught:
            call()
        assert caught.value.message == expected and caught.value.field == "reason"
        db.session.rollback()
    assert count(LessonChange) == 0
    db.session.refresh(lesson)
    assert (lesson.status, lesson.date, lesson.teacher_id) == (LessonStatus.planned, SEPT_7,
                                                              staff_of("teacher").id)


def test_a_cancelled_lesson_refuses_marks(world):
    lesson = add_lessons(world, SEPT_7)[0]
    change = cancel(lesson, "Актированный день", by="director")
    db.session.commit()
    assert (change.kind, change.old_date, change.changed_by, change.reason) == (
        ChangeKind.cancellation, SEPT_7, "director", "Актированный день")
    assert lesson.status == LessonStatus.cancelled
    with pytest.raises(RuleViolation) as caught:
        set_mark(actor("teacher"), lesson.id, world.students["Алексеев"].id, work_type(world).id, 5, today=SEPT_8)
    assert caught.value.message == message("The lesson of %(day)s is cancelled: nothing can be entered.",
                                           day="07.09.2026")
    with pytest.raises(RuleViolation) as again:
        cancel(lesson, "Ещё раз", by="director")
    assert again.value.message == message("The lesson is already cancelled.")


def test_a_lesson_with_marks_can_be_neither_cancelled_nor_moved(world):
    lesson = add_lessons(world, SEPT_7)[0]
    set_mark(actor("teacher"), lesson.id, world.students["Алексеев"].id, work_type(world).id, 5, today=SEPT_8)
    db.session.commit()
    with pytest.raises(RuleViolation) as caught:
        cancel(lesson, "Карантин", by="director")
    assert caught.value.message == message("The lesson has marks: remove them before cancelling.")
    db.session.rollback()
    with pytest.raises(RuleViolation) as moved:
        reschedule(lesson, SEPT_8, bell_slot(world), "Перенос", by="director")
    assert moved.value.message == message("The lesson has marks: it cannot be moved.")
    db.session.rollback()
    db.session.refresh(lesson)
    assert (lesson.status, lesson.date, count(LessonChange), count(Mark)) == (LessonStatus.planned, SEPT_7, 0, 1)


def test_rescheduling_moves_the_lesson_and_remembers_where_it_was(world):
    lesson = add_lessons(world, SEPT_7)[0]
    second = bell_slot(world, 2)
    change = reschedule(lesson, dt.date(2026, 9, 9), second, "Олимпиада", by="director")
    db.session.commit()
    assert (lesson.date, lesson.bell_slot_id) == (dt.date(2026, 9, 9), second.id)
    assert (change.old_date, change.old_slot_id, change.new_date, change.new_slot_id) == (
        SEPT_7, bell_slot(world, 1).id, dt.date(2026, 9, 9), second.id)


@pytest.mark.parametrize(("day", "slot", "msgid", "field"), [
    (dt.date(2027, 9, 1), 1, "The new date must be inside the academic year.", "new_date"),
    (SEPT_7, 1, "The new date and slot are the same as before.", "new_date"),
    (SEPT_8, 1, "There is already a lesson of this class and subject then.", "new_date"),
    (SEPT_8, "other school", "Choose a bell slot of the school.", "new_slot"),
    (dt.date(2026, 10, 27), 1, "27.10.2026 is a holiday (Осенние каникулы).", "new_date"),
])
def test_rescheduling_rules(world, day, slot, msgid, field):
    lesson, _busy = add_lessons(world, SEPT_7, SEPT_8)
    bell = bell_slot(world, school="b") if slot == "other school" else bell_slot(world, slot)
    with pytest.raises(RuleViolation) as caught:
        reschedule(lesson, day, bell, "Перенос", by="director")
    expected = message("%(day)s is a holiday (%(name)s).", day="27.10.2026", name="Осенние каникулы") \
        if "holiday" in msgid else message(msgid)
    assert (caught.value.message, caught.value.field) == (expected, field)
    db.session.rollback()
    db.session.refresh(lesson)
    assert lesson.date == SEPT_7 and count(LessonChange) == 0


def test_substitution_rules(world):
    lesson = add_lessons(world, SEPT_7)[0]
    with pytest.raises(RuleViolation) as same:
        substitute(lesson, staff_of("teacher"), "Замена", by="director")
    assert same.value.field == "new_teacher"
    db.session.rollback()
    with pytest.raises(RuleViolation) as foreign:
        substitute(lesson, staff_of("teacher_other"), "Замена", by="director")
    assert foreign.value.message == message("Choose a teacher of the school.")
    db.session.rollback()
    change = substitute(lesson, staff_of("teacher_b"), "Курсы повышения квалификации", by="director")
    db.session.commit()
    assert (change.old_teacher_id, change.new_teacher_id, lesson.teacher_id) == (
        staff_of("teacher").id, staff_of("teacher_b").id, staff_of("teacher_b").id)
    assert lesson.assignment.teacher_id == staff_of("teacher").id  # the journal stays the teacher's


# --- what families see: a week's changes, the control-work schedule -------------------------------

def test_changes_of_class_lists_the_weeks_changes(world):
    monday, thursday, next_monday = SEPT_7, dt.date(2026, 9, 10), dt.date(2026, 9, 14)
    sub, moved, cancelled, later = add_lessons(world, monday, dt.date(2026, 9, 9), thursday, next_monday)
    other_class = add_lessons(world, SEPT_8, cls="5Б")[0]
    substitute(sub, staff_of("teacher_b"), "Болезнь", by="director")
    reschedule(moved, dt.date(2026, 9, 15), bell_slot(world), "Олимпиада", by="director")
    cancel(cancelled, "Актированный день", by="director")
    cancel(later, "Карантин", by="director")
    cancel(other_class, "Карантин", by="director")
    db.session.commit()
    week = changes_of_class(world.classes["5А"].id, monday, monday + dt.timedelta(days=6))
    assert [(c.kind, c.old_date) for c in week] == [
        (ChangeKind.substitution, monday), (ChangeKind.rescheduling, dt.date(2026, 9, 9)),
        (ChangeKind.cancellation, thursday)]
    following = changes_of_class(world.classes["5А"].id, next_monday, next_monday + dt.timedelta(days=6))
    assert [(c.kind, c.old_date) for c in following] == [  # the moved lesson lands in the next week
        (ChangeKind.rescheduling, dt.date(2026, 9, 9)), (ChangeKind.cancellation, next_monday)]


def test_the_class_changes_page(world, login_as, isolated):
    lesson = add_lessons(world, SEPT_7)[0]
    cancel(lesson, "Актированный день (мороз)", by="director")
    db.session.commit()
    url = f"/class/{world.classes['5А'].id}/changes?week=2026-09-09"
    page = login_as("teacher").get(url)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Актированный день (мороз)" in text and "07.09.2026" in text
    assert "Актированный день" not in login_as("teacher").get(url.replace("09-09", "09-16")).get_data(as_text=True)
    assert login_as("teacher_b").get(url).status_code == 404  # 5Б's teacher does not see 5А


def _subject_assignment(world, name: str, teacher: str = "teacher") -> TeachingAssignment:
    subject = Subject(school=world.school_a, name=name, short_name=name[:4])
    db.session.add(subject)
    assignment = assign(staff_of(teacher), subject, world.classes["5А"])
    db.session.commit()
    return assignment


def world_school(assignment) -> int:
    """The school of an assignment, saved or not yet."""
    return assignment.school_id or assignment.school.id


def _plan(assignment, day: dt.date, topic: str) -> ControlWorkPlan:
    work = ControlWorkPlan(school_id=world_school(assignment), assignment=assignment, date=day, topic=topic)
    db.session.add(work)
    db.session.commit()
    return work


def test_overloaded_days_warn_of_more_than_two_control_works(world):
    math = math_of(world)
    russian, history, english = (_subject_assignment(world, n) for n in ("Русский язык", "История", "Английский"))
    busy, calm = dt.date(2026, 9, 16), dt.date(2026, 9, 17)
    for assignment in (math, russian, history):
        _plan(assignment, busy, f"КР {assignment.subject.name}")
    _plan(math, calm, "Дроби")
    _plan(english, calm, "Времена глагола")
    _plan(math_of(world, "5Б"), calm, "Дроби 5Б")  # another class does not count
    works = control_works_of_class(world.classes["5А"].id, dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    assert len(works) == 5
    assert overloaded_days(works) == [busy]
    assert overloaded_days(control_works_of_class(world.classes["5Б"].id, busy, calm)) == []


def test_parallel_subgroups_count_once(world):
    from app.models import StudyGroup

    english = _subject_assignment(world, "Английский")
    groups = [StudyGroup(school=world.school_a, class_unit=world.classes["5А"], subject=english.subject, name=n)
              for n in ("1 группа", "2 группа")]
    db.session.add_all(groups)
    db.session.commit()
    day = dt.date(2026, 9, 16)
    for group in groups:
        _plan(assign(staff_of("teacher"), english.subject, group), day, f"КР {group.name}")
    _plan(math_of(world), day, "Дроби")
    works = control_works_of_class(world.classes["5А"].id, day, day)
    assert len(works) == 3 and overloaded_days(works) == []
    _plan(_subject_assignment(world, "История"), day, "Древний Египет")
    assert overloaded_days(control_works_of_class(world.classes["5А"].id, day, day)) == [day]


def test_the_control_works_page_shows_the_warning(world, login_as, isolated):
    day = dt.date(2026, 9, 16)
    for assignment in (math_of(world), *(_subject_assignment(world, n) for n in ("Русский язык", "История"))):
        _plan(assignment, day, f"КР {assignment.subject.name}")
    text = login_as("classteacher").get(f"/class/{world.classes['5А'].id}/control-works").get_data(as_text=True)
    assert "КР Русский язык" in text and "КР История" in text
    assert text.count("16.09.2026") == 4  # three rows and the warning


# --- the lesson header -------------------------------------------------------------------------------

def test_describe_lesson_sets_topic_homework_type_and_status(world):
    lesson = add_lessons(world, SEPT_7)[0]
    describe_lesson(lesson, topic="  Дроби  ", homework="№ 12, 14", homework_due="2026-09-09",
                    lesson_type="control_work", status="held")
    db.session.commit()
    db.session.refresh(lesson)
    assert (lesson.topic, lesson.homework, lesson.homework_due, lesson.lesson_type.value, lesson.status.value) == (
        "Дроби", "№ 12, 14", dt.date(2026, 9, 9), "control_work", "held")


@pytest.mark.parametrize(("fields", "msgid", "field"), [
    ({"topic": "т" * 301}, "%(field)s must be at most %(max)s characters long (%(got)s given).", "topic"),
    ({"topic": {"a": 1}}, "%(field)s must be text.", "topic"),
    ({"homework": ["№ 5"]}, "%(field)s must be text.", "homework"),
    ({"homework_due": 123}, "The due date must be a date.", "homework_due"),
    ({"homework_due": "2026-09-06"}, "Homework cannot be due before the lesson.", "homework_due"),
    ({"homework_due": "завтра"}, "The due date must be a date.", "homework_due"),
    ({"lesson_type": "party"}, "Unknown lesson type.", "type"),
    ({"status": "cancelled"}, "Cancel or restore lessons through a lesson change.", "status"),
    ({"status": "done"}, "Unknown lesson status.", "status"),
])
def test_describe_lesson_refuses_bad_values(world, fields, msgid, field):
    lesson = add_lessons(world, SEPT_7, topic="Было")[0]
    with pytest.raises(RuleViolation) as caught:
        describe_lesson(lesson, **fields)
    label = message({"topic": "Topic", "homework": "Homework"}.get(field, field))  # the form's label of the field
    assert (caught.value.message, caught.value.field) == (message(msgid, field=label, max=300, got=301), field)
    db.session.rollback()
    db.session.refresh(lesson)
    assert (lesson.topic, lesson.homework_due, lesson.status) == ("Было", None, LessonStatus.planned)
