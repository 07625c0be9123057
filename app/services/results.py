"""Results: the one weighted average and proposed final, used by the journal, finals, forecast,
extracts and statistics alike (SPEC §4).

The average is kept to two decimals by truncation, never rounded up: with thresholds of two
decimals (4.60 / 3.60 / 2.60) the shown average crosses a threshold exactly when the exact one
does, so a teacher never sees 3.60 next to a proposed 3 (3.595 shows as 3.59).
"""
import datetime as dt
import math
from collections.abc import Iterable
from fractions import Fraction

from flask import current_app, has_app_context
from sqlalchemy import Date, any_, bindparam, func, literal_column, select

from app.extensions import db
from app.models import FinalValue, Lesson, LessonStatus, Mark, ReportingPeriod, TeachingAssignment, WorkType

DEFAULT_THRESHOLDS = (4.60, 3.60, 2.60)


def average_of(total: int, weights: int) -> float | None:
    """Σ(value·weight)/Σ(weight) truncated to two decimals; None without marks."""
    if not weights:
        return None
    return math.floor(Fraction(total, weights) * 100) / 100


def weighted_average(marks: Iterable[tuple[int, int]]) -> float | None:
    """The weighted average of (value, weight) pairs."""
    total = weights = 0
    for value, weight in marks:
        total += value * weight
        weights += weight
    return average_of(total, weights)


def thresholds() -> tuple[float, float, float]:
    """The 5/4/3 thresholds from settings."""
    if has_app_context():
        return tuple(current_app.config.get("FINAL_THRESHOLDS", DEFAULT_THRESHOLDS))
    return DEFAULT_THRESHOLDS


def min_marks() -> int:
    """`MIN_MARKS_FOR_FINAL`: fewer marks give no proposal."""
    return current_app.config.get("MIN_MARKS_FOR_FINAL", 3) if has_app_context() else 3


def truncated(value: float) -> float:
    """A computed (float) average kept to two decimals the same way (float noise first rounded off)."""
    return math.floor(round(value * 100, 6)) / 100


def grade_for(average: float | None) -> int | None:
    """The grade the thresholds give an average: 5 if ≥ 4.60, 4 if ≥ 3.60, 3 if ≥ 2.60, else 2."""
    if average is None:
        return None
    five, four, three = thresholds()
    return 5 if average >= five else 4 if average >= four else 3 if average >= three else 2


def proposed_final(average: float | None, marks_count: int, minimum: int | None = None) -> int | None:
    """The grade for the average; None with fewer marks than `MIN_MARKS_FOR_FINAL`."""
    if average is None or marks_count < (min_marks() if minimum is None else minimum):
        return None
    return grade_for(average)


def period_marks(period: ReportingPeriod, *, student_ids=None, subject_id: int | None = None,
                 up_to: dt.date | None = None) -> dict[tuple[int, int], tuple[float | None, int]]:
    """(student, subject) → (weighted average, marks count) over the period's held and planned
    lessons (cancelled excluded), optionally only up to a day; one aggregate query."""
    start, end = period.start, min(period.end, up_to or period.end)
    counted = _counted(start, end)
    if subject_id is None:
        query = (select(Mark.student_id, TeachingAssignment.subject_id, *SUMS)
                 .join(WorkType, WorkType.id == Mark.work_type_id).join(Lesson, Lesson.id == Mark.lesson_id)
                 .join(TeachingAssignment, TeachingAssignment.id == Lesson.assignment_id)
                 .where(Lesson.school_id == period.school_id, *counted)
                 .group_by(Mark.student_id, TeachingAssignment.subject_id))
    else:
        query = _subject_marks(period.school_id, subject_id, _counted(_written(start), _written(end)))
    if student_ids is not None:
        query = query.where(Mark.student_id.in_(student_ids))
    return {(student, subject): (average_of(int(total), int(weights)), count)
            for student, subject, total, weights, count in db.session.execute(query)}


SUMS = (func.sum(Mark.value * WorkType.weight), func.sum(WorkType.weight), func.count(Mark.id))


def _counted(start, end) -> tuple:
    """Conditions on Lesson: its marks count for the days from start to end (dates or columns)."""
    return Lesson.status != LessonStatus.cancelled, Lesson.date.between(start, end)


def _written(day: dt.date):
    """A day written into the SQL text, not bound: psycopg prepares a statement run five times and PostgreSQL
    then keeps a generic plan that, not knowing the period's dates, took every mark of the students first
    (a subject's average: 9 ms of the database's CPU instead of 2 on the school demo)."""
    return bindparam(None, day, type_=Date, literal_execute=True)


