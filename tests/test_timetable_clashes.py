"""Issue 18 p.1: no clashes. A class (or any of its students through a group, stream or individual plan), a
teacher or a room has at most one lesson in a slot: timetable entries, lessons, substitutions, reschedulings
and generated lessons that would break it are refused with a message naming the clash, on every write path
(pages, REST API, actions, CLI, services), and nothing changes. The demo's timetable has no clash."""
import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    IndividualPlan,
    Lesson,
    LessonChange,
    LessonStatus,
    Stream,
    StudyGroup,
    Subject,
    TeachingAssignment,
    TimetableEntry,
)
from app.services.errors import RuleViolation
from app.services.lessons import cancel, reschedule
from app.services.timetable_clashes import clashes_of_school
from tests.factories import assign
from tests.journal_helpers import bell_slot, math_of, message, staff_of, timetable_entry

MON, TUE = dt.date(2026, 11, 16), dt.date(2026, 11, 17)  # a week of the HTTP tests' second quarter
NEXT_MON = dt.date(2026, 11, 23)
WATCHED = ("timetable_entry", "lesson", "lesson_change", "audit_event", "outbox_message")


@dataclass
class Week:
    """5А mathematics (`teacher`) and 5Б mathematics (`teacher_b`) and Russian (`teacher`), with their
    timetable and the lessons of one week."""

    math_a: TeachingAssignment
    math_b: TeachingAssignment
    russian_b: TeachingAssignment
    entry_math_b: TimetableEntry  # Tuesday, slot 1, room 14
    math_a_mon: Lesson  # 16.11 slot 1, room 12
    math_b_mon: Lesson  # 16.11 slot 1, room 14
    russian_b_tue: Lesson  # 17.11 slot 1, room 15


def _entry(assignment, weekday: int, slot: int, room: str, world) -> TimetableEntry:
    entry = TimetableEntry(school_id=assignment.school_id, assignment=assignment, weekday=weekday,
                           bell_slot=bell_slot(world, slot), room=room, valid_from=assignment.year.start,
                           valid_to=assignment.year.end)
    db.session.add(entry)
    return entry


def _lesson(assignment, day: dt.date, slot: int, room: str, world, teacher_id: int | None = None) -> Lesson:
    lesson = Lesson(school_id=assignment.school_id, assignment=assignment, date=day, bell_slot=bell_slot(world, slot),
                    teacher_id=teacher_id or assignment.teacher_id, room=room)
    db.session.add(lesson)
    return lesson


@pytest.fixture
def week(world) -> Week:
    russian = Subject(school=world.school_a, name="Русский язык")
    russian_b = assign(staff_of("teacher"), russian, world.classes["5Б"])
    math_a, math_b = math_of(world, "5А"), math_of(world, "5Б")
    timetable_entry(world, 0, "5А")  # Monday, slot 1, room 12
    entry_math_b = _entry(math_b, 1, 1, "14", world)
    _entry(russian_b, 0, 2, "15", world)
    out = Week(math_a, math_b, russian_b, entry_math_b, _lesson(math_a, MON, 1, "12", world),
               _lesson(math_b, MON, 1, "14", world), _lesson(russian_b, TUE, 1, "15", world))
    _lesson(math_b, NEXT_MON, 1, "12", world)  # where the timetable's 5А mathematics will be generated
    db.session.commit()
    return out


def when(day, n: int) -> str:
    """«16.11.2026, 1-й урок», «понедельник, 1-й урок»."""
    return message("%(day)s, lesson %(n)s", day=day if isinstance(day, str) else f"{day:%d.%m.%Y}", n=n)


def teacher_clash(username: str, other: str, at: str) -> str:
    return message("Clash: teacher %(teacher)s already has the lesson %(other)s then (%(when)s).",
                   teacher=str(staff_of(username)), other=other, when=at)


