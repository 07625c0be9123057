"""Finals test helpers: marks of given (value, weight) in the first quarter of 5А mathematics, the
year period, a pass/fail subject, and readers of committed finals."""
import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import FinalGrade, Mark, PeriodKind, ReportingPeriod, Subject
from tests.factories import assign
from tests.journal_helpers import add_lessons, period_of, work_type

Q1_DAYS = [dt.date(2026, 9, 1) + dt.timedelta(days=n) for n in range(50)]
IN_Q2 = dt.date(2026, 11, 20)


def give_marks(world, student, pairs: list[tuple[int, int]], cls: str = "5А", start: int = 0) -> None:
    """One lesson per mark in the first quarter; each (value, weight) with a work type of that weight."""
    lessons = add_lessons(world, *Q1_DAYS[start:start + len(pairs)], cls=cls)
    for lesson, (value, weight) in zip(lessons, pairs, strict=True):
        wt = work_type(world, f"Вес {weight}", weight)
        db.session.add(Mark(school_id=lesson.school_id, lesson_id=lesson.id, student_id=student.id,
                            work_type_id=wt.id, value=value, author="teacher"))
    db.session.commit()


def q1(world) -> ReportingPeriod:
    """The first quarter (01.09–25.10.2026) of school A."""
    return period_of(world.year_a, 1)


def year_period(world) -> ReportingPeriod:
    """The year period of school A's year (created if missing)."""
    found = db.session.scalar(select(ReportingPeriod).where(ReportingPeriod.year_id == world.year_a.id,
                                                            ReportingPeriod.kind == PeriodKind.year))
    if found is None:
        found = ReportingPeriod(school=world.school_a, year=world.year_a, kind=PeriodKind.year, number=1,
                                start=world.year_a.start, end=dt.date(2027, 5, 26))
        db.session.add(found)
        db.session.commit()
    return found


def pe_of(world) -> Subject:
    """A pass/fail subject (физкультура) taught to 5А by `teacher`."""
    subject = Subject(school=world.school_a, name="Физическая культура", short_name="Физ", pass_fail=True)
    db.session.add(subject)
    assign(world.staff["teacher"], subject, world.classes["5А"])
    db.session.commit()
    return subject


def final_of(student, subject, period) -> FinalGrade | None:
    """The student's final, read afresh."""
    db.session.expire_all()
    return db.session.scalar(select(FinalGrade).where(FinalGrade.student_id == student.id,
                                                      FinalGrade.subject_id == subject.id,
                                                      FinalGrade.period_id == period.id))


def finals_count() -> int:
    """How many final grade rows exist."""
    db.session.expire_all()
    return len(db.session.scalars(select(FinalGrade.id)).all())



@pytest.fixture
def finals_without_marks(app):
    """`MIN_MARKS_FOR_FINAL` = 0 for tests of other rules that set finals with no journal behind them
    (tests/test_finals_due.py covers the minimum)."""
    app.config["MIN_MARKS_FOR_FINAL"] = 0
