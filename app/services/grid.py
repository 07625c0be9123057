"""The journal grid: students × lessons of a target and subject in a period, with cells and
weighted averages, in a fixed number of queries whatever the class size."""
from bisect import bisect_left, bisect_right
from collections import defaultdict

from flask_appbuilder.security.sqla.models import User
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import (
    Attendance,
    ClassUnit,
    IndividualPlan,
    Lesson,
    LessonType,
    Mark,
    ReportingPeriod,
    Staff,
    Stream,
    StudyGroup,
    Subject,
    TeachingAssignment,
    WorkType,
)
from app.security.scope import Scope, is_visible, reads_journal
from app.services import clock
from app.services.assessment import assignment_mode
from app.services.calendar import holidays_of_year
from app.services.errors import RuleViolation
from app.services.freeze import closed_message, frozen_lessons
from app.services.journal import Actor, can_write_lesson, edit_window_refusal, lesson_lock
from app.services.membership import members_query
from app.services.results import student_average_in, student_averages

TARGETS = {"class_id": (ClassUnit, "class_unit_id"), "group_id": (StudyGroup, "group_id"),
           "stream_id": (Stream, "stream_id"), "plan_id": (IndividualPlan, "plan_id")}
CONTROL_TYPES = {LessonType.control_work, LessonType.test, LessonType.exam}


def resolve_target(scope: Scope, target_key: str, target_id: int, subject_id: int | None = None):
    """The class, group, stream or plan by id, if the scope reads its journal of the subject (a teacher:
    their own, their homeroom class's, or one they substitute in; see scope.journal_clause)."""
    if target_key not in TARGETS:
        raise RuleViolation(_l("Choose a class, a group, a stream or an individual plan."))
    model, column = TARGETS[target_key]
    target = db.session.get(model, target_id)
    if target is None or not (is_visible(target, scope) if scope.reads_school
                              else reads_journal(scope, column, target_id, subject_id)):
        raise RuleViolation(_l("The journal is not found or is not available to you."))
    return target


