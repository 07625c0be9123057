"""The day's work shown on each role's home page: a teacher's lessons today, the absences of a day,
journals left unfilled, the exchange's health. Plain data from a session, so tests count it by hand."""
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Attendance, ClassUnit, Lesson, LessonStatus, Mark, Student, TeachingAssignment
from app.models.journal import MISSED_CODES
from app.services.grid import TARGETS

UNFILLED_DAYS = 7  # how far back the administration looks for journals left unfilled
NO_TOPIC, NO_HOMEWORK, NOT_HELD, NO_ENTRIES = "no_topic", "no_homework", "not_held", "no_entries"
GAP_LABELS = {NO_TOPIC: _l("no topic"), NO_HOMEWORK: _l("no homework"), NOT_HELD: _l("not marked as held"),
              NO_ENTRIES: _l("no marks or attendance")}


def grid_link(lesson: Lesson) -> dict:
    """The journal grid's query parameters that open it at this lesson (its date and column)."""
    key = next(k for k, (_model, column) in TARGETS.items() if getattr(lesson.assignment, column))
    return {"target": key, "id": getattr(lesson.assignment, TARGETS[key][1]), "subject": lesson.assignment.subject_id,
            "date": lesson.date.isoformat(), "lesson": lesson.id}


@dataclass
class TodayLesson:
    """One of a teacher's lessons today and what it still lacks."""

    lesson: Lesson
    link: dict
    gaps: tuple[str, ...]

    @property
    def cancelled(self) -> bool:
        return self.lesson.status == LessonStatus.cancelled


def teacher_lessons(staff_id: int, day: dt.date) -> list[TodayLesson]:
    """The lessons the teacher gives on the day, by bell; those without a topic or homework are flagged."""
    lessons = db.session.scalars(select(Lesson).options(
        joinedload(Lesson.assignment).joinedload(TeachingAssignment.subject), joinedload(Lesson.bell_slot)).where(
        Lesson.teacher_id == staff_id, Lesson.date == day)).unique().all()
    rows = []
    for lesson in sorted(lessons, key=lambda x: (x.bell_slot.number, x.id)):
        gaps = () if lesson.status == LessonStatus.cancelled else tuple(
            gap for gap, missing in ((NO_TOPIC, not (lesson.topic or "").strip()),
                                     (NO_HOMEWORK, not (lesson.homework or "").strip())) if missing)
        rows.append(TodayLesson(lesson, grid_link(lesson), gaps))
    return rows


@dataclass
class Absent:
    """A student missing lessons on the day: the codes and the subjects missed."""

    student: Student
    class_name: str
    missed: list[str] = field(default_factory=list)


def absences(day: dt.date, school_id: int, class_ids: set[int] | None = None) -> list[Absent]:
    """Students of the school (or of the classes) recorded absent (Н, Б, УП) from a lesson on the day."""
    query = select(Attendance, Student, ClassUnit).join(Lesson, Lesson.id == Attendance.lesson_id) \
        .join(Student, Student.id == Attendance.student_id).join(ClassUnit, ClassUnit.id == Student.class_unit_id) \
        .options(joinedload(Attendance.lesson).joinedload(Lesson.assignment).joinedload(TeachingAssignment.subject)) \
        .where(Lesson.date == day, Lesson.status != LessonStatus.cancelled, Attendance.code.in_(MISSED_CODES),
               Student.school_id == school_id)
    if class_ids is not None:
        query = query.where(Student.class_unit_id.in_(sorted(class_ids) or [-1]))
    found: dict[int, Absent] = {}
    for mark, student, cls in db.session.execute(query).unique().all():
        row = found.setdefault(student.id, Absent(student, cls.name))
        row.missed.append(f"{mark.lesson.assignment.subject.name} ({mark.code.value})")
    return sorted(found.values(), key=lambda a: (a.class_name, a.student.surname, a.student.name))


def absences_by_class(rows: list[Absent]) -> list[tuple[str, int]]:
    """(class, students absent) in class order, for the administration's summary."""
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[row.class_name] += 1
    return sorted(counts.items())


@dataclass
class Unfilled:
    """A journal (teacher × target × subject) with lessons that took place but are not filled in."""

    teacher: str
    title: str
    link: dict
    lessons: int = 0
    gaps: dict[str, int] = field(default_factory=dict)


def lesson_gaps(lesson: Lesson, has_entries: bool, day: dt.date) -> tuple[str, ...]:
    """What a lesson that took place still lacks: being marked held, a topic, any mark or attendance."""
    return tuple(gap for gap, missing in (
        (NOT_HELD, lesson.status == LessonStatus.planned and lesson.date < day),
        (NO_TOPIC, not (lesson.topic or "").strip()),
        (NO_ENTRIES, not has_entries)) if missing)


def unfilled_journals(school_id: int, day: dt.date, days: int = UNFILLED_DAYS) -> list[Unfilled]:
    """Journals whose lessons of the last `days` days (up to the day, cancelled ones aside) lack a topic,
    any mark or attendance, or were never marked held; the most neglected first."""
    entries = exists().where(Mark.lesson_id == Lesson.id) | exists().where(Attendance.lesson_id == Lesson.id)
    rows = db.session.execute(select(Lesson, entries).options(
        joinedload(Lesson.teacher), joinedload(Lesson.assignment).joinedload(TeachingAssignment.subject)).where(
        Lesson.school_id == school_id, Lesson.date <= day, Lesson.date > day - dt.timedelta(days=days),
        Lesson.status != LessonStatus.cancelled)).unique().all()
    found: dict[tuple, Unfilled] = {}
    for lesson, has_entries in rows:
        gaps = lesson_gaps(lesson, bool(has_entries), day)
        if not gaps:
            continue
        key = (lesson.teacher_id, lesson.assignment_id)
        item = found.setdefault(key, Unfilled(lesson.teacher.short_name,
                                              f"{lesson.assignment.target} · {lesson.assignment.subject.name}",
                                              {k: v for k, v in grid_link(lesson).items()
                                               if k not in ("date", "lesson")}))
        item.lessons += 1
        for gap in gaps:
            item.gaps[gap] = item.gaps.get(gap, 0) + 1
    return sorted(found.values(), key=lambda u: (-u.lessons, u.teacher, u.title))
