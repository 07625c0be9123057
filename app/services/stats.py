"""Statistics of a reporting period (SPEC §1 p.5, §4): results by school, grade, class, subject and
teacher (curriculum and attendance: app.services.fulfilment). Figures come from SQL aggregation (GROUP BY
over final_grade joined with enrolment, read once); Python sums the aggregated rows and takes each class's
standing from set operations over the rows' student ids (no loop over students). The results are one
statement whatever the school's size, every part reached through the school's own rows by index (the
period's finals, the year's members): other schools' data is never read.

Finals count only with status «final»; a class's students are those enrolled at the period's end
(a student who left mid-period is in no class's N, one who arrived is in the new class's)."""
from collections import Counter, defaultdict
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Integer,
    String,
    and_,
    cast,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
    union,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.functions import FunctionElement

from app.extensions import db
from app.models import (
    AssessmentMode,
    AssessmentRule,
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
from app.models.people import PersonName
from app.services.assessment import is_pass_fail, mode_in
from app.services.calendar import current_period
from app.services.errors import RuleViolation
from app.services.membership import enrolled_between
from app.services.results import FAILING_FINALS, FINAL_VALUES, metrics_of_counts, student_standing


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

    def key(self) -> tuple:
        """Every value of the filters the results depend on (the period's row read by value, not identity)."""
        p = self.period
        return (p.id, p.school_id, p.year_id, p.kind, p.start, p.end, self.other_schemes, self.class_id,
                self.subject_id, self.grade, self.teacher_id)

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
    year_periods = _periods_of_year_of(period_id)
    period = next((p for p in year_periods if p.id == period_id), None)
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
    return Filters(period, class_id, subject_id, grade, teacher_id, counterparts(period, year_periods))


def _periods_of_year_of(period_id) -> list[ReportingPeriod]:
    """Every period of the given period's year, each with the year (its title): the period and its
    counterparts in one statement (an API call reads them every time)."""
    of_year = select(ReportingPeriod.year_id).where(ReportingPeriod.id == period_id).scalar_subquery()
    return list(db.session.scalars(select(ReportingPeriod).options(joinedload(ReportingPeriod.year))
                                   .where(ReportingPeriod.year_id == of_year)))


def counterparts(period: ReportingPeriod, year_periods: list[ReportingPeriod]) -> tuple[tuple[PeriodKind, int], ...]:
    """The periods of the year's other schemes (not the year) that end within the period, the last one per
    scheme (year_periods: every period of the period's year)."""
    if period.kind == PeriodKind.year:
        return ()
    found = sorted((p for p in year_periods if p.kind not in (period.kind, PeriodKind.year)
                    and period.start <= p.end <= period.end), key=lambda p: p.end)
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


def finals_of_period(f: Filters, period_id=FinalGrade.period_id):
    """The condition on a final's period (joined with ClassUnit): the chosen period, or each class's own."""
    if not f.other_schemes:
        return period_id == f.period.id
    return or_(*(and_(ClassUnit.period_kind == kind, period_id == pid) for kind, pid in f.scheme_periods()))


def taught(period: ReportingPeriod, name: str = "taught"):
    """(student_id, subject_id, teacher_id) of the year: by class (at the period's end), group,
    stream or individual plan; a subquery."""
    ta = TeachingAssignment
    by_class = (select(Enrolment.student_id, ta.subject_id, ta.teacher_id).select_from(ta)
                .join(Enrolment, and_(Enrolment.class_unit_id == ta.class_unit_id,
                                      Enrolment.school_id == period.school_id)).where(_at_end(period)))
    parts = [q.where(ta.school_id == period.school_id, ta.year_id == period.year_id)
             for q in (by_class, *_by_membership())]
    return union(*parts).subquery(name)


def _by_membership():
    """(student_id, subject_id, teacher_id) selects of group, stream and individual-plan teaching."""
    ta = TeachingAssignment
    return [select(m.c.student_id, ta.subject_id, ta.teacher_id).join(m, on)
            for m, on in ((study_group_student, study_group_student.c.group_id == ta.group_id),
                          (stream_student, stream_student.c.stream_id == ta.stream_id),
                          (IndividualPlan.__table__, IndividualPlan.id == ta.plan_id))]


def _chosen_finals(f: Filters, query, student_id=FinalGrade.student_id, subject_id=FinalGrade.subject_id):
    """The query narrowed to final finals of the school (with a value), by the subject and teacher filters."""
    query = query.where(FinalGrade.school_id == f.period.school_id,
                        FinalGrade.period_id.in_([pid for _kind, pid in f.scheme_periods()]),
                        FinalGrade.status == FinalStatus.final, FinalGrade.value.is_not(None))
    if f.subject_id is not None:
        query = query.where(subject_id == f.subject_id)
    if f.teacher_id is not None:
        t = taught(f.period, "taught_by")
        query = query.where(exists().where(t.c.student_id == student_id, t.c.subject_id == subject_id,
                                           t.c.teacher_id == f.teacher_id))
    return query


def _own_period(f: Filters, classes: dict, period_id):
    """The condition that the enrolment is in one of the chosen classes (their ids: no join with the class)
    and the final is of the period that class follows."""
    if not f.other_schemes:
        return and_(Enrolment.class_unit_id.in_(list(classes)), period_id == f.period.id)
    by_kind = defaultdict(list)
    for c in classes.values():
        by_kind[c.period_kind].append(c.id)
    return or_(*(and_(Enrolment.class_unit_id.in_(by_kind.get(kind, [])), period_id == pid)
                 for kind, pid in f.scheme_periods()))


def _at_end_in_chosen_classes(f: Filters, query, classes: dict, student_id, period_id):
    """The query joined with the student's enrolment at the period's end in one of the chosen classes."""
    return (query.join(Enrolment, and_(Enrolment.student_id == student_id, _at_end(f.period)))
            .where(_own_period(f, classes, period_id)))


VALUE = type_coerce(FinalGrade.value, String)  # as stored: no enum conversion of thousands of counted rows


# The parts of the one results statement: the classes' teachers (counted from the class × subject rows),
# the period's finals read once by class × subject × value with their students, the students of each group,
# stream and plan teacher by subject, the students at the period's end per class; the school's subjects,
# assessment rules and staff names (each was a statement of its own, a round trip and an ORM load each call).
CLASS_TEACHER, FINALS, MEMBERS, CONTINGENT, SUBJECT, RULE, TEACHER = range(7)


PART_COLUMNS = ("part", "key", "class_id", "subject_id", "value", "n", "name", "patronymic")


def _part(number: int, key, class_id=None, subject_id=None, value=None, n=None, name=None, patronymic=None):
    """The labelled columns of one part (PART_COLUMNS), typed NULLs where the part has no such column
    (PostgreSQL types the union's columns)."""
    def typed(column, kind):
        return cast(null(), kind) if column is None else column
    columns = (literal_column(str(number)), key, typed(class_id, Integer), typed(subject_id, Integer),
               typed(value, String), typed(n, Integer), typed(name, String), typed(patronymic, String))
    return [column.label(name) for column, name in zip(columns, PART_COLUMNS, strict=True)]


class StudentIds(FunctionElement):
    """The group's student ids as one comma-separated text (a few thousand ids in ~1 000 rows, split in C)."""
    type = String()
    inherit_cache = True


@compiles(StudentIds)
def _student_ids_sqlite(element, compiler, **kw):
    return f"group_concat({compiler.process(element.clauses, **kw)}, ',')"


@compiles(StudentIds, "postgresql")
def _student_ids_postgresql(element, compiler, **kw):
    return f"string_agg(CAST({compiler.process(element.clauses, **kw)} AS TEXT), ',')"


def _finals(f: Filters, classes: dict):
    """The period's finals by class (at the period's end) × subject × value, counted and with their students:
    the one read of the finals (the class × subject counts, the members' teachers and each student's standing
    all come from these rows)."""
    query = select(*_part(FINALS, Enrolment.class_unit_id, None, FinalGrade.subject_id, VALUE, func.count(),
                          StudentIds(FinalGrade.student_id))).select_from(FinalGrade)
    query = _at_end_in_chosen_classes(f, _chosen_finals(f, query), classes, FinalGrade.student_id,
                                      FinalGrade.period_id)
    return query.group_by(Enrolment.class_unit_id, FinalGrade.subject_id, VALUE)


def _members(f: Filters, _classes: dict):
    """The students of each group, stream and plan teacher by subject (each student once): a few dozen rows
    the results intersect with the finals' students."""
    members = union(*(q.where(TeachingAssignment.school_id == f.period.school_id,
                              TeachingAssignment.year_id == f.period.year_id,
                              *([TeachingAssignment.teacher_id == f.teacher_id] if f.teacher_id else []))
                      for q in _by_membership())).subquery("members")
    m = members.c
    return select(*_part(MEMBERS, m.teacher_id, None, m.subject_id, None, None, StudentIds(m.student_id))).group_by(
        m.teacher_id, m.subject_id)


def _contingent(f: Filters, classes: dict):
    """Students at the period's end per class."""
    return (select(*_part(CONTINGENT, Enrolment.class_unit_id, None, None, None,
                          func.count(func.distinct(Enrolment.student_id))))
            .where(Enrolment.class_unit_id.in_(list(classes)), _at_end(f.period)).group_by(Enrolment.class_unit_id))


# Results statements by the filters' values (they hold bound values, never rows): building one costs
# about a third of running it, and the dashboard asks the same few periods again and again.
_STATEMENTS: dict[tuple, object] = {}


def _results_rows(f: Filters, classes: dict):
    """Every aggregated row the results need, in one statement."""
    key = (*f.key(), tuple((c.id, c.period_kind) for c in classes.values()))
    statement = _STATEMENTS.get(key)  # one lookup: another request may clear the cache meanwhile
    if statement is None:
        if len(_STATEMENTS) >= 256:
            _STATEMENTS.clear()
        statement = _STATEMENTS[key] = union_all(*(part(f, classes) for part in (
            _class_teachers, _finals, _members, _contingent, _subjects, _rules, _staff)))
    return db.session.execute(statement).all()  # one fetchall: iterating the result fetches row by row


def _class_teachers(f: Filters, classes: dict):
    """(teacher, class, subject) of the chosen classes' teaching this year (each once)."""
    ta = TeachingAssignment
    return select(*_part(CLASS_TEACHER, ta.teacher_id, ta.class_unit_id, ta.subject_id)).distinct().where(
        ta.class_unit_id.in_(list(classes)), *([ta.teacher_id == f.teacher_id] if f.teacher_id else []))


def _subjects(f: Filters, _classes: dict):
    """The school's subjects: name and whether they are зачёт/незачёт."""
    return select(*_part(SUBJECT, Subject.id, None, None, Subject.name, cast(Subject.pass_fail, Integer))).where(
        Subject.school_id == f.period.school_id)


def _rules(f: Filters, _classes: dict):
    """The school's assessment rules (assessment.rules_of's rows)."""
    rule = AssessmentRule
    return select(*_part(RULE, rule.grade, None, rule.subject_id, type_coerce(rule.mode, String))).where(
        rule.school_id == f.period.school_id)


def _staff(f: Filters, _classes: dict):
    """The school's staff names (the teachers are among them)."""
    return select(*_part(TEACHER, Staff.id, None, None, Staff.surname, name=Staff.name,
                         patronymic=Staff.patronymic)).where(Staff.school_id == f.period.school_id)


@dataclass(frozen=True)
class _Class:
    """A class as the results read it (its columns, no ORM load)."""
    id: int
    grade: int
    letter: str
    period_kind: PeriodKind
    name = property(ClassUnit.name.fget)  # the one spelling of «5А»


@dataclass(frozen=True)
class _Subject:
    id: int
    name: str
    pass_fail: bool


@dataclass(frozen=True)
class _Teacher:
    id: int
    surname: str
    name: str
    patronymic: str
    short_name = property(PersonName.short_name.fget)  # the one spelling of «Иванов И. И.»


def summarise(counts: dict, numeric: dict) -> dict:
    """SPEC §4 metrics of finals counted by value: успеваемость over every final; качество, СОУ and the
    average over marked learning only, with the зачёт/незачёт finals counted apart (numeric the very counts
    object when every final is of marked learning: its metrics are the same)."""
    result = metrics_of_counts(counts)
    marked = result if numeric is counts else metrics_of_counts(numeric)
    result.update(quality=marked["quality"], sou=marked["sou"], average=marked["average"],
                  passed=result["counts"][FinalValue.passed.value], failed=result["counts"][FinalValue.failed.value])
    return result


# Finals counted by value are lists in FINAL_VALUES order. A tally keeps each key's lists and sums them once,
# column by column, when its metrics are asked: a roll-up appends a few hundred lists instead of adding them.
_INDEX = {value: i for i, value in enumerate(FINAL_VALUES)}


def _total(counts: list | None) -> dict:
    """The lists of counts summed, by value."""
    return dict(zip(FINAL_VALUES, map(sum, zip(*counts)))) if counts else {}


class _Tally:
    """Counts of finals by value per key, all subjects and numeric subjects apart."""

    def __init__(self):
        self.all: dict = defaultdict(list)
        self.numeric: dict = defaultdict(list)
        self.pass_fail: set = set()  # keys with pass/fail finals

    def add(self, key, counts: list, pass_fail: bool) -> None:
        """Count finals of marked (pass_fail False) or зачёт/незачёт learning counted by value."""
        self.all[key].append(counts)
        if pass_fail:
            self.pass_fail.add(key)
        else:
            self.numeric[key].append(counts)

    def roll_into(self, upper: "_Tally", key_of) -> None:
        """Count every key's finals in the upper tally under key_of(key) (classes in grades, grades in the school)."""
        for mine, theirs in ((self.all, upper.all), (self.numeric, upper.numeric)):
            for key, counts in mine.items():
                theirs[key_of(key)].extend(counts)

    def metrics(self, key) -> dict:
        every, marked = self.all.get(key), self.numeric.get(key)
        counts = _total(every)
        only_marked = marked is not None and len(marked) == len(every)  # numeric keeps a part of all's lists
        return summarise(counts, counts if only_marked else _total(marked))


def _value(v) -> str:
    return v.value if isinstance(v, FinalValue) else str(v)


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

# A student's standing is set by their worst final: a failing one (2, незач, н/а), a 3, a 4, the rest
# (5, зач), only осв (not certified).
FAILING, THREE, FOUR, GOOD, EXEMPT_ONLY = range(5)
_RANK = {**{v: GOOD for v in FINAL_VALUES}, **{v.value: FAILING for v in FAILING_FINALS},
         FinalValue.three.value: THREE, FinalValue.four.value: FOUR, FinalValue.exempt.value: EXEMPT_ONLY}


def _standing(failing: set, three: set, four: set, good: set) -> dict:
    """A class's certified students (N), успевающие, качественные, отличники (SPEC §4) from the sets of its
    students with a final of each rank."""
    return {"n": len(failing | three | four | good), "successful": len((three | four | good) - failing),
            "quality": len((four | good) - failing - three), "excellent": len(good - failing - three - four)}


class _Results:
    """The tallies of the results statement: finals by school, grade, class, subject and teacher, and the
    students of each class (at the period's end, certified, успевающие, качественные, отличники)."""

    def __init__(self, f: Filters, classes: dict):
        self.school, self.grades, self.classes, self.subjects, self.teachers = (_Tally() for _ in range(5))
        self.people: dict[int, Counter] = defaultdict(Counter)
        self.rules: dict = {}
        self.subject_rows: dict[int, _Subject] = {}
        self.staff: dict[int, _Teacher] = {}
        self.modes: dict = {}
        cells: dict[tuple, list] = {}  # (class, subject), (teacher, class, subject) → counts by value
        ranked: dict[int, list[set]] = {}  # class → its students with a failing final, a 3, a 4, a 5 or зач
        finals: list[tuple] = []  # (class, subject, value, students) of each class × subject × value
        members: dict[int, list] = defaultdict(list)  # subject → (teacher, students) of groups, streams and plans
        class_teachers: dict[tuple[int, int], list[int]] = defaultdict(list)
        for part, key, class_id, subject_id, value, n, name, patronymic in _results_rows(f, classes):
            if part == FINALS:
                counts = cells.get((key, subject_id)) or cells.setdefault((key, subject_id), [0] * len(FINAL_VALUES))
                counts[_INDEX[value]] += n
                students = name.split(",")
                rank = _RANK[value]
                if rank != EXEMPT_ONLY:  # осв alone certifies no one
                    (ranked.get(key) or ranked.setdefault(key, [set(), set(), set(), set()]))[rank].update(students)
                finals.append((key, subject_id, value, students))
            elif part == MEMBERS:
                members[subject_id].append((key, set(name.split(","))))
            elif part == CLASS_TEACHER:
                class_teachers[class_id, subject_id].append(key)
            elif part == CONTINGENT:
                self.people[key]["students"] = n
            else:
                self.school_row(part, key, subject_id, value, n, name, patronymic)
        for class_id, by_rank in ranked.items():
            self.people[class_id].update(_standing(*by_rank))
        self.count_members(cells, finals, members, class_teachers)
        self.count(cells, classes, class_teachers)

    @staticmethod
    def count_members(cells: dict, finals: list, members: dict, class_teachers: dict) -> None:
        """Counts by value of each group, stream and plan teacher's (teacher, class, subject): their students among
        the class's finals of the subject, unless the teacher also teaches the subject to the class (its class ×
        subject counts have them)."""
        for class_id, subject_id, value, students in finals:
            teachers = members.get(subject_id)
            if teachers is None:
                continue
            taught = class_teachers.get((class_id, subject_id), ())
            for teacher_id, theirs in teachers:
                n = teacher_id not in taught and len(theirs.intersection(students))
                if n:
                    cell = teacher_id, class_id, subject_id
                    counts = cells.get(cell) or cells.setdefault(cell, [0] * len(FINAL_VALUES))
                    counts[_INDEX[value]] += n

    def school_row(self, part: int, key: int, subject_id: int | None, value: str, n: int, *names: str) -> None:
        """A subject, an assessment rule or a staff member of the school."""
        if part == SUBJECT:
            self.subject_rows[key] = _Subject(key, value, bool(n))
        elif part == RULE:
            self.rules[key, subject_id] = AssessmentMode(value)
        else:
            self.staff[key] = _Teacher(key, value, *names)

    def count(self, cells: dict, classes: dict, class_teachers: dict) -> None:
        """Add the class × subject counts to the class, subject and the class's teachers, the members' counts
        to their teachers; then the classes up to their grades and the grades up to the school."""
        for cell, counts in cells.items():
            if len(cell) == 3:
                teacher_id, class_id, subject_id = cell
                keys = ((self.teachers, teacher_id),)
            else:
                class_id, subject_id = cell
                keys = ((self.classes, class_id), (self.subjects, subject_id),
                        *((self.teachers, t) for t in class_teachers.get(cell, ())))
            pf = self.pass_fail(classes[class_id].grade, subject_id)
            if pf is None:  # unmarked learning: no finals to count
                continue
            for tally, key in keys:
                tally.add(key, counts, pf)
        self.classes.roll_into(self.grades, lambda class_id: classes[class_id].grade)
        self.grades.roll_into(self.school, lambda _grade: 0)

    def pass_fail(self, grade: int, subject_id: int) -> bool | None:
        """True for зачёт/незачёт learning, None for unmarked (no finals to count), else False."""
        if (grade, subject_id) not in self.modes:
            mode = mode_in(self.rules, grade, subject_id)
            self.modes[grade, subject_id] = (None if mode == AssessmentMode.unmarked
                                             else is_pass_fail(self.subject_rows[subject_id], mode))
        return self.modes[grade, subject_id]

    def student_metrics(self, class_ids) -> dict:
        return _student_metrics([self.people[c] for c in class_ids if c in self.people])


def results(f: Filters) -> dict:
    """Results of the period for the school, each grade, class, subject and teacher."""
    school = f.period.school_id
    classes = {row.id: _Class(*row) for row in db.session.execute(
        select(ClassUnit.id, ClassUnit.grade, ClassUnit.letter, ClassUnit.period_kind).where(
            ClassUnit.school_id == school, *result_class_conditions(f)))}
    r = _Results(f, classes)
    subjects, teachers = r.subject_rows, [r.staff[t] for t in r.teachers.all]
    ordered = sorted(classes.values(), key=lambda c: (c.grade, c.letter))
    return {
        "period": period_info(f.period), "filters": f.as_dict(),
        "school": {**r.school.metrics(0), **r.student_metrics(classes)},
        "grades": [{"grade": g, **r.grades.metrics(g), **r.student_metrics([c.id for c in ordered if c.grade == g])}
                   for g in sorted({c.grade for c in ordered})],
        "classes": [{"class_id": c.id, "name": c.name, "grade": c.grade, **r.classes.metrics(c.id),
                     **r.student_metrics([c.id])} for c in ordered],
        "subjects": [{"subject_id": s.id, "name": s.name, "pass_fail": s.id in r.subjects.pass_fail,
                      **r.subjects.metrics(s.id)}
                     for s in sorted(subjects.values(), key=lambda s: s.name) if s.id in r.subjects.all],
        "teachers": [{"teacher_id": p.id, "name": p.short_name, **r.teachers.metrics(p.id)}
                     for p in sorted(teachers, key=lambda p: (p.surname, p.name, p.id))],
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
