"""The study calendar: the current year and period, which days are study days for a grade, and what
that makes of hours."""
import datetime as dt
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import ColumnElement, and_, or_, select

from app.extensions import db
from app.models import AcademicYear, ClassUnit, Holiday, PeriodKind, ReportingPeriod


def study_days(
    start: dt.date, end: dt.date, grade: int, holidays: Iterable[Holiday], days_per_week: int = 5
) -> list[dt.date]:
    """Days from start to end that are weekdays of the school week and not a holiday of the grade."""
    free: set[dt.date] = set()
    for h in holidays:
        if h.applies_to(grade):
            free.update(h.start + dt.timedelta(d) for d in range((h.end - h.start).days + 1))
    days, day = [], start
    while day <= end:
        if day.weekday() < days_per_week and day not in free:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def holiday_on(year_id: int, grade: int | None, day: dt.date) -> Holiday | None:
    """The holiday that frees the grade (any grade when None) on that day, if any."""
    query = select(Holiday).where(Holiday.year_id == year_id, Holiday.start <= day, Holiday.end >= day)
    if grade is not None:  # a holiday of another grade must not hide the one of this grade
        query = query.where(or_(Holiday.grade.is_(None), Holiday.grade == grade))
    return db.session.scalar(query.order_by(Holiday.start, Holiday.id).limit(1))


def holidays_of_year(year_id: int) -> list[Holiday]:
    """All holidays of an academic year, school-wide and per grade."""
    return list(db.session.scalars(select(Holiday).where(Holiday.year_id == year_id)))


def planned_hours(weekly_hours: float, days: int, days_per_week: int = 5) -> int:
    """Hours a weekly load yields over a number of study days, rounded to whole lessons (half up:
    2.5 hours plan 3 lessons, as a school counts, not Python's round-half-to-even)."""
    hours = Decimal(str(weekly_hours)) * days / days_per_week
    return int(hours.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def year_holds(day: dt.date) -> ColumnElement[bool]:
    """SQL condition: the academic year (joined as AcademicYear) holds the day."""
    return and_(AcademicYear.start <= day, AcademicYear.end >= day)


def current_year(school_id: int, today: dt.date) -> AcademicYear | None:
    """The school's academic year holding today; None between years (the summer)."""
    return db.session.scalar(select(AcademicYear).where(AcademicYear.school_id == school_id, year_holds(today)))


def current_period(periods: Iterable[ReportingPeriod], today: dt.date) -> ReportingPeriod | None:
    """Of one scheme's periods (quarters or half-years), the current one: the period holding today;
    before the first, the first; in the holidays after a period, that period while it is open (its
    marks and finals are still being completed) and the next once the administration has closed it;
    after the last, the last."""
    own = sorted(periods, key=lambda p: p.start)
    begun = [p for p in own if p.start <= today]
    if not begun:
        return own[0] if own else None
    last = begun[-1]
    if today <= last.end or not last.closed or len(begun) == len(own):
        return last
    return own[len(begun)]


def scheme_periods(year_id: int, kind: PeriodKind) -> list[ReportingPeriod]:
    """The year's periods of one scheme, in order."""
    return list(db.session.scalars(select(ReportingPeriod).where(
        ReportingPeriod.year_id == year_id, ReportingPeriod.kind == kind).order_by(ReportingPeriod.start)))


def class_period(year_id: int, cls: ClassUnit | None, today: dt.date) -> ReportingPeriod | None:
    """The current period of the class's scheme in the year (quarters without a class, e.g. a stream)."""
    return current_period(scheme_periods(year_id, cls.period_kind if cls is not None else PeriodKind.quarter), today)
