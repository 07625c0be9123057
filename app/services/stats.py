"""Statistics of a reporting period (SPEC §1 p.5, §4): results by school, grade, class, subject and
teacher (curriculum and attendance: app.services.fulfilment). Figures come from SQL aggregation (GROUP BY
over final_grade joined with enrolment and class); Python only sums aggregated rows, never loops over students.

Finals count only with status «final»; a class's students are those enrolled at the period's end
(a student who left mid-period is in no class's N, one who arrived is in the new class's)."""
from collections import Counter, defaultdict
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, exists, func, or_, select, union

from app.extensions import db
from app.models import (
    AssessmentMode,
    ClassUnit,
    Enrolment,
    FinalGrade,
    FinalStatus,
    FinalValue,
    IndividualPlan,
    PeriodKind,
    ReportingPeriod,
    Staff,
    Student,
    Subject,
    TeachingAssignment,
    stream_student,
    study_group_student,
)
from app.services.assessment import is_pass_fail, mode_in, rules_of
from app.services.calendar import current_period
from app.services.errors import RuleViolation
from app.services.membership import enrolled_between
from app.services.results import FAILING_FINALS, metrics_of_counts, student_standing


class NotFound(RuleViolation):
    """The period (or another object) is not one of the user's school."""


@dataclass(frozen=True)
class Filters:
    """A period and the optional narrowing by class, grade, subject and teacher."""

    period: ReportingPeriod
    class_id: int | None = None
    subject_id: int | None = None
    grade: int | None = None
    teacher_id: int | None = None
    # Periods of the school's other schemes ending within the chosen one, as (scheme, period id): a quarter
    # view counts the half-year and trimester classes by their own period (10А's first half-year in Q2).
    other_schemes: tuple[tuple[PeriodKind, int], ...] = ()

    def scheme_periods(self) -> list[tuple[PeriodKind, int]]:
        """(scheme, period id) of every scheme the results cover, the chosen period's first."""
        return [(self.period.kind, self.period.id), *self.other_schemes]

    def as_dict(self) -> dict:
        """The filters as the API echoes them."""
        return {"period_id": self.period.id, "class_id": self.class_id, "subject_id": self.subject_id,
                "grade": self.grade, "teacher_id": self.teacher_id}


def periods_of(scope) -> list[ReportingPeriod]:
    """The reporting periods the user may choose, oldest first."""
    query = select(ReportingPeriod).order_by(ReportingPeriod.start, ReportingPeriod.kind, ReportingPeriod.id)
    if not scope.everything:
        query = query.where(ReportingPeriod.school_id == scope.school_id)
    return list(db.session.scalars(query))


def default_period(periods: list[ReportingPeriod], today) -> ReportingPeriod | None:
    """The last begun period (not the year) that has final grades (the dashboard shows results), else
    the current one (`calendar.current_period`)."""
    terms = [p for p in periods if p.kind != PeriodKind.year]
    with_finals = set(db.session.scalars(select(FinalGrade.period_id).where(
        FinalGrade.status == FinalStatus.final).distinct()))
    done = [p for p in terms if p.start <= today and p.id in with_finals]
    return done[-1] if done else current_period(terms, today) or next(iter(periods), None)


def resolve(scope, period_id, class_id=None, subject_id=None, grade=None, teacher_id=None) -> Filters:
    """Check the parameters against the user's school; NotFound for a foreign period, RuleViolation
    with a clear message for anything else wrong."""
    if period_id is None:
        raise RuleViolation(_l("The parameter %(name)s (a reporting period) is required.", name="period_id"),
                            "period_id")
    period = db.session.get(ReportingPeriod, period_id)
    if period is None or not scope.reads_school or (not scope.everything and period.school_id != scope.school_id):
        raise NotFound(_l("No such reporting period in your school."), "period_id")
    if grade is not None and not 1 <= grade <= 11:
        raise RuleViolation(_l("The parameter %(name)s is a number from 1 to 11.", name="grade"), "grade")
    checks = ((class_id, ClassUnit, "class_id", lambda c: c.year_id == period.year_id),
              (subject_id, Subject, "subject_id", lambda s: True),
              (teacher_id, Staff, "teacher_id", lambda s: True))
    for value, model, name, fits in checks:
        if value is None:
            continue
        obj = db.session.get(model, value)
        if obj is None or obj.school_id != period.school_id or not fits(obj):
            raise RuleViolation(_l("%(name)s=%(value)s is not in the period's school and year.",
                                   name=name, value=value), name)
    return Filters(period, class_id, subject_id, grade, teacher_id, counterparts(period))


