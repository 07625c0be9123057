"""Lessons from the timetable, their changes (substitution, rescheduling, cancellation) and the
control-work schedule. Callers commit."""
import datetime as dt
from collections import Counter

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, or_, select

from app.extensions import db
from app.models import (
    AcademicYear,
    BellSlot,
    ChangeKind,
    ControlWorkPlan,
    Holiday,
    Lesson,
    LessonChange,
    LessonStatus,
    LessonType,
    Mark,
    School,
    Staff,
    StudyGroup,
    TeachingAssignment,
    TimetableEntry,
)
from app.services import clock
from app.services.audit import record_created
from app.services.bulk import insert_rows
from app.services.calendar import holiday_on, study_days
from app.services.errors import RuleViolation
from app.services.freeze import refuse_frozen_lessons
from app.services.membership import grade_of
from app.services.params import text_or_none
from app.services.timetable_clashes import refuse_lesson_clashes

MAX_CONTROL_WORKS_A_DAY = 2


def generate_lessons(school: School, start: dt.date, end: dt.date, audited: bool = True) -> int:
    """Create the lessons of every valid timetable entry from start to end on study days of the
    target's grade, skipping holidays; existing lessons are never duplicated. Returns the count.

    Each lesson is in the audit trail (the demo's bulk load passes audited=False, as for its other rows)."""
    if end < start:
        raise RuleViolation(_l("The end date %(end)s is before the start date %(start)s.",
                               end=f"{end:%d.%m.%Y}", start=f"{start:%d.%m.%Y}"))
    entries = db.session.scalars(select(TimetableEntry).where(
        TimetableEntry.school_id == school.id, TimetableEntry.valid_from <= end, TimetableEntry.valid_to >= start)
    ).all()
    if not entries:
        return 0
    years = {y.id: y for y in db.session.scalars(select(AcademicYear).where(AcademicYear.school_id == school.id))}
    holidays = db.session.scalars(select(Holiday).where(Holiday.school_id == school.id)).all()
    existing = set(db.session.execute(select(Lesson.assignment_id, Lesson.date, Lesson.bell_slot_id).where(
        Lesson.school_id == school.id, Lesson.date >= start, Lesson.date <= end)).all())
    # a lesson moved away leaves its timetable slot empty on purpose: do not fill it again
    existing.update(tuple(row) for row in db.session.execute(
        select(Lesson.assignment_id, LessonChange.old_date, LessonChange.old_slot_id)
        .join(Lesson, Lesson.id == LessonChange.lesson_id).where(
            LessonChange.school_id == school.id, LessonChange.kind == ChangeKind.rescheduling,
            LessonChange.old_date >= start, LessonChange.old_date <= end)))
    days_cache: dict[tuple[int, int | None], list[dt.date]] = {}
    rows = []
    for entry in entries:
        assignment = entry.assignment
        year = years[assignment.year_id]
        grade = grade_of(assignment)
        key = (year.id, grade)
        if key not in days_cache:
            span = (max(start, year.start), min(end, year.end))
            days_cache[key] = study_days(*span, grade or 0, [h for h in holidays if h.year_id == year.id
                                                             and (grade is not None or h.grade is None)],
                                         school.study_days_per_week)
        for day in days_cache[key]:
            if day.weekday() != entry.weekday or not entry.valid_from <= day <= entry.valid_to:
                continue
            if (assignment.id, day, entry.bell_slot_id) in existing:
                continue
            existing.add((assignment.id, day, entry.bell_slot_id))
            rows.append({"school_id": school.id, "assignment_id": assignment.id, "date": day,
                         "bell_slot_id": entry.bell_slot_id, "teacher_id": assignment.teacher_id,
                         "timetable_entry_id": entry.id, "room": entry.room, "topic": "", "homework": "",
                         "lesson_type": LessonType.regular.value, "status": LessonStatus.planned.value,
                         "homework_due": None})
    if rows:  # a bulk insert: the session's freeze guard and audit listener do not see it, so ask here
        refuse_frozen_lessons(db.session, {(r["assignment_id"], r["date"]) for r in rows})
        refuse_lesson_clashes(db.session, rows)
        if not audited:  # a loader's bulk: no ids needed, COPY on PostgreSQL
            return insert_rows(Lesson, rows)
        ids = db.session.scalars(insert(Lesson).returning(Lesson.id, sort_by_parameter_order=True), rows).all()
        record_created(db.session, Lesson, [{**row, "id": pk} for row, pk in zip(rows, ids, strict=True)])
    return len(rows)


def _has_marks(lesson: Lesson) -> bool:
    return bool(db.session.scalar(select(func.count(Mark.id)).where(Mark.lesson_id == lesson.id)))


