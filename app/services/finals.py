"""Final grades (SPEC §1 p.5, §4): proposed from marks, confirmed or overridden by the teacher,
deferred by the administration for a sick student, year grades from period finals, and closing a
period. Every entry point flushes but does not commit; the audit listener records each change."""
import datetime as dt
import math
from dataclasses import dataclass
from fractions import Fraction

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.models import (
    AssessmentMode,
    ClassUnit,
    Enrolment,
    FinalGrade,
    FinalStatus,
    FinalValue,
    PeriodKind,
    ReportingPeriod,
    Student,
    Subject,
    TeachingAssignment,
)
from app.models.results import NUMERIC_FINALS
from app.services import clock
from app.services.assessment import (
    final_values,
    grades_on,
    is_pass_fail,
    mode_in,
    rules_of,
    student_mode,
    unmarked_error,
)
from app.services.errors import RuleViolation
from app.services.freeze import closed_message, release_deferred
from app.services.freeze_year import year_closed_message
from app.services.journal import Actor, Conflict
from app.services.membership import is_member, members_query, scheme_class
from app.services.periods import CLOSED, REASON_MAX, record_status
from app.services.results import min_marks, period_marks, proposed_final

DONE = (FinalStatus.final, FinalStatus.deferred)


def _fail(message, field: str | None = None):
    raise RuleViolation(message, field)


def allowed_values(subject: Subject, student_id: int, period: ReportingPeriod) -> tuple[FinalValue, ...]:
    """The finals the student may get in the subject for the period (see assessment.final_values);
    refused outright where the student's grade learns the subject unmarked."""
    mode, grade = student_mode(subject, student_id, period.end)
    if mode == AssessmentMode.unmarked:
        raise unmarked_error(subject, grade)
    return final_values(subject, mode)


def final_cell(grade: FinalGrade | None) -> dict | None:
    """A final grade as pages and the API show it."""
    if grade is None:
        return None
    return {"id": grade.id, "value": grade.value.value if grade.value else None, "status": grade.status.value,
            "proposed": grade.proposed_value.value if grade.proposed_value else None, "average": grade.average,
            "version": grade.version, "deferral_reason": grade.deferral_reason, "reason": grade.decision_reason,
            "deferral_deadline": grade.deferral_deadline.isoformat() if grade.deferral_deadline else None,
            "result_date": grade.result_date.isoformat() if grade.result_date else None}


def follows(period: ReportingPeriod, assignment: TeachingAssignment) -> bool:
    """Whether the assignment's students get finals for this period (its class's scheme, or the year)."""
    if period.year_id != assignment.year_id:
        return False
    if period.kind == PeriodKind.year:
        return True
    cls = scheme_class(assignment)
    return cls is None or cls.period_kind == period.kind


def certified_students(assignment: TeachingAssignment, period: ReportingPeriod) -> list[Student]:
    """Students of the assignment at the period's end: those who owe a final (leavers do not); a
    stream's students each by the scheme of their own class."""
    query = members_query(assignment, period.end, period.end)
    if period.kind != PeriodKind.year and scheme_class(assignment) is None:
        same_scheme = select(ClassUnit.id).where(ClassUnit.period_kind == period.kind)
        query = query.where(Enrolment.class_unit_id.in_(same_scheme))
    return list(db.session.scalars(query))


def scheme_periods(student_id: int, year_period: ReportingPeriod) -> list[int]:
    """Ids of the year's periods the student's class follows (its latest class of that year)."""
    kind = db.session.scalar(select(ClassUnit.period_kind).join(Enrolment, Enrolment.class_unit_id == ClassUnit.id)
                             .where(Enrolment.student_id == student_id, ClassUnit.year_id == year_period.year_id)
                             .order_by(Enrolment.start.desc()).limit(1))
    return list(db.session.scalars(select(ReportingPeriod.id).where(
        ReportingPeriod.year_id == year_period.year_id, ReportingPeriod.kind == kind)))


def _period(period_id: int, school_id: int | None) -> ReportingPeriod:
    period = db.session.get(ReportingPeriod, period_id)
    if period is None or (school_id is not None and period.school_id != school_id):
        _fail(_l("Choose a reporting period of your school."), "period")
    return period


def may_decide(actor: Actor, student_id: int, subject_id: int, period: ReportingPeriod) -> bool:
    """Administration of the school, or a teacher of the subject to the student at the period's end."""
    scope = actor.scope
    if scope.everything or (actor.administration and period.school_id == scope.school_id):
        return True
    if scope.staff_id is None or period.school_id != scope.school_id:
        return False
    assignments = db.session.scalars(select(TeachingAssignment).where(
        TeachingAssignment.teacher_id == scope.staff_id, TeachingAssignment.subject_id == subject_id,
        TeachingAssignment.year_id == period.year_id))
    return any(student_id in {s.id for s in certified_students(a, period)} for a in assignments)