def room_clash(room: str, other: str, at: str) -> str:
    return message("Clash: room %(room)s is taken by the lesson %(other)s then (%(when)s).",
                   room=room, other=other, when=at)


def class_clash(cls: str, other: str, at: str) -> str:
    return message("Clash: class %(cls)s already has the lesson %(other)s then (%(when)s).",
                   cls=cls, other=other, when=at)


def snapshot() -> dict:
    """The watched tables as committed (a separate connection)."""
    from flask_appbuilder import Model

    tables = {t.name: t for t in Model.metadata.sorted_tables}
    with db.engine.connect() as conn:
        return {name: [dict(r) for r in conn.execute(select(tables[name]).order_by(
            *tables[name].primary_key.columns)).mappings()] for name in WATCHED}


# --- every write path ----------------------------------------------------------------------------------

def attempts(world, w: Week) -> list[tuple[str, str, str, dict | None, dict | None, str]]:
    """(endpoint, method, url, form, json, the expected refusal) of every write that would make a clash."""
    monday = message("Monday").lower()
    slot1, slot2 = bell_slot(world, 1), bell_slot(world, 2)
    teacher, teacher_b = staff_of("teacher"), staff_of("teacher_b")
    year = w.math_a.year
    lesson_form = {"assignment": w.russian_b.id, "date": MON.isoformat(), "bell_slot": slot1.id,
                   "teacher": teacher.id, "room": "30", "topic": "Диктант", "homework": "—", "lesson_type": "regular"}
    teacher_at_mon = teacher_clash("teacher", "Математика (5А)", when(MON, 1))
    generated = room_clash("12", "Математика (5Б)", when(NEXT_MON, 1))
    return [
        ("TimetableEntryView.add", "POST", "/timetableentryview/add",
         {"assignment": w.russian_b.id, "weekday": "0", "bell_slot": slot1.id, "room": "20",
          "valid_from": year.start.isoformat(), "valid_to": year.end.isoformat()}, None,
         teacher_clash("teacher", "Математика (5А)", when(monday, 1))),
        ("TimetableEntryView.edit", "POST", f"/timetableentryview/edit/{w.entry_math_b.id}",
         {"assignment": w.math_b.id, "weekday": "0", "bell_slot": slot2.id, "room": "14",
          "valid_from": year.start.isoformat(), "valid_to": year.end.isoformat()}, None,
         class_clash("5Б", "Русский язык (5Б)", when(monday, 2))),
        ("TimetableEntryView.action_post", "POST", "/timetableentryview/action_post",
         {"action": "make_lessons", "rowid": [w.entry_math_b.id]}, None, generated),
        ("LessonView.add", "POST", "/lessonview/add", lesson_form, None, teacher_at_mon),
        ("LessonView.edit", "POST", f"/lessonview/edit/{w.math_b_mon.id}",
         {"topic": "Дроби", "lesson_type": "regular", "status": "planned", "homework": "—", "room": "12"}, None,
         room_clash("12", "Математика (5А)", when(MON, 1))),
        ("LessonChangeView.add", "POST", "/lessonchangeview/add",  # a substitute who teaches 5Б then
         {"lesson": w.math_a_mon.id, "kind": "substitution", "new_teacher": teacher_b.id, "reason": "болезнь"},
         None, teacher_clash("teacher_b", "Математика (5Б)", when(MON, 1))),
        ("LessonChangeView.add", "POST", "/lessonchangeview/add",  # 5Б moved onto its own Russian lesson
         {"lesson": w.math_b_mon.id, "kind": "rescheduling", "new_date": TUE.isoformat(), "new_slot": slot1.id,
          "reason": "перенос"}, None, class_clash("5Б", "Русский язык (5Б)", when(TUE, 1))),
        ("LessonApi.post", "POST", "/api/v1/lesson/", None,
         {**lesson_form, "status": "planned"}, teacher_at_mon),
    ]


