"""A week of lessons as a grid (days × bell slots) for a class, a teacher or a room: the way to find a
lesson by its time instead of a drop-down of every lesson of the year, to open or change it, and to
print the week. Lessons, not timetable entries, so moves, substitutions and cancellations show."""
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import BellSlot, ClassUnit, Lesson, School, Staff, TeachingAssignment, TimetableEntry
from app.services.lessons import class_assignments

KINDS = ("class", "teacher", "room")


@dataclass
class WeekGrid:
    """The lessons of one week of a class, a teacher or a room, by day and bell slot."""

    kind: str
    key: str
    title: str
    monday: dt.date
    days: list[dt.date]
    slots: list[BellSlot]
    cells: dict = field(default_factory=lambda: defaultdict(list))  # (date, slot id) → [Lesson]

    def at(self, day: dt.date, slot: BellSlot) -> list[Lesson]:
        """The lessons in one cell."""
        return self.cells.get((day, slot.id), [])

    @property
    def count(self) -> int:
        """Lessons in the week."""
        return sum(len(v) for v in self.cells.values())


def monday_of(day: dt.date) -> dt.date:
    """The Monday of the day's week."""
    return day - dt.timedelta(days=day.weekday())


def condition(kind: str, key: str):
    """The lessons of the class (its groups too), of the teacher (who teaches them now), of the room."""
    if kind == "class":
        return Lesson.assignment_id.in_(select(TeachingAssignment.id).where(class_assignments(int(key))))
    if kind == "teacher":
        return Lesson.teacher_id == int(key)
    return Lesson.room == key


def title_of(kind: str, key: str) -> str | None:
    """«5А», a teacher's name, or the room; None when the class or teacher does not exist."""
    if kind == "room":
        return key
    obj = db.session.get(ClassUnit if kind == "class" else Staff, int(key))
    return None if obj is None else (obj.name if kind == "class" else str(obj))


def week_grid(school: School, kind: str, key: str, day: dt.date, visible=None) -> WeekGrid:
    """The week around `day` of the class, teacher or room; `visible` narrows the lessons to a scope."""
    monday = monday_of(day)
    days = [monday + dt.timedelta(days=n) for n in range(school.study_days_per_week)]
    slots = db.session.scalars(select(BellSlot).where(BellSlot.school_id == school.id)
                               .order_by(BellSlot.number)).all()
    query = (select(Lesson).options(joinedload(Lesson.assignment), joinedload(Lesson.teacher))
             .where(Lesson.school_id == school.id, Lesson.date.between(days[0], days[-1]), condition(kind, key))
             .order_by(Lesson.date, Lesson.bell_slot_id, Lesson.id))
    if visible is not None:
        query = query.where(visible)
    grid = WeekGrid(kind, key, title_of(kind, key) or key, monday, days, slots)
    for lesson in db.session.scalars(query).unique():
        grid.cells[(lesson.date, lesson.bell_slot_id)].append(lesson)
    return grid


def rooms_of(school_id: int) -> list[str]:
    """The rooms of the school's timetable and lessons, for the room picker."""
    rooms = set(db.session.scalars(select(TimetableEntry.room).where(TimetableEntry.school_id == school_id)
                                   .distinct()))
    rooms |= set(db.session.scalars(select(Lesson.room).where(Lesson.school_id == school_id).distinct()))
    return sorted(r for r in rooms if r and r.strip())