def _grade(student_id: int, subject_id: int, period_id: int) -> FinalGrade | None:
    return db.session.scalar(select(FinalGrade).where(
        FinalGrade.student_id == student_id, FinalGrade.subject_id == subject_id, FinalGrade.period_id == period_id))


def owes_final(student_id: int, subject_id: int, period: ReportingPeriod) -> bool:
    """Whether the student is taught the subject at the period's end (a leaver owes no final)."""
    assignments = db.session.scalars(select(TeachingAssignment).where(
        TeachingAssignment.subject_id == subject_id, TeachingAssignment.year_id == period.year_id))
    return any(follows(period, a) and is_member(a, student_id, period.end) for a in assignments)


def _check(actor: Actor, student: Student | None, subject: Subject | None, period: ReportingPeriod,
           existing: FinalGrade | None = None) -> None:
    if student is None or subject is None or student.school_id != period.school_id \
            or subject.school_id != period.school_id:
        _fail(_l("The student or the subject is not found."))
    if period.year.closed:  # the next year is built: nothing of this one changes, deferred finals included
        _fail(year_closed_message(period.year))
    if period.closed and (existing is None or existing.status != FinalStatus.deferred):
        _fail(closed_message(period))
    if period.closed and not (actor.administration or actor.scope.everything):
        _fail(_l("Only the administration completes a deferred final of a closed period."))
    if not may_decide(actor, student.id, subject.id, period):
        _fail(_l("Only the subject's teacher of the student or the administration decides this final."))
    if not owes_final(student.id, subject.id, period):
        _fail(_l("%(student)s is not taught %(subject)s at the end of «%(period)s»: no final is due.",
                 student=student.short_name, subject=subject.name, period=period.title))


def _flush(student_id: int, subject_id: int, period_id: int) -> None:
    """Flush; a concurrent writer's change (stale version, or the same final created) is a Conflict."""
    try:
        db.session.flush()
    except (StaleDataError, IntegrityError):
        db.session.rollback()
        raise Conflict(final_cell(_grade(student_id, subject_id, period_id))) from None


def _check_version(existing: FinalGrade | None, version: int | None) -> None:
    if (version or None) != (existing.version if existing is not None else None):
        raise Conflict(final_cell(existing))


def finals_open_on(period: ReportingPeriod) -> dt.date:
    """The day a period's finals open: `FINALS_OPEN_DAYS` (default 14) before its end (SPEC §4)."""
    days = current_app.config.get("FINALS_OPEN_DAYS", 14) if has_app_context() else 14
    return period.end - dt.timedelta(days=days)


def _check_due(actor: Actor, student: Student, subject: Subject, period: ReportingPeriod, value: FinalValue,
               reason: str, today: dt.date) -> None:
    """A final before its period's finals open is the administration's, with a reason; a graded final on
    fewer than `MIN_MARKS_FOR_FINAL` marks needs a reason (н/а, осв and pass/fail finals need none, whether
    the subject or an assessment rule makes it pass/fail)."""
    opens = finals_open_on(period)
    if today < opens:
        if not (actor.administration or actor.scope.everything):
            _fail(_l("Finals of «%(period)s» open on %(day)s; before that only the administration sets one, "
                     "with a reason.", period=period.title, day=f"{opens:%d.%m.%Y}"), "value")
        if not reason:
            _fail(_l("Give the reason of a final set before the finals of «%(period)s» open (%(day)s).",
                     period=period.title, day=f"{opens:%d.%m.%Y}"), "reason")
    if period.kind == PeriodKind.year or value not in NUMERIC_FINALS or reason:  # зач/незач, н/а, осв: no minimum
        return
    count = period_marks(period, student_ids=[student.id], subject_id=subject.id).get(
        (student.id, subject.id), (None, 0))[1]
    if count < min_marks():
        _fail(_l("%(student)s has %(count)d marks in %(subject)s, fewer than %(minimum)d: set н/а or give the "
                 "reason of this final.", student=student.short_name, count=count, subject=subject.name,
                 minimum=min_marks()), "reason")