# Writes that cannot make a clash: deleting frees a slot; the lesson API edits no slot, teacher or room.
NO_CLASH_BY_DESIGN = {("LessonApi.put", "PUT"), ("LessonApi.delete", "DELETE"), ("LessonView.delete", "POST"),
                      ("TimetableEntryView.delete", "POST"), ("TimetableEntryView.action", "POST"),
                      ("LessonView.action", "POST"), ("LessonView.action_post", "POST")}


def test_the_walk_covers_every_write_route_of_the_timetable_and_lessons(app, world, week):
    views = {v.endpoint: v for v in app.appbuilder.baseviews}
    routes = set()
    for rule in app.url_map.iter_rules():
        view = views.get(rule.endpoint.partition(".")[0])
        if getattr(getattr(view, "datamodel", None), "obj", None) in (TimetableEntry, Lesson, LessonChange):
            routes |= {(rule.endpoint, m) for m in rule.methods & {"POST", "PUT", "DELETE"}}
    planned = {(endpoint, method) for endpoint, method, *_ in attempts(world, week)}
    assert not views["LessonView"].actions, "LessonView has actions: walk them here"
    assert routes - planned - NO_CLASH_BY_DESIGN == set()


@pytest.mark.usefixtures("isolated", "http_today")
def test_every_write_that_makes_a_clash_is_refused_naming_it_and_changes_nothing(app, world, week, login_as,
                                                                                 api_token):
    page, token = login_as("director"), api_token("director")
    before = snapshot()
    failures = []
    for endpoint, method, url, form, body, expected in attempts(world, week):
        if body is not None:
            response = app.test_client().open(url, method=method, json=body,
                                               headers={"Authorization": f"Bearer {token}"})
            text = json.dumps(response.json, ensure_ascii=False)
        else:
            response = page.open(url, method=method, data=form, follow_redirects=True)
            text = response.get_data(as_text=True).replace("&#34;", '"').replace("&#39;", "'")
        if expected not in text:
            failures.append(f"{endpoint} {url}: {response.status_code}, expected «{expected}»")
        if snapshot() != before:
            failures.append(f"{endpoint} {url}: a table changed")
            before = snapshot()
    assert not failures, "\n".join(failures)


def test_the_cli_refuses_to_generate_a_clashing_lesson_and_creates_none(app, world, week, runner):
    lessons = db.session.scalars(select(Lesson.id)).all()
    result = runner.invoke(args=["school", "lessons", "--from", NEXT_MON.isoformat(), "--to", NEXT_MON.isoformat(),
                                 "--school", world.school_a.short_name])
    assert result.exit_code != 0
    assert room_clash("12", "Математика (5Б)", when(NEXT_MON, 1)) in result.output
    db.session.expire_all()
    assert db.session.scalars(select(Lesson.id)).all() == lessons


# --- the rule itself: students through groups, streams and plans; what is not a clash ------------------

def _refused(expected_start: str, write) -> str:
    with pytest.raises(RuleViolation) as err:
        write()
        db.session.flush()
    db.session.rollback()
    assert err.value.message.startswith(expected_start), err.value.message
    return err.value.message


def test_a_stream_or_a_plan_clashes_through_its_student(world, week):
    alekseev, vasiliev = world.students["Алексеев"], world.students["Васильев"]
    stream = Stream(school=world.school_a, year=world.year_a, name="Практикум", students=[alekseev])
    elective = assign(staff_of("classteacher"), world.subjects["math"], stream, 1)
    db.session.commit()
    _refused(message("Clash: %(student)s would be at two lessons at once, %(this)s and %(other)s (%(when)s).",
                     student=str(alekseev), this="Математика (Практикум)", other="Математика (5А)",
                     when=when(message("Monday").lower(), 1)),
             lambda: _entry(elective, 0, 1, "40", world))
    assert db.session.scalar(select(TimetableEntry).where(TimetableEntry.assignment_id == elective.id)) is None
    plan = IndividualPlan(school=world.school_a, year=world.year_a, student=vasiliev,
                          subject=world.subjects["math"])
    at_home = assign(staff_of("classteacher"), world.subjects["math"], plan, 1)
    db.session.commit()
    _refused(message("Clash: %(student)s would be at two lessons at once, %(this)s and %(other)s (%(when)s).",
                     student=str(vasiliev), this=f"Математика ({vasiliev})", other="Русский язык (5Б)",
                     when=when(TUE, 1)),
             lambda: _lesson(at_home, TUE, 1, "50", world))
    assert db.session.scalar(select(Lesson).where(Lesson.assignment_id == at_home.id)) is None