def apply_change(change: LessonChange, by: str) -> LessonChange:
    """Check a substitution, rescheduling or cancellation against the lesson and apply it.

    The change keeps the lesson's old teacher, date and slot; the lesson takes the new ones.
    """
    lesson = change.lesson
    if lesson is None:
        raise RuleViolation(_l("Choose the lesson."), "lesson")
    if not (change.reason or "").strip():
        raise RuleViolation(_l("Give the reason of the change: families see it."), "reason")
    if lesson.status == LessonStatus.cancelled:
        raise RuleViolation(_l("The lesson is already cancelled."))
    change.school_id, change.changed_by, change.reason = lesson.school_id, by, change.reason.strip()
    change.old_teacher_id, change.old_date, change.old_slot_id = lesson.teacher_id, lesson.date, lesson.bell_slot_id
    if change.kind == ChangeKind.substitution:
        teacher = change.new_teacher
        if teacher is None or teacher.school_id != lesson.school_id:
            raise RuleViolation(_l("Choose a teacher of the school."), "new_teacher")
        if teacher.id == lesson.teacher_id:
            raise RuleViolation(_l("%(teacher)s already teaches this lesson.", teacher=teacher), "new_teacher")
        lesson.teacher_id = teacher.id
    elif change.kind == ChangeKind.rescheduling:
        _check_move(lesson, change.new_date, change.new_slot)
        lesson.date, lesson.bell_slot_id = change.new_date, change.new_slot.id
    elif change.kind == ChangeKind.cancellation:
        if _has_marks(lesson):
            raise RuleViolation(_l("The lesson has marks: remove them before cancelling."))
        lesson.status = LessonStatus.cancelled
    else:
        raise RuleViolation(_l("Choose the kind of change."), "kind")
    db.session.add(change)
    db.session.flush()
    return change


def _check_move(lesson: Lesson, day: dt.date | None, slot: BellSlot | None) -> None:
    if slot is None or slot.school_id != lesson.school_id:
        raise RuleViolation(_l("Choose a bell slot of the school."), "new_slot")
    if day is None or not lesson.assignment.year.contains(day):
        raise RuleViolation(_l("The new date must be inside the academic year."), "new_date")
    holiday = holiday_on(lesson.assignment.year_id, grade_of(lesson.assignment), day)
    if holiday is not None:  # no marks could ever be entered there
        raise RuleViolation(_l("%(day)s is a holiday (%(name)s).", day=f"{day:%d.%m.%Y}", name=holiday.name),
                            "new_date")
    if (day, slot.id) == (lesson.date, lesson.bell_slot_id):
        raise RuleViolation(_l("The new date and slot are the same as before."), "new_date")
    taken = db.session.scalar(select(Lesson.id).where(Lesson.assignment_id == lesson.assignment_id,
                                                      Lesson.date == day, Lesson.bell_slot_id == slot.id))
    if taken:
        raise RuleViolation(_l("There is already a lesson of this class and subject then."), "new_date")
    if _has_marks(lesson):
        raise RuleViolation(_l("The lesson has marks: it cannot be moved."))


def substitute(lesson: Lesson, teacher: Staff, reason: str, by: str) -> LessonChange:
    """Another teacher takes the lesson; it becomes theirs to keep in the journal."""
    return apply_change(LessonChange(lesson=lesson, kind=ChangeKind.substitution, new_teacher=teacher,
                                     reason=reason), by)


def reschedule(lesson: Lesson, day: dt.date, slot: BellSlot, reason: str, by: str) -> LessonChange:
    """Move the lesson to another date or bell slot inside the academic year."""
    return apply_change(LessonChange(lesson=lesson, kind=ChangeKind.rescheduling, new_date=day, new_slot=slot,
                                     reason=reason), by)


def cancel(lesson: Lesson, reason: str, by: str) -> LessonChange:
    """Cancel a lesson that has no marks; it no longer counts as held."""
    return apply_change(LessonChange(lesson=lesson, kind=ChangeKind.cancellation, reason=reason), by)


def class_assignments(class_id: int):
    """Condition on TeachingAssignment: the class itself or one of its groups."""
    return or_(TeachingAssignment.class_unit_id == class_id,
               TeachingAssignment.group_id.in_(select(StudyGroup.id).where(StudyGroup.class_unit_id == class_id)))


def changes_of_class(class_id: int, start: dt.date, end: dt.date) -> list[LessonChange]:
    """The class's lesson changes whose old or new date falls in the span (e.g. a week)."""
    return db.session.scalars(
        select(LessonChange).join(Lesson).join(TeachingAssignment).where(
            class_assignments(class_id),
            or_(LessonChange.old_date.between(start, end), LessonChange.new_date.between(start, end)),
        ).order_by(LessonChange.old_date)
    ).all()


def control_works_of_class(class_id: int, start: dt.date, end: dt.date) -> list[ControlWorkPlan]:
    """The planned control works of a class (and its groups) in a span."""
    return db.session.scalars(
        select(ControlWorkPlan).join(TeachingAssignment).where(
            class_assignments(class_id), ControlWorkPlan.date.between(start, end)).order_by(ControlWorkPlan.date)
    ).all()


