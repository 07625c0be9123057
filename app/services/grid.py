"""The journal grid: students × lessons of a target and subject in a period, with cells and
weighted averages, in a fixed number of queries whatever the class size."""
from bisect import bisect_left, bisect_right
from collections import defaultdict
from typing import NamedTuple

from flask_appbuilder.security.sqla.models import User
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, or_, select, true
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import (
    AssessmentRule,
    Attendance,
    ClassUnit,
    Holiday,
    IndividualPlan,
    Lesson,
    LessonType,
    Mark,
    PeriodKind,
    ReportingPeriod,
    Staff,
    Stream,
    Student,
    StudyGroup,
    Subject,
    TeachingAssignment,
    WorkType,
)
from app.models.people import full_name, short_name
from app.security.scope import Scope, is_visible, journal_clause, reads_journal, visible_clause
from app.services import clock
from app.services.assessment import mode_in
from app.services.calendar import holidays_of_year
from app.services.errors import RuleViolation
from app.services.freeze import closed_message, frozen_lessons
from app.services.journal import Actor, can_write_lesson, edit_window_refusal, lesson_lock
from app.services.membership import grade_of, members_query
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


def journal_of(scope: Scope, target_key: str, target_id: int, subject_id: int):
    """(target, subject of its school, the journal's assignments with their year and class, the school's
    assessment rules of the subject) in one statement; the scope's reading right (resolve_target's rule:
    the target visible to the school's readers, else a journal the scope reads) is a column of it."""
    if target_key not in TARGETS:
        raise RuleViolation(_l("Choose a class, a group, a stream or an individual plan."))
    model, column = TARGETS[target_key]
    clause = visible_clause(model, scope) if scope.reads_school else journal_clause(scope)
    rows = db.session.execute(
        select(model, Subject, TeachingAssignment, true() if clause is None else case((clause, True), else_=False),
               AssessmentRule.grade, AssessmentRule.subject_id, AssessmentRule.mode)
        .select_from(model)
        .outerjoin(Subject, and_(Subject.id == subject_id, Subject.school_id == model.school_id))
        .outerjoin(TeachingAssignment, and_(getattr(TeachingAssignment, column) == model.id,
                                            TeachingAssignment.subject_id == subject_id))
        .outerjoin(AssessmentRule, and_(AssessmentRule.school_id == model.school_id, or_(
            AssessmentRule.subject_id.is_(None), AssessmentRule.subject_id == subject_id)))
        .where(model.id == target_id).order_by(TeachingAssignment.id)
        .options(joinedload(TeachingAssignment.year), joinedload(TeachingAssignment.class_unit),
                 joinedload(TeachingAssignment.group).joinedload(StudyGroup.class_unit))).all()
    if not rows or not any(row[3] for row in rows):
        raise RuleViolation(_l("The journal is not found or is not available to you."))
    assignments = {row[2].id: row[2] for row in rows if row[2] is not None}
    rules = {(grade, subject): mode for *_, grade, subject, mode in rows if grade is not None}
    return rows[0][0], rows[0][1], list(assignments.values()), rules


def calendar_of(period_id: int) -> tuple[ReportingPeriod | None, list[ReportingPeriod], list[Holiday]]:
    """The period, every period of its year (the page's switcher) and the year's holidays (the locks) in
    one statement: the holidays ride on the asked period's row only."""
    year = select(ReportingPeriod.year_id).where(ReportingPeriod.id == period_id).scalar_subquery()
    rows = db.session.execute(
        select(ReportingPeriod, Holiday).outerjoin(Holiday, and_(Holiday.year_id == ReportingPeriod.year_id,
                                                                 ReportingPeriod.id == period_id))
        .where(ReportingPeriod.year_id == year).order_by(ReportingPeriod.start, ReportingPeriod.end)
        .options(joinedload(ReportingPeriod.year))).all()
    periods = list({period.id: period for period, _ in rows}.values())
    period = next((p for p in periods if p.id == period_id), None)
    return period, periods, [holiday for _, holiday in rows if holiday is not None]