def test_parallel_groups_share_a_slot_but_a_group_and_its_class_do_not(world, week):
    a5 = world.classes["5А"]
    first = StudyGroup(school=world.school_a, class_unit=a5, name="1 группа", students=[world.students["Алексеев"]])
    second = StudyGroup(school=world.school_a, class_unit=a5, name="2 группа", students=[world.students["Борисов"]])
    english = Subject(school=world.school_a, name="Английский язык")
    g1 = assign(staff_of("classteacher"), english, first)
    g2 = assign(staff_of("teacher_b"), english, second)
    db.session.commit()
    _lesson(g1, TUE, 2, "21", world)
    _lesson(g2, TUE, 2, "22", world)
    db.session.commit()  # disjoint halves of 5А at once: no clash
    _refused(class_clash("5А", "Английский язык (5А 1 группа)", when(TUE, 2)),
             lambda: _lesson(week.math_a, TUE, 2, "12", world))


def test_what_is_not_a_clash(world, week):
    """A cancelled lesson frees its slot; entries whose dates do not overlap share a room; a lesson moved
    away frees its old slot for the next one."""
    cancel(week.math_b_mon, "карантин", "director")
    db.session.commit()
    _lesson(week.russian_b, MON, 1, "14", world, teacher_id=staff_of("classteacher").id)  # 5Б's slot is free
    db.session.commit()
    september = _entry(week.math_b, 2, 3, "77", world)
    september.valid_to = dt.date(2026, 9, 30)
    october = _entry(week.math_a, 2, 3, "77", world)
    october.valid_from = dt.date(2026, 10, 1)
    db.session.commit()  # room 77 on Wednesdays: 5Б's in September, 5А's from October
    _refused(room_clash("77", "Математика (5Б)", when(message("Wednesday").lower(), 3)),
             lambda: _entry(week.russian_b, 2, 3, "77", world))
    reschedule(week.russian_b_tue, TUE, bell_slot(world, 4), "перенос", "director")
    db.session.commit()
    _lesson(week.math_b, TUE, 1, "16", world)
    db.session.commit()
    assert db.session.scalar(select(Lesson.status).where(Lesson.id == week.math_b_mon.id)) == LessonStatus.cancelled
    assert clashes_of_school(db.session, world.school_a.id) == []


def test_the_scan_finds_clashes_written_around_the_guard(world, week):
    db.session.execute(Lesson.__table__.update().where(Lesson.id == week.math_b_mon.id).values(room="12"))
    db.session.commit()
    assert clashes_of_school(db.session, world.school_a.id) == [
        room_clash("12", "Математика (5А)", when(MON, 1))]


def test_the_demo_timetable_and_lessons_have_no_clash(runner):
    from app.models import School

    result = runner.invoke(args=["school", "demo", "--size", "small", "--seed", "3", "--today", "2026-11-28"])
    assert result.exit_code == 0, result.output
    school = db.session.scalar(select(School))
    assert clashes_of_school(db.session, school.id) == []
    placed = Counter(db.session.scalars(select(TimetableEntry.assignment_id)))
    hours = {a.id: int(a.weekly_hours) for a in db.session.scalars(select(TeachingAssignment)) if int(a.weekly_hours)}
    assert placed == hours  # every weekly hour found a slot