def set_final(actor: Actor, student_id: int, subject_id: int, period_id: int, value: str,
              version: int | None = None, today: dt.date | None = None, reason: str | None = None) -> dict:
    """Confirm or override the student's final: it becomes final with today's result date; `reason`
    is recorded when the final comes before the finals open or rests on too few marks."""
    period = _period(period_id, None if actor.scope.everything else actor.scope.school_id)
    student, subject = db.session.get(Student, student_id), db.session.get(Subject, subject_id)
    existing = _grade(student_id, subject_id, period_id)
    _check(actor, student, subject, period, existing)
    allowed = allowed_values(subject, student_id, period)
    if value not in {v.value for v in allowed}:
        _fail(_l("A final in %(subject)s is one of: %(values)s.", subject=subject.name,
                 values=", ".join(v.value for v in allowed)), "value")
    today = today or clock.today()
    if today < period.start:
        _fail(_l("The period «%(period)s» has not begun yet.", period=period.title))
    reason = (reason or "").strip()[:300]
    _check_due(actor, student, subject, period, FinalValue(value), reason, today)
    _check_version(existing, version)
    grade = existing or FinalGrade(school_id=period.school_id, student_id=student_id, subject_id=subject_id,
                                   period_id=period_id)
    grade.value, grade.status, grade.result_date = FinalValue(value), FinalStatus.final, today
    grade.decision_reason = reason
    grade.decided_by, grade.decided_at = actor.username, dt.datetime.now(dt.UTC).replace(tzinfo=None)
    grade.published_at = None  # a changed final is published again
    db.session.add(grade)
    if period.closed:  # the one documented exception to the freeze: completing a deferred final
        release_deferred(grade)
    _flush(student_id, subject_id, period_id)
    return final_cell(grade)


def defer_final(actor: Actor, student_id: int, subject_id: int, period_id: int, reason: str,
                deadline: dt.date | None, version: int | None = None, today: dt.date | None = None) -> dict:
    """The administration defers a sick student's final, with a reason and a deadline."""
    if not (actor.administration or actor.scope.everything):
        _fail(_l("Only the administration defers a final."))
    period = _period(period_id, None if actor.scope.everything else actor.scope.school_id)
    student, subject = db.session.get(Student, student_id), db.session.get(Subject, subject_id)
    _check(actor, student, subject, period)
    allowed_values(subject, student_id, period)  # nothing to defer where no final is given
    reason = (reason or "").strip()
    if not reason:
        _fail(_l("Give the reason of the deferral (e.g. illness with the certificate's number)."), "reason")
    today = today or clock.today()
    if deadline is None or deadline < today:
        _fail(_l("The deadline of a deferred final is a day from today on."), "deadline")
    existing = _grade(student_id, subject_id, period_id)
    _check_version(existing, version)
    grade = existing or FinalGrade(school_id=period.school_id, student_id=student_id, subject_id=subject_id,
                                   period_id=period_id)
    grade.value, grade.status, grade.result_date = None, FinalStatus.deferred, None
    grade.deferral_reason, grade.deferral_deadline = reason[:300], deadline
    grade.published_at = None  # the family is told of the deferral
    grade.decided_by, grade.decided_at = actor.username, dt.datetime.now(dt.UTC).replace(tzinfo=None)
    db.session.add(grade)
    _flush(student_id, subject_id, period_id)
    return final_cell(grade)


def year_proposal(student_id: int, subject: Subject, year_period: ReportingPeriod) -> FinalValue | None:
    """The year grade from the period finals: the mean of numeric finals rounded half up; зач when
    every period is зач; осв when every period is осв; none while a period of the student's scheme
    is missing, deferred or н/а."""
    periods = scheme_periods(student_id, year_period)
    finals = {period_id: value for period_id, value in db.session.execute(select(FinalGrade.period_id, FinalGrade.value)
              .where(FinalGrade.student_id == student_id, FinalGrade.subject_id == subject.id,
                     FinalGrade.status == FinalStatus.final, FinalGrade.period_id.in_(periods)))}
    values = list(finals.values())
    if not periods or len(finals) < len(periods) or FinalValue.not_certified in values:
        return None
    if all(v == FinalValue.exempt for v in values):
        return FinalValue.exempt
    values = [v for v in values if v != FinalValue.exempt]
    if is_pass_fail(subject, student_mode(subject, student_id, year_period.end)[0]):
        return FinalValue.failed if FinalValue.failed in values else FinalValue.passed
    numbers = [v.number for v in values if v.number is not None]
    if not numbers:
        return None
    return FinalValue(str(math.floor(Fraction(sum(numbers), len(numbers)) + Fraction(1, 2))))


def student_modes(subject: Subject, students: list[Student], period: ReportingPeriod) -> dict:
    """Student → assessment mode in the subject at the period's end (unmarked ones owe no final)."""
    rules, grades = rules_of(subject.school_id), grades_on([s.id for s in students], period.end)
    return {s: mode_in(rules, grades.get(s.id), subject.id) for s in students}


@dataclass
class SheetRow:
    """One student on the finals sheet of an assignment and period."""

    student: Student
    average: float | None
    marks: int
    proposal: FinalValue | None
    grade: FinalGrade | None