def _subject_marks(school_id: int, subject_id: int, counted: tuple):
    """Select (student, subject, sums) of the school's subject's counted lessons (by assignment and date: a
    list the marks are checked against), whichever journal holds them."""
    taught = select(TeachingAssignment.id).where(TeachingAssignment.subject_id == subject_id,
                                                 TeachingAssignment.school_id == school_id)
    if db.session.get_bind().dialect.name == "postgresql":  # = ANY(ARRAY(…)): the planner takes the lessons by
        # (assignment, date) from uq_lesson_slot instead of a sequential scan of every lesson of the period's
        # dates that IN (…) chose (the grid page's slowest statement: 21 → 5 ms on the school demo)
        taught = any_(func.ARRAY(taught.scalar_subquery()))
        lessons = select(Lesson.id).where(Lesson.assignment_id == taught, *counted)
    else:
        lessons = select(Lesson.id).where(Lesson.assignment_id.in_(taught), *counted)
    return (select(Mark.student_id, literal_column(str(int(subject_id))), *SUMS)
            .join(WorkType, WorkType.id == Mark.work_type_id)
            .where(Mark.lesson_id.in_(lessons)).group_by(Mark.student_id))


def student_average_in(period_id: int, school_id: int, student_id: int, subject_id: int) -> float | None:
    """The student's one average (student_averages) in a period of the school known by its id only: its dates
    are read in the same statement (a cell save answers with it and needs nothing else of the period)."""
    period = select(ReportingPeriod.start, ReportingPeriod.end).where(
        ReportingPeriod.id == period_id, ReportingPeriod.school_id == school_id).subquery()
    query = (_subject_marks(school_id, subject_id, _counted(period.c.start, period.c.end))
             .where(Mark.student_id == student_id))
    row = db.session.execute(query).first()
    return average_of(int(row[2]), int(row[3])) if row else None


def student_averages(period: ReportingPeriod, student_ids, subject_id: int) -> dict[int, float | None]:
    """student → their one average in the subject and period (SPEC §4: every journal of the subject,
    class, group, stream or plan, counts), as the journal grid and its cell saves show it."""
    marks = period_marks(period, student_ids=student_ids, subject_id=subject_id)
    return {student: average for (student, _subject), (average, _count) in marks.items()}


def _percent(part: int, whole: int) -> float:
    return round(part * 100 / whole, 2)


def metrics(values: Iterable, pass_fail: bool = False) -> dict:
    """Metrics of one class × subject × period (SPEC §4) from the finals of the students in the
    class at the period's end; None items (no final, e.g. deferred) leave N, as осв does.

    N = students − осв − without a final (н/а stays in N); успеваемость = (n5+n4+n3+n_зач)/N·100;
    качество = (n5+n4)/N·100; СОУ = (100·n5+64·n4+36·n3+16·n2+7·n_н/а)/N (both None for pass/fail learning);
    average of the numeric finals; percentages rounded to 2 decimals; N = 0 gives None.
    """
    counts = {v.value: 0 for v in FinalValue}
    for value in values:
        if value is not None:
            counts[FinalValue(value).value] += 1
    return metrics_of_counts(counts, pass_fail)


FINAL_VALUES = tuple(v.value for v in FinalValue)  # iterating the enum costs more than the sums below


def metrics_of_counts(counts: dict[str, int], pass_fail: bool = False) -> dict:
    """`metrics` from finals already counted by value (e.g. by a GROUP BY): {"5": n5, …, "осв": n}."""
    counts = {v: int(counts.get(v, 0)) for v in FINAL_VALUES}
    n5, n4, n3, n2 = (counts[k] for k in ("5", "4", "3", "2"))
    n = sum(counts.values()) - counts["осв"]
    numbers = n5 * 5 + n4 * 4 + n3 * 3 + n2 * 2
    graded = n5 + n4 + n3 + n2
    return {
        "n": n, "counts": counts,
        "success": _percent(n5 + n4 + n3 + counts["зач"], n) if n else None,
        "quality": None if pass_fail or not n else _percent(n5 + n4, n),
        "sou": None if pass_fail or not n
        else round((100 * n5 + 64 * n4 + 36 * n3 + 16 * n2 + 7 * counts["н/а"]) / n, 2),
        "average": round(numbers / graded, 2) if graded else None,
    }


FAILING_FINALS = (FinalValue.two, FinalValue.failed, FinalValue.not_certified)


def student_standing(counts: dict[str, int]) -> tuple[bool, bool, bool]:
    """(certified, успевающий, качественный) of a student from their finals counted by value (SPEC §4):
    certified with any final but осв; успевающий with no 2, незач or н/а; качественный also without a 3
    (every numeric final ≥ 4). The statistics' SQL counts the same with FAILING_FINALS."""
    certified = any(n for value, n in counts.items() if value != FinalValue.exempt.value)
    successful = certified and not any(counts.get(v.value) for v in FAILING_FINALS)
    return certified, successful, successful and not counts.get(FinalValue.three.value)
