"""Forecast of final success (SPEC §1 p.4, §4): for the current period of each student's class and
each subject the student is taught, the weighted average so far, the projected final, how much the
average must rise to reach the next grade, the marks count and the risk flags.

The projection is the proposed-final thresholds applied to the average, adjusted while the period is
young (see `projected_average`): a few marks say little, so the average is pulled toward the
student's own average in the other subjects, by a share that shrinks as marks accumulate and as the
period runs out. Pass/fail subjects are not forecast. A fixed number of queries, whatever the size.
"""
import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select, union_all

from app.extensions import db
from app.models import (
    AcademicYear,
    ClassUnit,
    Enrolment,
    IndividualPlan,
    PeriodKind,
    ReportingPeriod,
    Student,
    StudyGroup,
    Subject,
    TeachingAssignment,
    stream_student,
    study_group_student,
)
from app.security.scope import Scope
from app.services import clock
from app.services.assessment import mode_in, rules_of
from app.services.calendar import current_period, year_holds
from app.services.errors import RuleViolation
from app.services.grid import TARGETS
from app.services.membership import enrolled_between, grade_of
from app.services.results import grade_for, min_marks, period_marks, proposed_final, thresholds, truncated

RISK_TWO, RISK_FEW = "projected_2", "too_few_marks"
RISK_LABELS = {RISK_TWO: _l("projected 2"), RISK_FEW: _l("too few marks to certify")}
SHRINK_MARKS = 4  # how many marks the student's other subjects count for (see projected_average)
IN_LIST_LIMIT = 300  # above this many students, aggregate the whole school: a long IN list is slower (SQLite)
TARGET_COLUMNS = {key: column for key, (_model, column) in TARGETS.items()}  # class_id → class_unit_id…


@dataclass(frozen=True)
class ForecastRow:
    """One student × subject of the forecast."""

    student_id: int
    student: str
    class_id: int
    class_name: str
    subject_id: int
    subject: str
    period_id: int
    period: str
    average: float | None
    marks: int
    proposal: int | None  # the proposed final if the period ended today
    projected: int | None
    next_grade: int | None
    distance: float | None
    flags: tuple[str, ...]

    @property
    def risk(self) -> int:
        """Severity for sorting: projected 2 weighs 2, too few marks 1."""
        return 2 * (RISK_TWO in self.flags) + (RISK_FEW in self.flags)

    def as_dict(self) -> dict:
        """The row as the API returns it."""
        return asdict(self) | {"flags": list(self.flags)}


def next_threshold(average: float | None) -> tuple[int | None, float | None]:
    """(next grade, how much the average must rise to reach it); (None, None) at 5 or without marks."""
    grade = grade_for(average)
    if grade is None or grade == 5:
        return None, None
    needed = dict(zip((5, 4, 3), thresholds(), strict=True))[grade + 1]
    return grade + 1, round(needed - average, 2)


def projected_average(average: float, marks: int, prior: float | None, remaining: float) -> float:
    """The average the period is expected to end with.

    The marks still to come are expected at the student's level in the subject, estimated by
    shrinking the average so far toward `prior` (the student's average in the other subjects) as if
    the prior were SHRINK_MARKS more marks; they make up the `remaining` share (0–1) of the period.
    So: average + remaining · SHRINK_MARKS / (marks + SHRINK_MARKS) · (prior − average).
    """
    if prior is None or remaining <= 0:
        return average
    return average + remaining * SHRINK_MARKS / (marks + SHRINK_MARKS) * (prior - average)


def others_mean(averages: dict[tuple[int, int], tuple[float | None, int]]) -> dict[tuple[int, int], float | None]:
    """(student, subject) → mean of the student's averages in their other subjects (None if none)."""
    sums = defaultdict(lambda: [0.0, 0])
    for (student, _subject), (average, _count) in averages.items():
        if average is not None:
            sums[student][0] += average
            sums[student][1] += 1
    out = {}
    for (student, subject), (average, _count) in averages.items():
        total, n = sums[student]
        if average is not None:
            total, n = total - average, n - 1
        out[(student, subject)] = total / n if n else None
    return out


def project(average: float | None, marks: int, prior: float | None, remaining: float) -> int | None:
    """The projected final: thresholds on the projected average (None without marks)."""
    if average is None:
        return None
    return grade_for(truncated(projected_average(average, marks, prior, remaining)))


def remaining_share(period: ReportingPeriod, day: dt.date) -> float:
    """The share (0–1) of the period's days after `day`."""
    length = (period.end - period.start).days
    return 0.0 if length <= 0 else min(1.0, max(0.0, (period.end - day).days / length))


