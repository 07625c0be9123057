"""Journal test helpers: lessons of the `teacher`'s mathematics in 5А (or another class of the
world) on given dates, a frozen "today", and small readers of what was committed.

The services take `today=`; the HTTP endpoints and the REST API read the school clock
(`app.services.clock.today`), which `freeze_today` fixes through `SCHOOL_TODAY` for one test.
"""
import contextlib
import datetime as dt
import re

import pytest
from flask import current_app
from flask_appbuilder.security.sqla.models import User
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, event, func, select

from app.extensions import db
from app.models import (
    AuditEvent,
    BellSlot,
    Enrolment,
    Lesson,
    PeriodKind,
    ReportingPeriod,
    Staff,
    Student,
    TeachingAssignment,
    TimetableEntry,
    WorkType,
)
from app.services.journal import Actor, actor_of
from tests.factories import TODAY

# Mondays to Fridays of the first quarter (01.09–25.10.2026) for the services' `today=`.
SEPT_7, SEPT_8, SEPT_9, SEPT_10, SEPT_11 = (dt.date(2026, 9, d) for d in range(7, 12))
# The school day the HTTP tests live on: Friday of the second quarter (03.11–28.12.2026).
HTTP_TODAY = TODAY
# Lessons of that week (Mon 16.11 … Fri 20.11) are inside the teachers' 7-day window.
HTTP_WEEK = [HTTP_TODAY - dt.timedelta(days=d) for d in (4, 3, 2, 1, 0)]


def freeze_today(app, day: dt.date) -> None:
    """Make the app's school clock (HTTP views, REST API) read `day`."""
    app.config["SCHOOL_TODAY"] = day.isoformat()


@pytest.fixture
def isolated(app):
    """Kept for old tests: request isolation is now the `app` fixture's default."""


@pytest.fixture
def http_today(frozen_today):
    """Alias of conftest's `frozen_today` (HTTP_TODAY)."""
    return frozen_today


def math_of(world, cls: str = "5А") -> TeachingAssignment:
    """The mathematics assignment of a class of the world (5А: `teacher`, 5Б: `teacher_b`), whatever else the
    test assigned to the class (without the subject and the order, PostgreSQL returned any of them)."""
    maths = (world.subjects["math"].id, world.subjects["math_b"].id)
    return db.session.scalar(select(TeachingAssignment).where(
        TeachingAssignment.class_unit_id == world.classes[cls].id, TeachingAssignment.subject_id.in_(maths))
        .order_by(TeachingAssignment.id).limit(1))


def bell_slot(world, number: int = 1, school: str = "a") -> BellSlot:
    """The school's bell slot of that number (created if missing)."""
    sch = world.school_a if school == "a" else world.school_b
    slot = db.session.scalar(select(BellSlot).where(BellSlot.school_id == sch.id, BellSlot.number == number))
    if slot is None:
        slot = BellSlot(school=sch, number=number, start_time=f"{8 + number:02d}:30",
                        end_time=f"{9 + number:02d}:15")
        db.session.add(slot)
        db.session.commit()
    return slot


def work_type(world, name: str = "Контрольная работа", weight: int = 5, school: str = "a") -> WorkType:
    """A work type of the school by name (created with the weight if missing)."""
    sch = world.school_a if school == "a" else world.school_b
    found = db.session.scalar(select(WorkType).where(WorkType.school_id == sch.id, WorkType.name == name))
    if found is None:
        found = WorkType(school=sch, name=name, weight=weight)
        db.session.add(found)
        db.session.commit()
    return found


def timetable_entry(world, weekday: int, cls: str = "5А", valid_from: dt.date | None = None,
                    valid_to: dt.date | None = None, slot: int = 1) -> TimetableEntry:
    """A weekly lesson (0 = Monday) of the class's mathematics, valid the whole year by default."""
    assignment = math_of(world, cls)
    entry = TimetableEntry(school_id=assignment.school_id, assignment=assignment, weekday=weekday,
                           bell_slot=bell_slot(world, slot), room="12",
                           valid_from=valid_from or assignment.year.start, valid_to=valid_to or assignment.year.end)
    db.session.add(entry)
    db.session.commit()
    return entry


