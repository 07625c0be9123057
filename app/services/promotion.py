"""Promotion decisions from the year finals (issue 18; 273-ФЗ ст. 58): a student with no academic debt
(a year final of 2, незач or н/а) is promoted, or in grades 9 and 11 finishes the level (окончил); a debt
makes the transfer conditional with the subjects owed, but retains a student owing `PROMOTION_RETAIN_OWED`
(default 3) subjects or more, and a graduating grade (9, 11) with any debt, which is not admitted to the
state final attestation; a student who left during the year is «выбыл». A year whose finals are
incomplete (missing, proposed only, or deferred) gets no decisions."""
from collections import defaultdict
from dataclasses import dataclass, field

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AcademicYear,
    ClassUnit,
    Enrolment,
    FinalGrade,
    FinalStatus,
    FinalValue,
    PeriodKind,
    PromotionOutcome,
    ReportingPeriod,
    Student,
    Subject,
)
from app.services.finals import missing_finals

DEBTS = (FinalValue.two, FinalValue.failed, FinalValue.not_certified)
GRADUATING = (9, 11)

OUTCOME_LABELS = {  # the school's words, for the page, the CLI and the academic record
    PromotionOutcome.promoted: _l("promoted"),
    PromotionOutcome.conditional: _l("promoted conditionally"),
    PromotionOutcome.retained: _l("retained to repeat the year"),
    PromotionOutcome.graduated: _l("completed the level of education"),
    PromotionOutcome.left: _l("left the school"),
}


@dataclass
class Outcome:
    """One student's decision before it is saved."""

    student: Student
    class_unit: ClassUnit
    outcome: PromotionOutcome
    owed: list[str] = field(default_factory=list)


def retain_owed() -> int:
    """How many subjects owed retain a student (a setting of the school)."""
    return int(current_app.config.get("PROMOTION_RETAIN_OWED", 3)) if has_app_context() else 3


def year_period(year: AcademicYear) -> ReportingPeriod | None:
    """The period of kind «year» that carries the year finals."""
    return db.session.scalar(select(ReportingPeriod).where(
        ReportingPeriod.year_id == year.id, ReportingPeriod.kind == PeriodKind.year))


def incomplete_finals(year: AcademicYear) -> list[str]:
    """«Фамилия И. О. (5А) — Математика: нет итоговой отметки за год» for every year final still missing,
    only proposed or deferred; empty when the year can be closed."""
    period = year_period(year)
    if period is None:
        return [str(_l("The academic year %(year)s has no «year» period for the year finals.", year=year.name))]
    lines = [str(_l("%(student)s (%(target)s) — %(subject)s: no year final", student=s.short_name, target=target,
                    subject=subj.name)) for s, subj, target in missing_finals(period)]
    deferred = db.session.execute(
        select(Student, Subject).join(FinalGrade, FinalGrade.student_id == Student.id)
        .join(Subject, Subject.id == FinalGrade.subject_id)
        .where(FinalGrade.period_id == period.id, FinalGrade.status == FinalStatus.deferred)
        .order_by(Student.surname, Student.name, Subject.name)).all()
    lines += [str(_l("%(student)s — %(subject)s: the year final is deferred", student=s.short_name,
                     subject=subj.name)) for s, subj in deferred]
    return lines


def _last_classes(year: AcademicYear, period: ReportingPeriod) -> tuple[dict, set[int]]:
    """Student id → their last class of the year; ids of those still enrolled at the year period's end."""
    rows = db.session.execute(
        select(Enrolment.student_id, ClassUnit, Enrolment.start, Enrolment.end)
        .join(ClassUnit, ClassUnit.id == Enrolment.class_unit_id)
        .where(ClassUnit.year_id == year.id).order_by(Enrolment.start, Enrolment.id)).all()
    last = {sid: cls for sid, cls, _start, _end in rows}
    present = {sid for sid, _cls, start, end in rows if start <= period.end and (end is None or end >= period.end)}
    return last, present


def _debts(period: ReportingPeriod) -> dict[int, list[str]]:
    """Student id → names of the subjects with a year final of 2, незач or н/а."""
    owed = defaultdict(list)
    for sid, name in db.session.execute(
            select(FinalGrade.student_id, Subject.name).join(Subject, Subject.id == FinalGrade.subject_id)
            .where(FinalGrade.period_id == period.id, FinalGrade.status == FinalStatus.final,
                   FinalGrade.value.in_(DEBTS)).order_by(Subject.name)):
        owed[sid].append(name)
    return owed


def decide(year: AcademicYear) -> list[Outcome]:
    """The decision of every student of the year (call after incomplete_finals() came back empty)."""
    period = year_period(year)
    last, present = _last_classes(year, period)
    owed = _debts(period)
    students = {s.id: s for s in db.session.scalars(select(Student).where(Student.id.in_(list(last))))}
    out = []
    for sid, cls in last.items():
        debts = owed.get(sid, [])
        if sid not in present:
            kind = PromotionOutcome.left
        elif debts and (cls.grade in GRADUATING or len(debts) >= retain_owed()):
            kind = PromotionOutcome.retained
        elif debts:
            kind = PromotionOutcome.conditional
        else:
            kind = PromotionOutcome.graduated if cls.grade in GRADUATING else PromotionOutcome.promoted
        out.append(Outcome(students[sid], cls, kind, debts if kind != PromotionOutcome.left else []))
    return sorted(out, key=lambda o: (o.class_unit.grade, o.class_unit.letter, o.student.surname, o.student.name))

