"""The class summary sheet (сводная ведомость, SPEC §1 p.5, §7) and a student's individual academic
record across years and levels (SPEC §1 p.3), as plain data for pages and the PDF."""
from collections import Counter, defaultdict

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select

from app.extensions import db
from app.models import (
    AcademicYear,
    ClassUnit,
    Enrolment,
    ExamResult,
    FinalGrade,
    FinalStatus,
    FinalValue,
    PeriodKind,
    PromotionDecision,
    ReportingPeriod,
    Student,
    StudyGroup,
    Subject,
    TeachingAssignment,
)
from app.services.assessment import is_pass_fail, mode_in, rules_of
from app.services.membership import enrolled_between
from app.services.results import metrics, student_standing

LEVELS = ((range(1, 5), _l("Primary general education (grades 1–4)")),
          (range(5, 10), _l("Basic general education (grades 5–9)")),
          (range(10, 12), _l("Secondary general education (grades 10–11)")))


def level_of(grade: int):
    """The level of general education of a grade."""
    return next((label for grades, label in LEVELS if grade in grades), _l("Other"))


DEFERRED_MARK = "отср."  # not «отл.»: every teacher reads that as «отлично»


def cell(grade: FinalGrade | None) -> dict | None:
    """A final as the sheets show it: the value, «отср.» with the deadline while deferred, or nothing."""
    if grade is None or grade.status == FinalStatus.proposed:
        return None
    if grade.status == FinalStatus.deferred:
        return {"text": DEFERRED_MARK, "deferred": True,
                "title": str(_l("Deferred until %(day)s: %(reason)s", day=f"{grade.deferral_deadline:%d.%m.%Y}",
                                reason=grade.deferral_reason)) if grade.deferral_deadline else grade.deferral_reason}
    return {"text": grade.value.value if grade.value else "", "deferred": False, "title": ""}


def class_periods(cls: ClassUnit) -> list[ReportingPeriod]:
    """The periods of the class's scheme, then the year."""
    return db.session.scalars(select(ReportingPeriod).where(
        ReportingPeriod.year_id == cls.year_id, ReportingPeriod.kind.in_([cls.period_kind, PeriodKind.year]))
        .order_by(ReportingPeriod.kind == PeriodKind.year, ReportingPeriod.start)).all()


def _enrolled(cls: ClassUnit, start, end):
    return select(Enrolment.student_id).where(Enrolment.class_unit_id == cls.id, enrolled_between(start, end))


def class_subjects(cls: ClassUnit, student_ids, period_ids) -> list[Subject]:
    """Subjects taught to the class or its groups, and any with finals of its students."""
    taught = select(TeachingAssignment.subject_id).where(or_(
        TeachingAssignment.class_unit_id == cls.id,
        TeachingAssignment.group_id.in_(select(StudyGroup.id).where(StudyGroup.class_unit_id == cls.id))))
    graded = select(FinalGrade.subject_id).where(FinalGrade.student_id.in_(student_ids),
                                                 FinalGrade.period_id.in_(period_ids))
    return db.session.scalars(select(Subject).where(or_(Subject.id.in_(taught), Subject.id.in_(graded)))
                              .order_by(Subject.name)).all()


def summary_sheet(cls: ClassUnit) -> dict:
    """Students × subjects × periods finals, and the metrics of each subject × period underneath."""
    year = cls.year
    periods = class_periods(cls)
    period_ids = [x.id for x in periods]
    students = db.session.scalars(select(Student).where(Student.id.in_(_enrolled(cls, year.start, year.end)))
                                  .order_by(Student.surname, Student.name, Student.id)).all()
    ids = [s.id for s in students]
    subjects = class_subjects(cls, ids, period_ids)
    grades = {(g.student_id, g.subject_id, g.period_id): g for g in db.session.scalars(select(FinalGrade).where(
        FinalGrade.student_id.in_(ids), FinalGrade.period_id.in_(period_ids)))}
    at_end = {x.id: set(db.session.scalars(_enrolled(cls, x.end, x.end))) for x in periods}
    rows = [{"student": s, "cells": {(subj.id, x.id): cell(grades.get((s.id, subj.id, x.id)))
                                     for subj in subjects for x in periods}} for s in students]
    table, rules = {}, rules_of(cls.school_id)
    for subj in subjects:
        pass_fail = is_pass_fail(subj, mode_in(rules, cls.grade, subj.id))
        for x in periods:
            table[(subj.id, x.id)] = metrics([_final(grades.get((sid, subj.id, x.id))) for sid in at_end[x.id]],
                                             pass_fail)
    standing = {x.id: class_standing([[_final(grades.get((sid, subj.id, x.id))) for subj in subjects]
                                      for sid in at_end[x.id]]) for x in periods}
    return {"class": cls, "year": year, "periods": periods, "subjects": subjects, "rows": rows,
            "metrics": table, "standing": standing, "missing": missing_finals(cls, subjects, at_end, grades)}