def counterparts(period: ReportingPeriod) -> tuple[tuple[PeriodKind, int], ...]:
    """The periods of the year's other schemes (not the year) that end within the period, one per scheme."""
    if period.kind == PeriodKind.year:
        return ()
    found = db.session.scalars(select(ReportingPeriod).where(
        ReportingPeriod.year_id == period.year_id, ReportingPeriod.kind.not_in([period.kind, PeriodKind.year]),
        ReportingPeriod.end >= period.start, ReportingPeriod.end <= period.end).order_by(ReportingPeriod.end)).all()
    return tuple({p.kind: (p.kind, p.id) for p in found}.values())


# ---- building blocks -------------------------------------------------------------------------

def _at_end(period: ReportingPeriod):
    return enrolled_between(period.end, period.end)


def class_conditions(f: Filters) -> list:
    """Classes following the period's scheme (every class for the year), narrowed by class/grade."""
    conds = [ClassUnit.year_id == f.period.year_id]
    if f.period.kind != PeriodKind.year:
        conds.append(ClassUnit.period_kind == f.period.kind)
    if f.class_id is not None:
        conds.append(ClassUnit.id == f.class_id)
    if f.grade is not None:
        conds.append(ClassUnit.grade == f.grade)
    return conds


def result_class_conditions(f: Filters) -> list:
    """Like class_conditions, with the classes of every scheme that has a period in the results."""
    if f.period.kind == PeriodKind.year or not f.other_schemes:
        return class_conditions(f)
    conds = [ClassUnit.year_id == f.period.year_id,
             ClassUnit.period_kind.in_([kind for kind, _ in f.scheme_periods()])]
    if f.class_id is not None:
        conds.append(ClassUnit.id == f.class_id)
    if f.grade is not None:
        conds.append(ClassUnit.grade == f.grade)
    return conds


def finals_of_period(f: Filters):
    """The condition on FinalGrade (joined with ClassUnit): the chosen period, or each class's own."""
    if not f.other_schemes:
        return FinalGrade.period_id == f.period.id
    return or_(*(and_(ClassUnit.period_kind == kind, FinalGrade.period_id == pid) for kind, pid in f.scheme_periods()))


def taught(period: ReportingPeriod, name: str = "taught"):
    """(student_id, subject_id, teacher_id) of the year: by class (at the period's end), group,
    stream or individual plan; a subquery."""
    ta = TeachingAssignment
    by_class = (select(Enrolment.student_id, ta.subject_id, ta.teacher_id).select_from(ta)
                .join(Enrolment, Enrolment.class_unit_id == ta.class_unit_id).where(_at_end(period)))
    by_group = (select(study_group_student.c.student_id, ta.subject_id, ta.teacher_id).select_from(ta)
                .join(study_group_student, study_group_student.c.group_id == ta.group_id))
    by_stream = (select(stream_student.c.student_id, ta.subject_id, ta.teacher_id).select_from(ta)
                 .join(stream_student, stream_student.c.stream_id == ta.stream_id))
    by_plan = (select(IndividualPlan.student_id, ta.subject_id, ta.teacher_id).select_from(ta)
               .join(IndividualPlan, IndividualPlan.id == ta.plan_id))
    parts = [q.where(ta.year_id == period.year_id) for q in (by_class, by_group, by_stream, by_plan)]
    return union(*parts).subquery(name)


def _finals(f: Filters, *columns):
    """SELECT columns FROM the period's final finals of students in the chosen classes at its end."""
    query = (select(*columns).select_from(FinalGrade)
             .join(Enrolment, and_(Enrolment.student_id == FinalGrade.student_id, _at_end(f.period)))
             .join(ClassUnit, ClassUnit.id == Enrolment.class_unit_id)
             .where(finals_of_period(f), FinalGrade.status == FinalStatus.final,
                    FinalGrade.value.is_not(None), *result_class_conditions(f)))
    if f.subject_id is not None:
        query = query.where(FinalGrade.subject_id == f.subject_id)
    if f.teacher_id is not None:
        t = taught(f.period, "taught_by")
        query = query.where(exists().where(t.c.student_id == FinalGrade.student_id,
                                           t.c.subject_id == FinalGrade.subject_id, t.c.teacher_id == f.teacher_id))
    return query


def summarise(counts: Counter, numeric: Counter) -> dict:
    """SPEC §4 metrics of finals counted by value: успеваемость over every final; качество, СОУ and the
    average over marked learning only, with the зачёт/незачёт finals counted apart."""
    result = metrics_of_counts(counts)
    marked = metrics_of_counts(numeric)
    result.update(quality=marked["quality"], sou=marked["sou"], average=marked["average"],
                  passed=result["counts"][FinalValue.passed.value], failed=result["counts"][FinalValue.failed.value])
    return result