def grid_of(actor: Actor, target_key: str, target_id: int, subject_id: int, period_id: int):
    """Everything the journal page and `GET /api/v1/journal/` show, as plain data without the cells, and
    the cells' rows (see api_cells, packed_cells): the page packs them straight from the rows."""
    target, subject, assignments, rules = journal_of(actor.scope, target_key, target_id, subject_id)
    period, periods, holidays = calendar_of(period_id)
    if period is None or period.school_id != target.school_id or subject is None:
        raise RuleViolation(_l("Choose a subject and a period of the journal's school."))
    if not assignments:
        raise RuleViolation(_l("Nobody teaches %(subject)s to %(target)s.", subject=subject, target=target))
    ids = [a.id for a in assignments]
    lessons = db.session.scalars(select(Lesson).where(
        Lesson.assignment_id.in_(ids), Lesson.date.between(period.start, period.end)
    ).order_by(Lesson.date, Lesson.bell_slot_id)).all()
    students = db.session.execute(members_query(assignments[0], period.start, period.end).with_only_columns(
        Student.id, Student.surname, Student.name, Student.patronymic)).all()  # names only: no Student objects
    lesson_ids = select(Lesson.id).where(Lesson.assignment_id.in_(ids),
                                         Lesson.date.between(period.start, period.end))
    marks = db.session.execute(  # with the author's name, for the marks' tooltips
        select(Mark.lesson_id, Mark.student_id, Mark.id, Mark.value, Mark.work_type_id, Mark.version,
               Mark.comment, Mark.author, Mark.updated_at, Staff.surname, Staff.name, Staff.patronymic)
        .outerjoin(User, User.username == Mark.author).outerjoin(Staff, Staff.user_id == User.id)
        .where(Mark.lesson_id.in_(lesson_ids))).all()
    absences = db.session.execute(
        select(Attendance.lesson_id, Attendance.student_id, Attendance.id, Attendance.code, Attendance.version)
        .where(Attendance.lesson_id.in_(lesson_ids))).all()
    work_types = db.session.execute(select(WorkType.id, WorkType.name, WorkType.weight)
                                    .where(WorkType.school_id == target.school_id)
                                    .order_by(WorkType.weight, WorkType.name)).all()
    locks = lesson_locks(actor, lessons, period, holidays)
    authors = {}
    for *_, author, _updated, surname, name, patronymic in marks:
        if surname is not None and author not in authors:
            authors[author] = short_name(surname, name, patronymic)
    averages = student_averages(period, [s_id for s_id, *_ in students], subject_id)
    mode = mode_in(rules, grade_of(assignments[0]), subject_id)  # unmarked | pass_fail: no 1–5 marks
    data = {
        "target": {"kind": target_key, "id": target.id, "name": str(target)},
        "subject": {"id": subject.id, "name": subject.name},
        "assessment": getattr(mode, "value", None),
        "period": {"id": period.id, "name": period.title, "year_id": period.year_id, "kind": period.kind.value,
                   "start": period.start.isoformat(), "end": period.end.isoformat(), "closed": period.closed},
        "periods": [{"id": p.id, "name": p.title} for p in periods if p.kind in (period.kind, PeriodKind.year)],
        "work_types": [{"id": w_id, "name": name, "weight": weight} for w_id, name, weight in work_types],
        "students": [{"id": s_id, "name": short_name(*names), "full_name": full_name(*names)}
                     for s_id, *names in students],
        "lessons": [{
            "id": lesson.id, "date": lesson.date.isoformat(), "slot": lesson.bell_slot_id, "topic": lesson.topic,
            "type": lesson.lesson_type.value, "status": lesson.status.value, "homework": lesson.homework,
            "homework_due": lesson.homework_due.isoformat() if lesson.homework_due else None,
            "control": lesson.lesson_type in CONTROL_TYPES,
            "editable": locks[lesson.id] is None, "locked": locks[lesson.id],
        } for lesson in lessons],
        "authors": authors,
        "averages": {str(s_id): averages.get(s_id) for s_id, *_ in students},
    }
    return data, GridRows({lesson.id: lesson.date for lesson in lessons}, marks, absences)


def journal_grid(actor: Actor, target_key: str, target_id: int, subject_id: int, period_id: int) -> dict:
    """The grid as `GET /api/v1/journal/` gives it: cells keyed "student:lesson" with marks and attendance."""
    data, rows = grid_of(actor, target_key, target_id, subject_id, period_id)
    return {**data, "cells": api_cells(rows)}


class GridRows(NamedTuple):
    """The grid's entries as read: lesson id → its day, the marks' and the attendance's rows."""

    days: dict
    marks: list
    absences: list


def api_cells(rows: GridRows) -> dict[str, dict]:
    """The cells as the API gives them: {"student:lesson": {"marks": [...], "attendance": {...} or None}}."""
    cells: dict[str, dict] = defaultdict(lambda: {"marks": [], "attendance": None})
    for lesson_id, student_id, mark_id, value, work_type_id, version, comment, author, updated, *_ in rows.marks:
        cells[f"{student_id}:{lesson_id}"]["marks"].append(
            {"id": mark_id, "value": value, "work_type_id": work_type_id, "version": version, "comment": comment,
             "author": author, "date": updated.date().isoformat() if updated else None})
    for lesson_id, student_id, entry_id, code, version in rows.absences:
        cells[f"{student_id}:{lesson_id}"]["attendance"] = {"id": entry_id, "code": code.value, "version": version}
    return dict(cells)


def packed_cells(rows: GridRows) -> dict:
    """The cells as the page embeds them, a third of their API size (journal.js unpacks them), built from
    the rows: {"u": the marks' authors, "c": {"student:lesson": {"m": marks, "a": attendance}}}, a mark being
    [id, value, work type, version, author's index in "u", its date as days after the lesson(, comment)],
    an attendance entry [id, code, version]; empty parts are left out."""
    authors: dict[str, int] = {}
    packed: dict[str, dict] = {}
    days = rows.days
    for lesson_id, student_id, mark_id, value, work_type_id, version, comment, author, updated, *_ in rows.marks:
        mark = [mark_id, value, work_type_id, version, authors.setdefault(author, len(authors)),
                None if updated is None else (updated.date() - days[lesson_id]).days]
        if comment:
            mark.append(comment)
        packed.setdefault(f"{student_id}:{lesson_id}", {}).setdefault("m", []).append(mark)
    for lesson_id, student_id, entry_id, code, version in rows.absences:
        packed.setdefault(f"{student_id}:{lesson_id}", {})["a"] = [entry_id, code.value, version]
    return {"u": list(authors), "c": packed}


def lesson_locks(actor: Actor, lessons: list[Lesson], period: ReportingPeriod,
                 holidays: list[Holiday] | None = None) -> dict[int, str | None]:
    """Why each lesson's entries cannot be written by the actor today (None: they can): one pass over the
    period's lessons with the closed periods, holidays and assignments read once (the rule itself is
    journal.lesson_lock). The refusals most lessons share (read-only, closed, past the edit window) are
    worded once, not per lesson. A frozen lesson of the period shown, when that period is closed, names it
    as the cell endpoint does."""
    frozen, today, days = frozen_lessons(db.session, lessons), clock.today(), sorted({x.date for x in lessons})
    holidays = holidays_of_year(period.year_id) if holidays is None else holidays  # the year's (calendar_of)
    holidays = [h for h in holidays  # those over a lesson's day: most lessons meet none
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