def missing_finals(cls: ClassUnit, subjects: list[Subject], at_end: dict[int, set[int]],
                   grades: dict) -> dict[int, int]:
    """Period id → finals still missing: students at the period's end × subjects taught to the whole class
    without a final (a deferred one is still missing). The class totals of such a period are incomplete."""
    whole_class = set(db.session.scalars(select(TeachingAssignment.subject_id).where(
        TeachingAssignment.class_unit_id == cls.id)))
    taught = [s.id for s in subjects if s.id in whole_class]
    return {pid: sum(_final(grades.get((sid, subj, pid))) is None for sid in students for subj in taught)
            for pid, students in at_end.items()}


def _final(grade: FinalGrade | None) -> FinalValue | None:
    return grade.value if grade is not None and grade.status == FinalStatus.final else None


def class_standing(finals: list[list]) -> dict:
    """Class level (SPEC §4) from each student's finals (results.student_standing); students without a
    final (other than осв) are not counted."""
    good = quality = counted = 0
    for values in finals:
        certified, successful, qualified = student_standing(Counter(v.value for v in values if v is not None))
        counted, good, quality = counted + certified, good + successful, quality + qualified
    return {"students": counted, "succeeding": good, "quality": quality}


def academic_record(student: Student) -> list[dict]:
    """Per level of education, per academic year: the class, the finals of every period and the
    year by subject, the exam and competition results of that year, and the decision that closed it."""
    enrolments = db.session.execute(select(Enrolment, ClassUnit, AcademicYear)
                                    .join(ClassUnit, ClassUnit.id == Enrolment.class_unit_id)
                                    .join(AcademicYear, AcademicYear.id == ClassUnit.year_id)
                                    .where(Enrolment.student_id == student.id).order_by(Enrolment.start)).all()
    years: dict[int, dict] = {}
    for _enrolment, cls, year in enrolments:
        entry = years.setdefault(year.id, {"year": year, "classes": [], "grade": cls.grade})
        if cls not in entry["classes"]:
            entry["classes"].append(cls)
        entry["grade"] = cls.grade
    grades = db.session.execute(select(FinalGrade, ReportingPeriod).join(ReportingPeriod)
                                .where(FinalGrade.student_id == student.id)).all()
    by_year: dict[int, list] = defaultdict(list)
    for grade, period in grades:
        by_year[period.year_id].append(grade)
        if period.year_id not in years:
            years[period.year_id] = {"year": period.year, "classes": [], "grade": None}
    exams = db.session.scalars(select(ExamResult).where(ExamResult.student_id == student.id)
                               .order_by(ExamResult.date)).all()
    decisions = {d.year_id: d for d in db.session.scalars(select(PromotionDecision).where(
        PromotionDecision.student_id == student.id))}
    out = []
    for entry in sorted(years.values(), key=lambda e: e["year"].start):
        year = entry["year"]
        mine = by_year.get(year.id, [])
        periods = sorted({g.period for g in mine}, key=lambda x: (x.kind == PeriodKind.year, x.start))
        subjects = sorted({g.subject for g in mine}, key=lambda s: s.name)
        cells = {(g.subject_id, g.period_id): cell(g) for g in mine}
        out.append({**entry, "level": level_of(entry["grade"]) if entry["grade"] else _l("Other"),
                    "periods": periods, "subjects": subjects, "cells": cells,
                    "exams": [e for e in exams if year.start <= e.date <= year.end],
                    "decision": decisions.get(year.id)})
    return _by_level(out)


def _by_level(years: list[dict]) -> list[dict]:
    levels: list[dict] = []
    for entry in years:
        if not levels or levels[-1]["label"] != entry["level"]:
            levels.append({"label": entry["level"], "years": []})
        levels[-1]["years"].append(entry)
    return levels


def visible_record(scope, student: Student | None) -> bool:
    """Whole-school readers of the student's school, or the class teacher of one of the student's classes."""
    if student is None:
        return False
    if scope.everything:
        return True
    if student.school_id != scope.school_id:
        return False
    if scope.reads_school:
        return True
    return db.session.scalar(select(Enrolment.id).where(
        and_(Enrolment.student_id == student.id, Enrolment.class_unit_id.in_(sorted(scope.homeroom_ids) or [0])))
        .limit(1)) is not None


def visible_summary(scope, cls: ClassUnit | None) -> bool:
    """Whole-school readers of the class's school, or its class teacher."""
    if cls is None:
        return False
    return scope.everything or (cls.school_id == scope.school_id and (scope.reads_school or
                                                                       cls.id in scope.homeroom_ids))