class _Tally:
    """Counts of finals by value per key, all subjects and numeric subjects apart."""

    def __init__(self):
        self.all, self.numeric = defaultdict(Counter), defaultdict(Counter)
        self.pass_fail: set = set()  # keys with pass/fail finals

    def add(self, key, value: str, count: int, pass_fail: bool | None) -> None:
        """Count finals of one value; pass_fail None (unmarked learning) counts nowhere."""
        if pass_fail is None:
            return
        self.all[key][value] += count
        if pass_fail:
            self.pass_fail.add(key)
        else:
            self.numeric[key][value] += count

    def metrics(self, key) -> dict:
        return summarise(self.all.get(key, Counter()), self.numeric.get(key, Counter()))


def _value(v) -> str:
    return v.value if isinstance(v, FinalValue) else str(v)


def _students(f: Filters) -> dict:
    """class_id → students at the period's end, certified (N), успевающие, качественные, отличники."""
    per_student = _finals(
        f, Enrolment.class_unit_id.label("class_id"), FinalGrade.student_id,
        func.sum(case((FinalGrade.value.in_(FAILING_FINALS), 1), else_=0)).label("bad"),
        func.sum(case((FinalGrade.value == FinalValue.three, 1), else_=0)).label("threes"),
        func.sum(case((FinalGrade.value == FinalValue.four, 1), else_=0)).label("fours"),
        func.sum(case((FinalGrade.value != FinalValue.exempt, 1), else_=0)).label("counted"),
    ).group_by(Enrolment.class_unit_id, FinalGrade.student_id).subquery()
    s = per_student.c
    certified = s.counted > 0
    good = and_(certified, s.bad == 0)
    rows = db.session.execute(select(
        s.class_id, func.sum(case((certified, 1), else_=0)), func.sum(case((good, 1), else_=0)),
        func.sum(case((and_(good, s.threes == 0), 1), else_=0)),
        func.sum(case((and_(good, s.threes == 0, s.fours == 0), 1), else_=0)),
    ).group_by(s.class_id))
    out = {cid: {"students": 0, "n": int(n or 0), "successful": int(a or 0), "quality": int(b or 0),
                 "excellent": int(c or 0)} for cid, n, a, b, c in rows}
    contingent = db.session.execute(
        select(Enrolment.class_unit_id, func.count(func.distinct(Enrolment.student_id)))
        .join(ClassUnit, ClassUnit.id == Enrolment.class_unit_id)
        .where(_at_end(f.period), *result_class_conditions(f)).group_by(Enrolment.class_unit_id))
    for cid, count in contingent:
        out.setdefault(cid, {"students": 0, "n": 0, "successful": 0, "quality": 0, "excellent": 0})
        out[cid]["students"] = count
    return out


def _student_metrics(parts: list[dict]) -> dict:
    """Class-level figures summed over classes, with the percentages of N."""
    total = Counter()
    for part in parts:
        total.update(part)
    n = total["n"]
    pct = (lambda k: round(total[k] * 100 / n, 2) if n else None)  # noqa: E731
    return {"students": total["students"], "students_n": n, "successful": total["successful"],
            "quality_students": total["quality"], "excellent": total["excellent"],
            "successful_pct": pct("successful"), "quality_students_pct": pct("quality")}


# ---- results -----------------------------------------------------------------------------------