def journal_grid(actor: Actor, target_key: str, target_id: int, subject_id: int, period_id: int) -> dict:
    """Everything the journal page and `GET /api/v1/journal/` show, as plain data."""
    target = resolve_target(actor.scope, target_key, target_id, subject_id)
    period = db.session.get(ReportingPeriod, period_id)
    subject = db.session.get(Subject, subject_id)
    if period is None or period.school_id != target.school_id or subject is None \
            or subject.school_id != target.school_id:
        raise RuleViolation(_l("Choose a subject and a period of the journal's school."))
    column = TARGETS[target_key][1]
    assignments = db.session.scalars(select(TeachingAssignment).options(  # with what the locks read (see lesson_locks)
        joinedload(TeachingAssignment.year), joinedload(TeachingAssignment.class_unit),
        joinedload(TeachingAssignment.group).joinedload(StudyGroup.class_unit)).where(
        getattr(TeachingAssignment, column) == target.id, TeachingAssignment.subject_id == subject_id)).all()
    if not assignments:
        raise RuleViolation(_l("Nobody teaches %(subject)s to %(target)s.", subject=subject, target=target))
    ids = [a.id for a in assignments]
    lessons = db.session.scalars(select(Lesson).where(
        Lesson.assignment_id.in_(ids), Lesson.date.between(period.start, period.end)
    ).order_by(Lesson.date, Lesson.bell_slot_id)).all()
    students = db.session.scalars(members_query(assignments[0], period.start, period.end)).all()
    lesson_ids = select(Lesson.id).where(Lesson.assignment_id.in_(ids),
                                         Lesson.date.between(period.start, period.end))
    marks = db.session.execute(  # with the author's staff card, for the marks' tooltips
        select(Mark.lesson_id, Mark.student_id, Mark.id, Mark.value, Mark.work_type_id, Mark.version,
               Mark.comment, Mark.author, Mark.updated_at, Staff)
        .outerjoin(User, User.username == Mark.author).outerjoin(Staff, Staff.user_id == User.id)
        .where(Mark.lesson_id.in_(lesson_ids))).all()
    absences = db.session.execute(
        select(Attendance.lesson_id, Attendance.student_id, Attendance.id, Attendance.code, Attendance.version)
        .where(Attendance.lesson_id.in_(lesson_ids))).all()
    work_types = db.session.scalars(select(WorkType).where(WorkType.school_id == target.school_id)
                                    .order_by(WorkType.weight, WorkType.name)).all()
    locks = lesson_locks(actor, lessons, period)
    cells: dict[str, dict] = defaultdict(lambda: {"marks": [], "attendance": None})
    authors = {}
    for lesson_id, student_id, mark_id, value, work_type_id, version, comment, author, updated, staff in marks:
        if staff is not None:
            authors[author] = staff.short_name
        cells[f"{student_id}:{lesson_id}"]["marks"].append(
            {"id": mark_id, "value": value, "work_type_id": work_type_id, "version": version, "comment": comment,
             "author": author, "date": updated.date().isoformat() if updated else None})
    averages = student_averages(period, [s.id for s in students], subject_id)
    for lesson_id, student_id, entry_id, code, version in absences:
        cells[f"{student_id}:{lesson_id}"]["attendance"] = {"id": entry_id, "code": code.value, "version": version}
    return {
        "target": {"kind": target_key, "id": target.id, "name": str(target)},
        "subject": {"id": subject.id, "name": subject.name},
        "assessment": getattr(assignment_mode(assignments[0]), "value", None),  # unmarked | pass_fail: no 1–5 marks
        "period": {"id": period.id, "name": period.title, "year_id": period.year_id, "kind": period.kind.value,
                   "start": period.start.isoformat(),
                   "end": period.end.isoformat(), "closed": period.closed},
        "work_types": [{"id": w.id, "name": w.name, "weight": w.weight} for w in work_types],
        "students": [{"id": s.id, "name": s.short_name, "full_name": s.full_name} for s in students],
        "lessons": [{
            "id": lesson.id, "date": lesson.date.isoformat(), "slot": lesson.bell_slot_id, "topic": lesson.topic,
            "type": lesson.lesson_type.value, "status": lesson.status.value, "homework": lesson.homework,
            "homework_due": lesson.homework_due.isoformat() if lesson.homework_due else None,
            "control": lesson.lesson_type in CONTROL_TYPES,
            "editable": locks[lesson.id] is None, "locked": locks[lesson.id],
        } for lesson in lessons],
        "authors": authors,
        "cells": dict(cells),
        "averages": {str(s.id): averages.get(s.id) for s in students},
    }


def lesson_locks(actor: Actor, lessons: list[Lesson], period: ReportingPeriod) -> dict[int, str | None]:
    """Why each lesson's entries cannot be written by the actor today (None: they can): one pass over the
    period's lessons with the closed periods, holidays and assignments read once (the rule itself is
    journal.lesson_lock). The refusals most lessons share (read-only, closed, past the edit window) are
    worded once, not per lesson. A frozen lesson of the period shown, when that period is closed, names it
    as the cell endpoint does."""
    frozen, today, days = frozen_lessons(db.session, lessons), clock.today(), sorted({x.date for x in lessons})
    holidays = [h for h in holidays_of_year(period.year_id)  # those over a lesson's day: most lessons meet none
                if bisect_right(days, h.end) > bisect_left(days, h.start)]
    closed = closed_message(period) if period.closed else str(_l("The period is closed."))
    readonly, late = str(_l("You may read this lesson but not change it.")), str(edit_window_refusal())
    out = {}
    for lesson in lessons:
        reason = readonly if not can_write_lesson(actor, lesson) else lesson_lock(
            actor, lesson, today, closed=closed if lesson.id in frozen else False, holidays=holidays, late=late)
        out[lesson.id] = None if reason is None else str(reason)
    return out


def student_average(lesson_id: int, student_id: int, period_id: int) -> float | None:
    """The student's average in the lesson's subject for a period (every journal of the subject counts)."""
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None:
        return None  # a period of another school has no marks of this one: None as well
    return student_average_in(period_id, lesson.school_id, student_id, lesson.assignment.subject_id)