@dataclass(frozen=True)
class Query:
    """What to forecast: filters that narrow the scope's rows (all optional)."""

    period: ReportingPeriod | None = None
    class_ids: tuple[int, ...] | None = None
    grade: int | None = None
    subject_id: int | None = None
    target: tuple[str, int] | None = None  # ("group_id", 7): only that group's (stream's, plan's) subjects
    student_ids: tuple[int, ...] | None = None


def _classes(scope: Scope, q: Query, today: dt.date) -> dict[ReportingPeriod, list[ClassUnit]]:
    """The classes in question grouped by the period forecast for them."""
    query = select(ClassUnit)
    if not scope.everything:
        query = query.where(ClassUnit.school_id == scope.school_id)
    if q.class_ids is not None:
        query = query.where(ClassUnit.id.in_(q.class_ids))
    if q.grade is not None:
        query = query.where(ClassUnit.grade == q.grade)
    if q.period is not None:
        query = query.where(ClassUnit.year_id == q.period.year_id)
    else:
        query = query.join(AcademicYear, AcademicYear.id == ClassUnit.year_id).where(year_holds(today))
    classes = db.session.scalars(query).all()
    periods = db.session.scalars(select(ReportingPeriod).where(
        ReportingPeriod.year_id.in_({c.year_id for c in classes}))).all()
    by_year = defaultdict(list)
    for p in periods:
        by_year[p.year_id].append(p)
    grouped = defaultdict(list)
    for cls in classes:
        if q.period is not None:
            if q.period.kind in (cls.period_kind, PeriodKind.year):
                grouped[q.period].append(cls)
        elif (chosen := current_period([p for p in by_year[cls.year_id] if p.kind == cls.period_kind], today)):
            grouped[chosen].append(cls)
    return grouped


def _pairs(scope: Scope, q: Query, period: ReportingPeriod, class_ids: list[int], day: dt.date):
    """(student, subject, class) taught on `day` to students of the classes, within the scope."""
    ta, enrolled = TeachingAssignment, enrolled_between(day, day)
    columns = (Enrolment.student_id, ta.subject_id, Enrolment.class_unit_id)
    parts = [
        select(*columns).select_from(ta).join(Enrolment, Enrolment.class_unit_id == ta.class_unit_id),
        select(*columns).select_from(ta).join(StudyGroup, StudyGroup.id == ta.group_id)
        .join(study_group_student, study_group_student.c.group_id == ta.group_id)
        .join(Enrolment, and_(Enrolment.student_id == study_group_student.c.student_id,
                              Enrolment.class_unit_id == StudyGroup.class_unit_id)),
        select(*columns).select_from(ta).join(stream_student, stream_student.c.stream_id == ta.stream_id)
        .join(Enrolment, Enrolment.student_id == stream_student.c.student_id),
        select(*columns).select_from(ta).join(IndividualPlan, IndividualPlan.id == ta.plan_id)
        .join(Enrolment, Enrolment.student_id == IndividualPlan.student_id),
    ]
    where = [enrolled, ta.year_id == period.year_id, Enrolment.class_unit_id.in_(class_ids)]
    if not scope.reads_school:
        where.append(or_(ta.teacher_id == scope.staff_id, Enrolment.class_unit_id.in_(sorted(scope.homeroom_ids))))
    if q.subject_id is not None:
        where.append(ta.subject_id == q.subject_id)
    if q.target is not None and q.target[0] != "class_id":
        where.append(getattr(ta, TARGET_COLUMNS[q.target[0]]) == q.target[1])
    if q.student_ids is not None:
        where.append(Enrolment.student_id.in_(q.student_ids))
    return db.session.execute(union_all(*(part.where(*where) for part in parts))).all()