def results(f: Filters) -> dict:
    """Results of the period for the school, each grade, class, subject and teacher."""
    classes = {c.id: c for c in db.session.scalars(select(ClassUnit).where(*result_class_conditions(f)))}
    subjects = {s.id: s for s in db.session.scalars(select(Subject).where(Subject.school_id == f.period.school_id))}
    rules = rules_of(f.period.school_id)

    def pass_fail(grade: int, subject_id: int) -> bool | None:
        """True for зачёт/незачёт learning, None for unmarked (no finals to count), else False."""
        mode = mode_in(rules, grade, subject_id)
        return None if mode == AssessmentMode.unmarked else is_pass_fail(subjects[subject_id], mode)

    by_class_subject = db.session.execute(_finals(
        f, Enrolment.class_unit_id, FinalGrade.subject_id, FinalGrade.value, func.count())
        .group_by(Enrolment.class_unit_id, FinalGrade.subject_id, FinalGrade.value))
    school, grades, by_class, by_subject = _Tally(), _Tally(), _Tally(), _Tally()
    for class_id, subject_id, value, count in by_class_subject:
        value, pf = _value(value), pass_fail(classes[class_id].grade, subject_id)
        for tally, key in ((school, 0), (grades, classes[class_id].grade), (by_class, class_id),
                           (by_subject, subject_id)):
            tally.add(key, value, count, pf)
    t = taught(f.period)
    by_teacher = _Tally()
    for teacher_id, grade, subject_id, value, count in db.session.execute(_finals(
            f, t.c.teacher_id, ClassUnit.grade, FinalGrade.subject_id, FinalGrade.value, func.count())
            .join(t, and_(t.c.student_id == FinalGrade.student_id, t.c.subject_id == FinalGrade.subject_id))
            .where(*([t.c.teacher_id == f.teacher_id] if f.teacher_id else []))
            .group_by(t.c.teacher_id, ClassUnit.grade, FinalGrade.subject_id, FinalGrade.value)):
        by_teacher.add(teacher_id, _value(value), count, pass_fail(grade, subject_id))
    teachers = {s.id: s for s in db.session.scalars(select(Staff).where(Staff.id.in_(list(by_teacher.all))))}
    people = _students(f)
    grade_list = sorted({c.grade for c in classes.values()})
    ordered = sorted(classes.values(), key=lambda c: (c.grade, c.letter))
    return {
        "period": period_info(f.period), "filters": f.as_dict(),
        "school": {**school.metrics(0), **_student_metrics(list(people.values()))},
        "grades": [{"grade": g, **grades.metrics(g), **_student_metrics(
            [people[c.id] for c in ordered if c.grade == g and c.id in people])} for g in grade_list],
        "classes": [{"class_id": c.id, "name": c.name, "grade": c.grade, **by_class.metrics(c.id),
                     **_student_metrics([people[c.id]] if c.id in people else [])} for c in ordered],
        "subjects": [{"subject_id": s.id, "name": s.name, "pass_fail": s.id in by_subject.pass_fail,
                      **by_subject.metrics(s.id)}
                     for s in sorted(subjects.values(), key=lambda s: s.name) if s.id in by_subject.all],
        "teachers": [{"teacher_id": p.id, "name": p.short_name, **by_teacher.metrics(p.id)}
                     for p in sorted(teachers.values(), key=lambda p: (p.surname, p.name, p.id))],
    }


def period_info(period: ReportingPeriod) -> dict:
    """The period as the API shows it."""
    return {"id": period.id, "title": period.title, "kind": period.kind.value, "number": period.number,
            "start": period.start.isoformat(), "end": period.end.isoformat(), "closed": period.closed}


def class_students(f: Filters) -> list[dict]:
    """Each student of the class at the period's end with their finals counted by value (one query)."""
    rows = db.session.execute(
        select(Student.id, Student.surname, Student.name, Student.patronymic, FinalGrade.value,
               func.count(FinalGrade.id))
        .select_from(Enrolment).join(Student, Student.id == Enrolment.student_id)
        .join(ClassUnit, ClassUnit.id == Enrolment.class_unit_id)
        .outerjoin(FinalGrade, and_(FinalGrade.student_id == Student.id, finals_of_period(f),
                                    FinalGrade.status == FinalStatus.final,
                                    *([FinalGrade.subject_id == f.subject_id] if f.subject_id else [])))
        .where(_at_end(f.period), *result_class_conditions(f))
        .group_by(Student.id, Student.surname, Student.name, Student.patronymic, FinalGrade.value)
        .order_by(Student.surname, Student.name, Student.id))
    out: dict[int, dict] = {}
    for sid, surname, name, patronymic, value, count in rows:
        row = out.setdefault(sid, {"student_id": sid, "name": " ".join(x for x in (surname, name, patronymic) if x),
                                   "counts": Counter()})
        if value is not None:
            row["counts"][_value(value)] += count
    for row in out.values():
        _certified, row["successful"], row["quality"] = student_standing(row["counts"])
        row["counts"] = dict(row["counts"])
    return list(out.values())


def student_finals(period: ReportingPeriod, student_id: int) -> list[dict]:
    """The student's finals of the period, every status, by subject name."""
    rows = db.session.execute(
        select(Subject.name, FinalGrade.value, FinalGrade.status, FinalGrade.proposed_value, FinalGrade.average,
               FinalGrade.deferral_deadline)
        .join(Subject, Subject.id == FinalGrade.subject_id)
        .where(FinalGrade.period_id == period.id, FinalGrade.student_id == student_id).order_by(Subject.name))
    return [{"subject": name, "value": _value(value) if value else None, "status": status.value,
             "proposed": _value(proposed) if proposed else None, "average": average,
             "deadline": deadline.isoformat() if deadline else None}
            for name, value, status, proposed, average, deadline in rows]