def add_lessons(world, *days: dt.date, cls: str = "5А", slot: int = 1, **fields) -> list[Lesson]:
    """Lessons of the class's mathematics on the days (taught by the assignment's teacher)."""
    assignment = math_of(world, cls)
    bell = bell_slot(world, slot)
    lessons = [Lesson(school_id=assignment.school_id, assignment=assignment, date=day, bell_slot=bell,
                      teacher_id=assignment.teacher_id, **fields) for day in days]
    db.session.add_all(lessons)
    db.session.commit()
    return lessons


def add_students(world, cls: str, count: int, start: dt.date | None = None, end: dt.date | None = None,
                 prefix: str = "Ученик") -> list[Student]:
    """`count` more students of the class, enrolled from `start` (default: the year's start) to `end`."""
    unit = world.classes[cls]
    out = []
    for n in range(count):
        student = Student(school=unit.school, surname=f"{prefix}{n:02d}", name="Пётр", patronymic="Петрович",
                          birth_date=dt.date(2015, 1, 1), class_unit=unit, enrolled_on=start or unit.year.start)
        db.session.add(student)
        db.session.add(Enrolment(school=unit.school, student=student, class_unit=unit,
                                 start=start or unit.year.start, end=end))
        out.append(student)
    db.session.commit()
    return out


def close_period(world, number: int, school: str = "a") -> ReportingPeriod:
    """Close the quarter of the world's year."""
    year = world.year_a if school == "a" else world.year_b
    period = period_of(year, number)
    period.closed = True
    db.session.commit()
    return period


def period_of(year, number: int) -> ReportingPeriod:
    """The quarter of that number of a year (not the year's own period, nor a half-year, of the same number)."""
    return db.session.scalar(select(ReportingPeriod).where(
        ReportingPeriod.year_id == year.id, ReportingPeriod.kind == PeriodKind.quarter,
        ReportingPeriod.number == number))


def actor(username: str) -> Actor:
    """The journal Actor of a login of the world."""
    return actor_of(db.session.scalar(select(User).where(User.username == username)))


def staff_of(username: str) -> Staff:
    """The staff record of a login."""
    return db.session.scalar(select(Staff).join(User, User.id == Staff.user_id).where(User.username == username))


def message(msgid: str, **params) -> str:
    """A rule's message as a request of the test client renders it (the app's default locale)."""
    with current_app.test_request_context():
        return str(_l(msgid, **params))


HARNESS = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b")  # tests/isolation.py's


def the_apps(seen: list[str]) -> list[str]:
    """The recorded statements the app sent: the tests' isolation SAVEPOINTs left out."""
    return [s for s in seen if not HARNESS.match(s)]


@contextlib.contextmanager
def statements():
    """The SQL statements sent while the block runs, in order (the one recorder of the tests):
    `with statements() as seen: ...`."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def count(model, *where) -> int:
    """Rows of a model as the database holds them (the test session's stale copies are expired first;
    what it added is flushed): the one row counter of the tests."""
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def committed(model, *where) -> list:
    """Committed rows of a model, read on a separate connection (what other users would see)."""
    with db.engine.connect() as conn:
        return conn.execute(select(model.__table__).where(*where)).mappings().all()


ENTRIES = ("mark", "attendance")  # the journal's entries (the setup's lessons and enrolments are audited too)


def audit_events(entity: str | tuple[str, ...] | None = None) -> list[AuditEvent]:
    """Committed audit events (of one entity, or of several), oldest first."""
    db.session.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.id)
    if entity:
        query = query.where(AuditEvent.entity.in_([entity] if isinstance(entity, str) else entity))
    return db.session.scalars(query).all()


def clear_trail() -> None:
    """Start the audit trail after a test's setup (like the world's, that data stands for a school
    already loaded); only the test's own changes are then in the trail."""
    db.session.execute(delete(AuditEvent))
    db.session.commit()


def d(day: dt.date) -> str:
    """A date as the rules' messages write it."""
    return f"{day:%d.%m.%Y}"

