"""Учебный план: planned hours of each class × subject × period from the timetable's actual days in the
period (a subject without timetable entries: from its weekly hours and the calendar)."""
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.models import ClassUnit, CurriculumItem, ReportingPeriod, StudyGroup, TeachingAssignment, TimetableEntry
from app.services.calendar import holidays_of_year, planned_hours, study_days


def weekly_hours_by_subject(class_unit: ClassUnit) -> dict[int, Decimal]:
    """Weekly hours per subject: the class's own lessons plus, for parallel subgroups, one group's."""
    hours: dict[int, Decimal] = defaultdict(Decimal)
    group_hours: dict[int, Decimal] = defaultdict(Decimal)
    rows = db.session.execute(
        select(TeachingAssignment.subject_id, TeachingAssignment.weekly_hours, TeachingAssignment.group_id)
        .outerjoin(StudyGroup, StudyGroup.id == TeachingAssignment.group_id)
        .where(
            (TeachingAssignment.class_unit_id == class_unit.id)
            | (StudyGroup.class_unit_id == class_unit.id)
        )
    ).all()
    for subject_id, weekly, group_id in rows:
        if group_id is None:
            hours[subject_id] += Decimal(weekly)
        else:
            group_hours[subject_id] = max(group_hours[subject_id], Decimal(weekly))
    for subject_id, weekly in group_hours.items():
        hours[subject_id] += weekly
    return dict(hours)


def timetable_hours(class_unit: ClassUnit, days: list[dt.date]) -> dict[int, int]:
    """Lessons the timetable gives each subject of the class on these study days: every entry's weekday
    counted inside its validity; for parallel subgroups, one group's (the larger count). Subjects with
    entries in the year are all keys, even with no lesson on these days."""
    rows = db.session.execute(
        select(TimetableEntry.weekday, TimetableEntry.valid_from, TimetableEntry.valid_to,
               TeachingAssignment.subject_id, TeachingAssignment.group_id)
        .join(TeachingAssignment, TeachingAssignment.id == TimetableEntry.assignment_id)
        .outerjoin(StudyGroup, StudyGroup.id == TeachingAssignment.group_id)
        .where((TeachingAssignment.class_unit_id == class_unit.id) | (StudyGroup.class_unit_id == class_unit.id))
    ).all()
    hours: dict[int, int] = defaultdict(int)
    per_group: dict[tuple[int, int], int] = defaultdict(int)
    for weekday, start, end, subject_id, group_id in rows:
        n = sum(1 for day in days if day.weekday() == weekday and start <= day <= end)
        hours.setdefault(subject_id, 0)
        if group_id is None:
            hours[subject_id] += n
        else:
            per_group[(subject_id, group_id)] += n
    best: dict[int, int] = defaultdict(int)
    for (subject_id, _group), n in per_group.items():
        best[subject_id] = max(best[subject_id], n)
    for subject_id, n in best.items():
        hours[subject_id] += n
    return dict(hours)


def fill_curriculum(class_unit: ClassUnit) -> list[CurriculumItem]:
    """Create or refresh the class's curriculum for every open period of its scheme (a closed period's
    plan is frozen with it): planned hours are the timetable's lessons on the period's study days, so a
    fulfilment report compares like with like; returns the items."""
    periods = db.session.scalars(
        select(ReportingPeriod).where(
            ReportingPeriod.year_id == class_unit.year_id, ReportingPeriod.kind == class_unit.period_kind,
            ReportingPeriod.closed.is_(False),
        )
    ).all()
    holidays = holidays_of_year(class_unit.year_id)
    per_week = class_unit.school.study_days_per_week
    existing = {
        (i.subject_id, i.period_id): i
        for i in db.session.scalars(select(CurriculumItem).where(CurriculumItem.class_unit_id == class_unit.id))
    }
    # Once per period, before any item is added (a query then would autoflush the items one by one).
    days_of = {p.id: study_days(p.start, p.end, class_unit.grade, holidays, per_week) for p in periods}
    scheduled = {p.id: timetable_hours(class_unit, days_of[p.id]) for p in periods}
    items = []
    for subject_id, weekly in weekly_hours_by_subject(class_unit).items():
        for period in periods:
            days, timetable = days_of[period.id], scheduled[period.id]
            item = existing.get((subject_id, period.id)) or CurriculumItem(
                school_id=class_unit.school_id, class_unit_id=class_unit.id,
                subject_id=subject_id, period_id=period.id,
            )
            item.weekly_hours = weekly
            item.planned_hours = (timetable[subject_id] if subject_id in timetable
                                  else planned_hours(weekly, len(days), per_week))
            db.session.add(item)
            items.append(item)
    db.session.flush()
    return items
