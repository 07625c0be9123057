"""The filters every control report takes: a period or a date range, a class, a subject, a teacher (and,
for timeliness, the days after which a mark counts as late). Read once from the request arguments, checked
against the user's school; anything wrong is a RuleViolation with a Russian message."""
import datetime as dt
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from app.extensions import db
from app.models import (
    ClassUnit,
    Enrolment,
    IndividualPlan,
    Lesson,
    PeriodKind,
    ReportingPeriod,
    Staff,
    StudyGroup,
    Subject,
    TeachingAssignment,
)
from app.security.scope import Scope, journal_clause
from app.services import calendar, clock
from app.services.errors import RuleViolation
from app.services.params import date_arg, id_arg, no_unknown_args
from app.services.stats import NotFound

ARGS = ("period_id", "date_from", "date_to", "class_id", "subject_id", "teacher_id", "days", "table")
MAX_LATE_DAYS = 365


@dataclass(frozen=True)
class ControlFilters:
    """What a report covers: the period (its year and scheme), the days from `start` to `end`, and the
    optional class, subject and teacher; `late_days` for the timeliness of marks."""

    scope: Scope
    period: ReportingPeriod
    start: dt.date
    end: dt.date
    class_id: int | None = None
    subject_id: int | None = None
    teacher_id: int | None = None
    late_days: int = 3

    def as_args(self) -> dict:
        """The filters as query arguments (links to CSV and PDF of the same report)."""
        args = {"period_id": self.period.id, "date_from": self.start.isoformat(), "date_to": self.end.isoformat(),
                "class_id": self.class_id, "subject_id": self.subject_id, "teacher_id": self.teacher_id,
                "days": self.late_days}
        return {k: v for k, v in args.items() if v is not None}


def default_late_days() -> int:
    """`LATE_MARK_DAYS`: a mark entered more days than this after its lesson is late."""
    return int(current_app.config.get("LATE_MARK_DAYS", 3))


def periods_of(scope: Scope) -> list[ReportingPeriod]:
    """The periods the user may choose (their school's), oldest first."""
    query = select(ReportingPeriod).order_by(ReportingPeriod.start, ReportingPeriod.kind, ReportingPeriod.id)
    if not scope.everything:
        query = query.where(ReportingPeriod.school_id == scope.school_id)
    return list(db.session.scalars(query))


def current_period(periods: list[ReportingPeriod], today: dt.date) -> ReportingPeriod | None:
    """The current quarter (`calendar.current_period`), else the current period of the school's other scheme."""
    terms = [p for p in periods if p.kind != PeriodKind.year]
    return calendar.current_period([p for p in terms if p.kind == PeriodKind.quarter] or terms, today)


def _late_days(args) -> int:
    raw = (args.get("days") or "").strip()
    if not raw:
        return default_late_days()
    if not raw.isdigit() or int(raw) > MAX_LATE_DAYS:
        raise RuleViolation(_l("The parameter days is a whole number of days from 0 to %(max)s, got «%(raw)s».",
                               max=MAX_LATE_DAYS, raw=raw[:40]), "days")
    return int(raw)


def _period(scope: Scope, period_id: int | None) -> ReportingPeriod:
    if period_id is None:
        period = current_period(periods_of(scope), clock.today())
    else:
        period = db.session.get(ReportingPeriod, period_id)
    visible = period is not None and (scope.everything or period.school_id == scope.school_id)
    if not visible or scope.school_id is None and not scope.everything:
        raise NotFound(_l("No such reporting period in your school."), "period_id")
    return period


def _check_named(period: ReportingPeriod, ids: dict) -> None:
    checks = {"class_id": (ClassUnit, lambda c: c.year_id == period.year_id), "subject_id": (Subject, None),
              "teacher_id": (Staff, None)}
    for name, value in ids.items():
        if value is None:
            continue
        model, fits = checks[name]
        obj = db.session.get(model, value)
        if obj is None or obj.school_id != period.school_id or (fits and not fits(obj)):
            raise RuleViolation(_l("%(name)s=%(value)s is not in the period's school and year.",
                                   name=name, value=value), name)


def read_filters(scope: Scope, args) -> ControlFilters:
    """The filters of a request; a RuleViolation (NotFound for a period of another school) when wrong."""
    no_unknown_args(args, list(ARGS))
    period = _period(scope, id_arg(args, "period_id"))
    ids = {name: id_arg(args, name) for name in ("class_id", "subject_id", "teacher_id")}
    _check_named(period, ids)
    typed = {name: date_arg((args.get(name) or "").strip(), name, named=True) for name in ("date_from", "date_to")}
    start, end = typed["date_from"] or period.start, typed["date_to"] or period.end
    if start > end:
        raise RuleViolation(_l("The start of the range (%(start)s) is after its end (%(end)s).",
                               start=f"{start:%d.%m.%Y}", end=f"{end:%d.%m.%Y}"), "date_from")
    year = period.year
    if start < year.start or end > year.end:
        raise RuleViolation(_l("The range must lie inside the academic year %(year)s (%(start)s – %(end)s).",
                               year=year.name, start=f"{year.start:%d.%m.%Y}", end=f"{year.end:%d.%m.%Y}"),
                            "date_from")
    return ControlFilters(scope, period, start, end, ids["class_id"], ids["subject_id"], ids["teacher_id"],
                          _late_days(args))


def journal_conditions(f: ControlFilters, scoped: bool = True, by_teacher: bool = True) -> list:
    """Conditions on TeachingAssignment (outer-joined with StudyGroup): the journals of the period's year
    the user reads, narrowed by class (its own, group and students' plans), subject and teacher."""
    ta = TeachingAssignment
    conds = [ta.school_id == f.period.school_id, ta.year_id == f.period.year_id]
    clause = journal_clause(f.scope) if scoped else None
    if clause is not None:
        conds.append(clause)
    if f.subject_id is not None:
        conds.append(ta.subject_id == f.subject_id)
    if f.teacher_id is not None and by_teacher:
        conds.append(ta.teacher_id == f.teacher_id)
    if f.class_id is not None:
        plans = select(IndividualPlan.id).join(Enrolment, Enrolment.student_id == IndividualPlan.student_id).where(
            Enrolment.class_unit_id == f.class_id)
        conds.append(or_(ta.class_unit_id == f.class_id, StudyGroup.class_unit_id == f.class_id,
                         ta.plan_id.in_(plans)))
    return conds


def lesson_conditions(f: ControlFilters) -> list:
    """Conditions on Lesson joined with its assignment (and the group outer-joined): the journals as above,
    also the lessons the user taught as a substitute; the teacher filter names who taught the lesson."""
    conds = [Lesson.date.between(f.start, f.end), *journal_conditions(f, scoped=False, by_teacher=False)]
    clause = journal_clause(f.scope)
    if clause is not None:
        conds.append(or_(clause, Lesson.teacher_id == f.scope.staff_id) if f.scope.staff_id else clause)
    if f.teacher_id is not None:
        conds.append(Lesson.teacher_id == f.teacher_id)
    return conds
