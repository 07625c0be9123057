"""Issue 18 «done when»: `school new-year` builds 2027/2028 from the demo once this year's finals are complete —
promotion, a conditional transfer, a retention, grade 1 classes for the new pupils and the timetable copied.
Checked at the end of tests/test_cli.py's one load of the demo (a second load would cost CI seconds)."""
from collections import Counter

from sqlalchemy import func, insert, select, update

from app.extensions import db
from app.models import (
    AcademicYear,
    ClassUnit,
    FinalGrade,
    FinalStatus,
    PromotionDecision,
    Student,
    TeachingAssignment,
    TimetableEntry,
)
from app.services.finals import missing_finals
from app.services.promotion import year_period


def _complete_year_finals(year: AcademicYear) -> tuple[int, int]:
    """Every year final a 4, except three 2s for one pupil of 5А and one 2 for one of 5Б; returns their ids."""
    period = year_period(year)
    db.session.execute(update(FinalGrade).where(FinalGrade.period_id == period.id)
                       .values(status=FinalStatus.final.value, value="4"))
    missing = missing_finals(period)
    by_class = {}
    for student, subject, _target in missing:
        by_class.setdefault(student.class_unit.name, {}).setdefault(student.id, []).append(subject.id)
    weak = next(iter(by_class["5А"]))
    shaky = next(iter(by_class["5Б"]))
    twos = {(weak, s) for s in by_class["5А"][weak][:3]} | {(shaky, by_class["5Б"][shaky][0])}
    db.session.execute(insert(FinalGrade), [
        {"school_id": year.school_id, "student_id": s.id, "subject_id": subj.id, "period_id": period.id,
         "value": "2" if (s.id, subj.id) in twos else "4", "status": FinalStatus.final.value, "version": 1,
         "deferral_reason": "", "decided_by": "test"} for s, subj, _ in missing])
    db.session.commit()
    return weak, shaky


def the_demo_goes_on_to_its_next_year(runner):
    """Refused while finals are missing; then built, with the decisions, classes and timetable expected."""
    year = db.session.scalar(select(AcademicYear).where(AcademicYear.closed.is_(False)))
    refused = runner.invoke(args=["school", "new-year", "2027/2028"])
    assert refused.exit_code == 1 and "не хватает годовых отметок" in refused.output
    weak, shaky = _complete_year_finals(year)
    old_entries = db.session.scalar(select(func.count()).select_from(TimetableEntry).join(TeachingAssignment)
                                    .where(TeachingAssignment.year_id == year.id))
    result = runner.invoke(args=["school", "new-year", "2027/2028"])
    assert result.exit_code == 0, result.output
    new = db.session.scalar(select(AcademicYear).where(AcademicYear.name == "2027/2028"))
    assert db.session.get(AcademicYear, year.id).closed and not new.closed
    names = Counter(c.name for c in db.session.scalars(select(ClassUnit).where(ClassUnit.year_id == new.id)))
    assert names == Counter(["1А", "2А", "5А", "6А", "6Б", "11А"])  # 5А: the retained pupil
    outcomes = {d.student_id: d for d in db.session.scalars(select(PromotionDecision).where(
        PromotionDecision.year_id == year.id))}
    assert outcomes[weak].outcome.value == "retained" and db.session.get(Student, weak).class_unit.name == "5А"
    assert outcomes[shaky].outcome.value == "conditional" and outcomes[shaky].owed
    assert db.session.get(Student, shaky).class_unit.name == "6Б"
    assert Counter(d.outcome.value for d in outcomes.values()) == Counter(
        {"promoted": len(outcomes) - 2, "retained": 1, "conditional": 1})
    entries = db.session.scalar(select(func.count()).select_from(TimetableEntry).join(TeachingAssignment)
                                .where(TeachingAssignment.year_id == new.id))
    assert entries == old_entries > 0  # every class goes on (no grade 11 in the small demo)
