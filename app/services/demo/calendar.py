"""The demo school's calendar: the academic year around `today`, its periods, holidays and bells."""
import datetime as dt

from app.models import AcademicYear, BellSlot, Holiday, PeriodKind, ReportingPeriod, School


def year_start_for(today: dt.date) -> int:
    """The calendar year in which the academic year containing `today` began."""
    return today.year if today.month >= 9 else today.year - 1


def build_calendar(school: School, today: dt.date) -> tuple[AcademicYear, list[ReportingPeriod], list[Holiday]]:
    """A year of quarters, trimesters, half-years and the year, with the usual holidays."""
    y = year_start_for(today)

    def d(month: int, day: int) -> dt.date:
        return dt.date(y if month >= 9 else y + 1, month, day)

    year = AcademicYear(school=school, name=f"{y}/{y + 1}", start=d(9, 1), end=d(8, 31))
    spans = {
        PeriodKind.quarter: [(d(9, 1), d(10, 25)), (d(11, 3), d(12, 28)), (d(1, 12), d(3, 21)), (d(3, 30), d(5, 26))],
        PeriodKind.trimester: [(d(9, 1), d(11, 30)), (d(12, 1), d(2, 28)), (d(3, 1), d(5, 26))],
        PeriodKind.half_year: [(d(9, 1), d(12, 28)), (d(1, 12), d(5, 26))],
        PeriodKind.year: [(d(9, 1), d(5, 26))],
    }
    periods = [
        ReportingPeriod(school=school, year=year, kind=kind, number=n, start=s, end=e)
        for kind, dates in spans.items() for n, (s, e) in enumerate(dates, start=1)
    ]
    holidays = [
        Holiday(school=school, year=year, name="Осенние каникулы", start=d(10, 26), end=d(11, 2)),
        Holiday(school=school, year=year, name="Зимние каникулы", start=d(12, 29), end=d(1, 11)),
        Holiday(school=school, year=year, name="Дополнительные каникулы для 1 классов",
                start=d(2, 16), end=d(2, 22), grade=1),
        Holiday(school=school, year=year, name="Весенние каникулы", start=d(3, 22), end=d(3, 29)),
        Holiday(school=school, year=year, name="Праздник весны и труда", start=d(5, 1), end=d(5, 3)),
        Holiday(school=school, year=year, name="День Победы", start=d(5, 9), end=d(5, 11)),
        Holiday(school=school, year=year, name="Летние каникулы", start=d(5, 27), end=d(8, 31)),
    ]
    return year, periods, holidays


def build_bells(school: School) -> list[BellSlot]:
    """Seven 45-minute lessons from 8:30 with 10- and 20-minute breaks."""
    breaks = [10, 20, 20, 10, 10, 10, 10]
    slots, start = [], dt.datetime(2000, 1, 1, 8, 30)
    for number, pause in enumerate(breaks, start=1):
        end = start + dt.timedelta(minutes=45)
        slots.append(BellSlot(school=school, number=number, start_time=f"{start:%H:%M}", end_time=f"{end:%H:%M}"))
        start = end + dt.timedelta(minutes=pause)
    return slots
