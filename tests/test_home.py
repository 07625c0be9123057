"""The home pages' day's work, counted against hand counts: a teacher's lessons today with what they lack,
absences of the day (school and homeroom), journals left unfilled in the last week."""
import datetime as dt

import pytest

from app.extensions import db
from app.models import Attendance, AttendanceCode, LessonStatus, Mark
from app.services.day_work import (
    NO_ENTRIES,
    NO_HOMEWORK,
    NO_TOPIC,
    NOT_HELD,
    absences,
    absences_by_class,
    teacher_lessons,
    unfilled_journals,
)
from tests.journal_helpers import HTTP_TODAY, add_lessons, staff_of, work_type

DAY = HTTP_TODAY  # Friday 20.11.2026


def ago(days: int) -> dt.date:
    return DAY - dt.timedelta(days=days)


@pytest.fixture
def day(app, world):
    """5А (teacher): today a filled lesson with an absentee and a bare one; 17.11 filled, 18.11 left planned
    and empty; 10.11 empty but too old. 5Б (teacher_b): today no topic, an ill student; 19.11 held with a
    topic and no entries; 16.11 cancelled."""
    kids = world.students
    full = {"topic": "Дроби", "homework": "№ 5", "status": LessonStatus.held}
    filled_today, = add_lessons(world, DAY, slot=1, topic="Дроби", homework="№ 5")
    bare_today, = add_lessons(world, DAY, slot=2)
    held, = add_lessons(world, ago(3), **full)
    add_lessons(world, ago(2), ago(10))
    b_today, = add_lessons(world, DAY, cls="5Б")
    add_lessons(world, ago(1), cls="5Б", topic="Углы", status=LessonStatus.held)
    add_lessons(world, ago(4), cls="5Б", status=LessonStatus.cancelled)
    db.session.add_all([
        Attendance(school_id=world.school_a.id, lesson=filled_today, student=kids["Алексеев"],
                   code=AttendanceCode.absent),
        Attendance(school_id=world.school_a.id, lesson=filled_today, student=kids["Борисов"],
                   code=AttendanceCode.late),
        Attendance(school_id=world.school_a.id, lesson=b_today, student=kids["Васильев"], code=AttendanceCode.ill),
        Mark(school_id=world.school_a.id, lesson=held, student=kids["Борисов"], work_type=work_type(world), value=5),
    ])
    db.session.commit()
    return {"filled": filled_today, "bare": bare_today}


def test_a_teacher_sees_todays_lessons_in_bell_order_with_what_they_lack(day, world):
    rows = teacher_lessons(staff_of("teacher").id, DAY)
    assert [r.lesson.id for r in rows] == [day["filled"].id, day["bare"].id]
    assert [r.gaps for r in rows] == [(), (NO_TOPIC, NO_HOMEWORK)]
    assert rows[1].link == {"target": "class_id", "id": world.classes["5А"].id,
                            "subject": world.subjects["math"].id, "date": "2026-11-20", "lesson": day["bare"].id}
    assert teacher_lessons(staff_of("teacher").id, ago(1)) == []


def test_absences_of_the_day_count_missed_lessons_not_late_arrivals(day, world):
    school = absences(DAY, world.school_a.id)
    assert [(a.student.surname, a.class_name) for a in school] == [("Алексеев", "5А"), ("Васильев", "5Б")]
    assert school[0].missed == ["Математика (Н)"]
    assert absences_by_class(school) == [("5А", 1), ("5Б", 1)]
    homeroom = absences(DAY, world.school_a.id, {world.classes["5А"].id})
    assert [a.student.surname for a in homeroom] == ["Алексеев"]
    assert absences(DAY, world.school_b.id) == [] and absences(ago(1), world.school_a.id) == []


def test_unfilled_journals_of_the_last_week_with_their_gaps(day, world):
    found = {u.title: u for u in unfilled_journals(world.school_a.id, DAY)}
    assert set(found) == {"5А · Математика", "5Б · Математика"}
    a, b = found["5А · Математика"], found["5Б · Математика"]
    # 5А: 18.11 (never held, no topic, empty) and today's second lesson (no topic, empty).
    assert (a.lessons, a.gaps) == (2, {NOT_HELD: 1, NO_TOPIC: 2, NO_ENTRIES: 2})
    # 5Б: 19.11 (held, topic, empty) and today's (no topic, has attendance); the cancelled one is not counted.
    assert (b.lessons, b.gaps) == (2, {NO_ENTRIES: 1, NO_TOPIC: 1})
    assert a.teacher.startswith("Учителева") and "lesson" not in a.link
    assert unfilled_journals(world.school_b.id, DAY) == []


def test_each_role_home_page_shows_its_day(day, world, login_as, app):
    app.config["SCHOOL_TODAY"] = DAY.isoformat()
    teacher = login_as("teacher").get("/").get_data(as_text=True)
    assert "Мои уроки сегодня" in teacher and f"lesson={day['bare'].id}" in teacher and "нет темы" in teacher
    assert "Не заполнены журналы" not in teacher
    homeroom = login_as("classteacher").get("/").get_data(as_text=True)
    assert "Отсутствуют в моём классе сегодня: 1" in homeroom and "Алексеев" in homeroom
    assert "Обучающиеся группы риска: 2" in homeroom  # 5А's two students have too few marks in mathematics
    director = login_as("director").get("/").get_data(as_text=True)
    assert "Отсутствуют сегодня: 2" in director and "Не заполнены журналы (последние 7 дней): 2" in director
    assert "Мои уроки сегодня" not in director and "Обмен с порталом" in director
