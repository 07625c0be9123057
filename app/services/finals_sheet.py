"""The finals page of a class, group, stream or plan × subject × period: what it shows and the
all-or-nothing save of the teacher's choices (the rules stay in app.services.finals)."""
import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import FinalGrade, FinalStatus, PeriodKind, ReportingPeriod, Subject, TeachingAssignment
from app.services.assessment import assignment_mode, final_values
from app.services.calendar import current_period
from app.services.errors import RuleViolation
from app.services.finals import SheetRow, finals_open_on, finals_sheet, follows, set_final
from app.services.grid import TARGETS, resolve_target
from app.services.journal import Actor, Conflict


@dataclass
class Sheet:
    """Everything the finals page shows."""

    target: object
    target_key: str
    subject: Subject
    assignment: TeachingAssignment
    period: ReportingPeriod
    periods: list[ReportingPeriod]
    rows: list[SheetRow]
    editable: bool
    values: tuple
    mode: object = None  # AssessmentMode of the journal's grade, None when marked
    opens: dt.date | None = None  # the day the finals open, while it is still ahead


def sheet_periods(assignment: TeachingAssignment) -> list[ReportingPeriod]:
    """The periods of the assignment's scheme, then the year."""
    periods = db.session.scalars(select(ReportingPeriod).where(
        ReportingPeriod.year_id == assignment.year_id).order_by(ReportingPeriod.start, ReportingPeriod.kind)).all()
    return sorted((x for x in periods if follows(x, assignment)), key=lambda x: (x.kind == PeriodKind.year, x.start))


def _default_period(periods: list[ReportingPeriod], today: dt.date) -> ReportingPeriod | None:
    """The current period of the scheme (`calendar.current_period`), else the year."""
    return current_period([x for x in periods if x.kind != PeriodKind.year], today) or next(iter(periods), None)


def assignments_of(scope, target_key: str, target_id: int, subject_id: int):
    """The visible target and the assignments teaching it the subject (RuleViolation if none)."""
    target = resolve_target(scope, target_key, target_id, subject_id)
    column = TARGETS[target_key][1]
    found = db.session.scalars(select(TeachingAssignment).where(
        getattr(TeachingAssignment, column) == target.id, TeachingAssignment.subject_id == subject_id)
        .order_by(TeachingAssignment.id)).all()
    if not found:
        raise RuleViolation(_l("The journal is not found or is not available to you."))
    return target, found


def open_sheet(actor: Actor, target_key: str, target_id: int, subject_id: int, period_id: int | None,
               today: dt.date) -> Sheet:
    """The finals sheet of one journal for a period (default: the current one)."""
    target, assignments = assignments_of(actor.scope, target_key, target_id, subject_id)
    assignment = assignments[0]
    periods = sheet_periods(assignment)
    period = next((x for x in periods if x.id == period_id), None) if period_id else _default_period(periods, today)
    if period is None:
        raise RuleViolation(_l("Choose a reporting period of the journal's scheme or the year."))
    editable = actor.administration or actor.scope.everything or \
        actor.scope.staff_id in {a.teacher_id for a in assignments}
    mode = assignment_mode(assignment)
    opens = finals_open_on(period)
    return Sheet(target, target_key, assignment.subject, assignment, period, periods,
                 finals_sheet(assignment, period), editable, final_values(assignment.subject, mode), mode,
                 opens if today < opens else None)


def save_finals(actor: Actor, subject_id: int, period_id: int,
                entries: list[tuple[int, str, int | None]], reasons: dict[int, str] | None = None) -> int:
    """Set the chosen value of each (student, value, version seen), with the student's reason if given;
    empty or unchanged entries are skipped. The first refusal or conflict stops it all (the caller
    rolls back); returns how many."""
    saved = 0
    for student_id, value, version in entries:
        if not value:
            continue
        current = db.session.scalar(select(FinalGrade).where(
            FinalGrade.student_id == student_id, FinalGrade.subject_id == subject_id,
            FinalGrade.period_id == period_id))
        if current is not None and current.status == FinalStatus.final and current.value == value \
                and current.version == version:
            continue
        try:
            set_final(actor, student_id, subject_id, period_id, value, version,
                      reason=(reasons or {}).get(student_id))
        except (RuleViolation, Conflict) as err:
            err.student_id = student_id
            raise
        saved += 1
    return saved