def overloaded_days(works: list[ControlWorkPlan]) -> list[dt.date]:
    """Days with more than two control works for the class (parallel subgroups count once)."""
    per_day = Counter(day for day, _subject in {(w.date, w.assignment.subject_id) for w in works})
    return sorted(day for day, n in per_day.items() if n > MAX_CONTROL_WORKS_A_DAY)


def check_lesson_write(actor, lesson: Lesson, deleting: bool = False) -> None:
    """Lesson rows written through the lesson views and REST: teachers add lessons only to their own
    assignments and change or delete only lessons they may write (their own or substituted); a lesson
    is cancelled or restored only through a lesson change; a lesson with entries is not deleted."""
    from sqlalchemy import inspect

    from app.models import Attendance
    from app.services.journal import can_write_lesson

    if lesson.id is None:
        assignment = lesson.assignment
        scope = actor.scope
        mine = scope.everything or (assignment is not None and assignment.school_id == scope.school_id and (
            actor.administration or assignment.teacher_id == scope.staff_id))
    else:
        mine = can_write_lesson(actor, lesson)
    if not mine:
        raise RuleViolation(_l("The lesson is not found or is not yours."), "assignment")
    if deleting:
        if _has_marks(lesson) or db.session.scalar(select(func.count(Attendance.id)).where(
                Attendance.lesson_id == lesson.id)):
            raise RuleViolation(_l("The lesson has marks or attendance: remove them first."))
        return
    history = inspect(lesson).attrs.status.history
    statuses = set(history.added) | set(history.deleted) if lesson.id is not None else {lesson.status}
    if LessonStatus.cancelled in statuses or LessonStatus.cancelled.value in statuses:
        raise RuleViolation(_l("Cancel or restore lessons through a lesson change."), "status")
    if lesson.id is None:
        check_study_day(lesson.assignment, lesson.date)
    if lesson.id is None or history.added:
        check_held(lesson)


def check_study_day(assignment: TeachingAssignment, day: dt.date | None) -> None:
    """A lesson's date is a study day of its assignment's year: inside the year, a day of the school
    week, not a holiday of the grade."""
    if day is None:
        raise RuleViolation(_l("Choose the date."), "date")
    if not assignment.year.contains(day):
        raise RuleViolation(_l("%(day)s is outside the academic year.", day=f"{day:%d.%m.%Y}"), "date")
    if day.weekday() >= assignment.school.study_days_per_week:
        raise RuleViolation(_l("%(day)s is a day off: the school studies %(n)d days a week.",
                               day=f"{day:%d.%m.%Y}", n=assignment.school.study_days_per_week), "date")
    holiday = holiday_on(assignment.year_id, grade_of(assignment), day)
    if holiday is not None:
        raise RuleViolation(_l("%(day)s is a holiday (%(name)s).", day=f"{day:%d.%m.%Y}", name=holiday.name), "date")


def check_held(lesson: Lesson) -> None:
    """A lesson is «held» only once its day has come (the school clock)."""
    status = getattr(lesson.status, "value", lesson.status)
    if status == LessonStatus.held.value and lesson.date is not None and lesson.date > clock.today():
        raise RuleViolation(_l("The lesson of %(day)s has not taken place yet: it cannot be held.",
                               day=f"{lesson.date:%d.%m.%Y}"), "status")


def describe_lesson(lesson: Lesson, topic: str | None = None, homework: str | None = None,
                    homework_due: str | dt.date | None = None, lesson_type: str | None = None,
                    status: str | None = None) -> Lesson:
    """Set the topic, homework (with due date), type and status of a lesson; None keeps a field.
    (What the columns hold — text, its length — is checked at the flush, app.services.stored_values.)"""
    topic, homework = text_or_none(topic, "topic"), text_or_none(homework, "homework")
    lesson_type, status = text_or_none(lesson_type, "lesson_type"), text_or_none(status, "status")
    if topic is not None:
        lesson.topic = topic.strip()
    if homework is not None:
        lesson.homework = homework.strip()
    if homework_due is not None:
        due = homework_due
        if not isinstance(due, (str, dt.date)):
            raise RuleViolation(_l("The due date must be a date."), "homework_due")
        if isinstance(due, str):
            try:
                due = dt.date.fromisoformat(due) if due else None
            except ValueError:
                raise RuleViolation(_l("The due date must be a date."), "homework_due") from None
        if due is not None and due < lesson.date:
            raise RuleViolation(_l("Homework cannot be due before the lesson."), "homework_due")
        lesson.homework_due = due
    if lesson_type is not None:
        try:
            lesson.lesson_type = LessonType(lesson_type)
        except ValueError:
            raise RuleViolation(_l("Unknown lesson type."), "type") from None
    if status is not None:
        if status == LessonStatus.cancelled.value or lesson.status == LessonStatus.cancelled:
            raise RuleViolation(_l("Cancel or restore lessons through a lesson change."), "status")
        try:
            lesson.status = LessonStatus(status)
        except ValueError:
            raise RuleViolation(_l("Unknown lesson status."), "status") from None
        check_held(lesson)
    db.session.flush()
    return lesson
