"""Forecast test helpers: marks of the world's students on given days with given weights (written
straight to the tables: the journal rules are tested elsewhere), a second subject, finals.

The school day of these tests is Friday 20.11.2026, in the second quarter (03.11–28.12.2026,
55 days, 38 of them still ahead: remaining share 38/55).
"""
import datetime as dt

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import FinalGrade, FinalStatus, FinalValue, Lesson, Mark, Subject, TeachingAssignment
from tests.factories import TODAY, assign, subject  # noqa: F401 - TODAY is imported from here by the tests
from tests.journal_helpers import bell_slot, math_of, period_of, work_type

NOV = [dt.date(2026, 11, d) for d in (9, 10, 11, 12, 13, 16, 17)]
REMAINING = 38 / 55
CLASS_OF = {"Алексеев": "5А", "Борисов": "5А", "Васильев": "5Б", "Гаврилов": "B5А"}


@pytest.fixture
def today(frozen_today):
    """Alias of conftest's `frozen_today` (TODAY)."""
    return frozen_today


def lesson_on(world, assignment: TeachingAssignment, day: dt.date) -> Lesson:
    """The assignment's lesson on the day (created if missing)."""
    found = db.session.scalar(select(Lesson).where(Lesson.assignment_id == assignment.id, Lesson.date == day))
    if found is None:
        school = "a" if assignment.school_id == world.school_a.id else "b"
        # each assignment in its own slot: a class has one lesson at a time (no clash); the slot is the
        # assignment's place among the school's (ids have gaps: PostgreSQL's sequences skip rolled-back rows)
        place = db.session.scalar(select(func.count(TeachingAssignment.id)).where(
            TeachingAssignment.school_id == assignment.school_id, TeachingAssignment.id <= assignment.id))
        found = Lesson(school_id=assignment.school_id, assignment=assignment, date=day,
                       bell_slot=bell_slot(world, place, school=school),
                       teacher_id=assignment.teacher_id)
        db.session.add(found)
        db.session.flush()
    return found


def marks(world, kid: str, *entries: tuple[dt.date, int, int], assignment: TeachingAssignment | None = None,
          cls: str | None = None) -> None:
    """Marks (day, value, weight) of a student in the class's mathematics (or another assignment)."""
    student = world.students[kid]
    assignment = assignment or math_of(world, cls or CLASS_OF.get(kid, "5А"))
    school = "a" if assignment.school_id == world.school_a.id else "b"
    for day, value, weight in entries:
        db.session.add(Mark(school_id=assignment.school_id, lesson=lesson_on(world, assignment, day), student=student,
                            work_type=work_type(world, f"Вес {weight}", weight, school=school), value=value))
    db.session.commit()


def russian(world, teacher: str = "teacher_b") -> TeachingAssignment:
    """Russian language in 5А, taught by `teacher_b` (another teacher than 5А's mathematics)."""
    subj = subject(world.school_a, "Русский язык")
    a = assign(world.staff[teacher], subj, world.classes["5А"])
    db.session.commit()
    return a


def final(world, kid: str, value: FinalValue | None, number: int = 1, status: FinalStatus = FinalStatus.final,
          subject_obj: Subject | None = None) -> FinalGrade:
    """A final of the student in mathematics for a quarter of their school's year."""
    student = world.students[kid]
    year = world.year_a if student.school_id == world.school_a.id else world.year_b
    subj = subject_obj or (world.subjects["math"] if student.school_id == world.school_a.id
                           else world.subjects["math_b"])
    grade = FinalGrade(school_id=student.school_id, student=student, subject=subj, period=period_of(year, number),
                       value=value, status=status)
    db.session.add(grade)
    db.session.commit()
    return grade