def forecast(scope: Scope, q: Query = Query(), today: dt.date | None = None) -> list[ForecastRow]:
    """The forecast rows the scope may see, ordered by class, student and subject."""
    if scope.school_id is None and not scope.everything:
        return []
    today = today or clock.today()
    rows = []
    for period, classes in _classes(scope, q, today).items():
        day = min(max(today, period.start), period.end)
        names, grades = {c.id: c.name for c in classes}, {c.id: c.grade for c in classes}
        rules = rules_of(period.school_id)
        pairs = {(s, subj): cls for s, subj, cls in _pairs(scope, q, period, sorted(names), day)}
        if not pairs:
            continue
        students = {s.id: s for s in db.session.scalars(select(Student).where(
            Student.id.in_({s for s, _ in pairs})))}
        subjects = {s.id: s for s in db.session.scalars(select(Subject).where(
            Subject.id.in_({subj for _, subj in pairs}), Subject.pass_fail.is_(False)))}
        few = len(students) <= IN_LIST_LIMIT
        averages = period_marks(period, student_ids=sorted(students) if few else None, up_to=min(today, period.end))
        priors, remaining = others_mean(averages), remaining_share(period, today)
        title, minimum = str(period.title), min_marks()
        for (sid, subj), cls in pairs.items():
            if subj not in subjects or mode_in(rules, grades[cls], subj) is not None:
                continue  # pass/fail or unmarked learning has no 1–5 forecast and no risk flags
            average, count = averages.get((sid, subj), (None, 0))
            projected = project(average, count, priors.get((sid, subj)), remaining)
            flags = tuple(f for f, on in ((RISK_TWO, projected == 2), (RISK_FEW, count < minimum)) if on)
            rows.append(ForecastRow(sid, students[sid].short_name, cls, names[cls], subj, subjects[subj].name,
                                    period.id, title, average, count, proposed_final(average, count, minimum),
                                    projected, *next_threshold(average), flags))
    return sorted(rows, key=lambda r: (r.class_name, r.student, r.student_id, r.subject))


def at_risk(rows: list[ForecastRow]) -> list[ForecastRow]:
    """Rows with a risk flag, the most serious first (then the lowest average, the fewest marks)."""
    return sorted((r for r in rows if r.flags),
                  key=lambda r: (-r.risk, r.average if r.average is not None else -1, r.marks, r.student))


class NotFound(Exception):
    """The class, group, stream or plan does not exist or is outside the user's scope."""


def target_query(scope: Scope, key: str, target_id: int, subject_id: int | None = None,
                 period_id: int | None = None) -> Query:
    """The Query of one class (all its students' subjects), group, stream or plan (their subjects);
    NotFound outside the scope, RuleViolation for a subject or period of another school."""
    from app.security.scope import is_visible

    target = db.session.get(TARGETS[key][0], target_id)
    if target is None or not is_visible(target, scope):
        raise NotFound(key)
    subject = db.session.get(Subject, subject_id) if subject_id is not None else None
    if subject_id is not None and (subject is None or subject.school_id != target.school_id):
        raise RuleViolation(_l("subject_id: no such subject in the school."))
    period = db.session.get(ReportingPeriod, period_id) if period_id is not None else None
    if period_id is not None and (period is None or period.school_id != target.school_id):
        raise RuleViolation(_l("period_id: no such reporting period in the school."))
    class_ids = {"class_id": lambda: (target.id,), "group_id": lambda: (target.class_unit_id,)}.get(key, lambda: None)()
    return Query(period=period, class_ids=class_ids, subject_id=subject_id, target=(key, target_id))


def class_matrix(rows: list[ForecastRow]) -> tuple[list[tuple[int, str]], list[tuple[int, str]], dict]:
    """Students and subjects of the rows, and (student, subject) → row, for a class page."""
    students = list(dict.fromkeys((r.student_id, r.student) for r in rows))
    subjects = sorted({(r.subject_id, r.subject) for r in rows}, key=lambda s: s[1])
    return students, subjects, {(r.student_id, r.subject_id): r for r in rows}


def journals(scope: Scope, today: dt.date | None = None) -> list[dict]:
    """The (target, subject) pairs of this year whose forecast the user reads: their own assignments
    and those of their homeroom classes (everything of the school for the administration)."""
    today, ta = today or clock.today(), TeachingAssignment
    query = select(ta).join(AcademicYear, AcademicYear.id == ta.year_id).join(Subject, Subject.id == ta.subject_id) \
        .where(year_holds(today), Subject.pass_fail.is_(False))
    if not scope.everything:
        query = query.where(ta.school_id == scope.school_id)
    if not scope.reads_school:
        homeroom = sorted(scope.homeroom_ids)
        query = query.where(or_(ta.teacher_id == scope.staff_id, ta.class_unit_id.in_(homeroom), ta.group_id.in_(
            select(StudyGroup.id).where(StudyGroup.class_unit_id.in_(homeroom)))))
    found, rules = {}, {}
    for a in db.session.scalars(query):
        if a.school_id not in rules:
            rules[a.school_id] = rules_of(a.school_id)
        if mode_in(rules[a.school_id], grade_of(a), a.subject_id) is not None:
            continue  # no forecast where learning is unmarked or pass/fail
        key = next(k for k, column in TARGET_COLUMNS.items() if getattr(a, column))
        found.setdefault((key, getattr(a, TARGET_COLUMNS[key]), a.subject_id), str(a.target) + " · " + a.subject.name)
    return [{"target_key": k, "target_id": t, "subject_id": s, "title": title}
            for (k, t, s), title in sorted(found.items(), key=lambda item: item[1])]