def finals_sheet(assignment: TeachingAssignment, period: ReportingPeriod) -> list[SheetRow]:
    """Students who owe a final, with their average, marks count, proposal and current final."""
    subject = assignment.subject
    modes = student_modes(subject, certified_students(assignment, period), period)
    students = [s for s in modes if modes[s] != AssessmentMode.unmarked]
    ids = [s.id for s in students]
    grades = {g.student_id: g for g in db.session.scalars(select(FinalGrade).where(
        FinalGrade.subject_id == subject.id, FinalGrade.period_id == period.id, FinalGrade.student_id.in_(ids)))}
    rows = []
    if period.kind == PeriodKind.year:
        for s in students:
            rows.append(SheetRow(s, None, 0, year_proposal(s.id, subject, period), grades.get(s.id)))
        return rows
    averages = period_marks(period, student_ids=ids, subject_id=subject.id)
    for s in students:
        average, count = averages.get((s.id, subject.id), (None, 0))
        number = None if is_pass_fail(subject, modes[s]) else proposed_final(average, count)
        rows.append(SheetRow(s, average, count, FinalValue(str(number)) if number else None, grades.get(s.id)))
    return rows


def propose_finals(actor: Actor, assignment: TeachingAssignment, period: ReportingPeriod) -> int:
    """Write the proposals of the sheet as proposed finals (decided ones are left alone); returns
    how many proposals were written or changed."""
    if not follows(period, assignment):
        _fail(_l("%(target)s has no finals for «%(period)s».", target=assignment.target, period=period.title))
    if period.year.closed:
        _fail(year_closed_message(period.year))
    if period.closed:
        _fail(closed_message(period))
    written = 0
    for row in finals_sheet(assignment, period):
        if row.grade is not None and row.grade.status in DONE:
            continue
        if not may_decide(actor, row.student.id, assignment.subject_id, period):
            _fail(_l("Only the subject's teacher of the student or the administration decides this final."))
        grade = row.grade or FinalGrade(school_id=period.school_id, student_id=row.student.id,
                                        subject_id=assignment.subject_id, period_id=period.id)
        if grade.id is not None and grade.proposed_value == row.proposal and grade.average == row.average:
            continue
        grade.proposed_value, grade.average, grade.status = row.proposal, row.average, FinalStatus.proposed
        db.session.add(grade)
        written += 1
    db.session.flush()
    return written


def missing_finals(period: ReportingPeriod) -> list[tuple[Student, Subject, str]]:
    """(student, subject, class or target) of every final still missing and not deferred: one per
    student and subject, however many journals (class, group, plan) teach it to them."""
    assignments = db.session.scalars(select(TeachingAssignment).where(
        TeachingAssignment.year_id == period.year_id, TeachingAssignment.school_id == period.school_id)
        .order_by(TeachingAssignment.id)).all()
    done = set(db.session.execute(select(FinalGrade.student_id, FinalGrade.subject_id).where(
        FinalGrade.period_id == period.id, FinalGrade.status.in_(DONE))).tuples())
    missing = []
    for assignment in assignments:
        if not follows(period, assignment):
            continue
        modes = student_modes(assignment.subject, certified_students(assignment, period), period)
        for student, mode in modes.items():
            if mode != AssessmentMode.unmarked and (student.id, assignment.subject_id) not in done:
                done.add((student.id, assignment.subject_id))
                missing.append((student, assignment.subject, str(assignment.target)))
    return missing


def close_period(actor: Actor, period_id: int, reason: str = "") -> ReportingPeriod:
    """Close the period: refused while any final is missing and not deferred; freezes everything of it
    (app.services.freeze) and records who closed it (app.services.periods)."""
    if not (actor.administration or actor.scope.everything):
        _fail(_l("Only the administration closes a period."))
    period = _period(period_id, None if actor.scope.everything else actor.scope.school_id)
    if period.closed:
        _fail(_l("The period «%(period)s» is already closed.", period=period.title))
    if period.kind == PeriodKind.year:
        followed = select(ClassUnit.period_kind).where(ClassUnit.year_id == period.year_id)
        still_open = db.session.scalars(select(ReportingPeriod).where(
            ReportingPeriod.year_id == period.year_id, ReportingPeriod.kind.in_(followed),
            ReportingPeriod.closed.is_(False)).order_by(ReportingPeriod.start)).all()
        if still_open:
            _fail(_l("Close the periods of the year first: %(periods)s.",
                     periods=", ".join(p.title for p in still_open)))
    missing = missing_finals(period)
    if missing:
        shown = "; ".join(f"{s.short_name} — {subj.name} ({target})" for s, subj, target in missing[:5])
        _fail(_l("The period cannot be closed: %(count)d finals are missing, e.g. %(shown)s.",
                 count=len(missing), shown=shown))
    period.closed = True
    record_status(period, CLOSED, actor, (reason or "").strip()[:REASON_MAX])
    db.session.flush()
    return period

