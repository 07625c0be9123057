"""A world whose year 2026/2027 is complete (year finals of everyone) and ready for the next year:
5А (promoted, conditional with two debts, retained with three), 5Б (promoted, one who left in December),
9А (graduated and going on to 10А, retained with a debt) and 11А (graduated, leaving); a Russian group,
a timetable entry and a curriculum row to be copied."""
import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditEvent,
    CurriculumItem,
    FinalGrade,
    FinalStatus,
    FinalValue,
    PeriodKind,
    ReportingPeriod,
    StudyGroup,
    TimetableEntry,
)
from tests import factories
from tests.journal_helpers import bell_slot, math_of

YEAR_END = dt.date(2027, 5, 26)
WATCHED = ("academic_year", "reporting_period", "holiday", "class_unit", "enrolment", "student", "study_group",
           "study_group_student", "stream", "individual_plan", "teaching_assignment", "curriculum_item",
           "timetable_entry", "final_grade", "promotion_decision", "lesson", "mark", "audit_event")


@dataclass
class Ready:
    """The year period, the extra rows and the students by surname."""

    period: ReportingPeriod
    group: StudyGroup
    entry: TimetableEntry
    curriculum: CurriculumItem


def snapshot() -> dict[str, int]:
    """Row counts of the tables a half-done build would touch."""
    from app.models import Model

    tables = {t.name: t for t in Model.metadata.sorted_tables}
    return {name: db.session.scalar(select(func.count()).select_from(tables[name])) for name in WATCHED}


def _final(student, subject, period, value: str) -> FinalGrade:
    return FinalGrade(school_id=student.school_id, student=student, subject=subject, period=period,
                      value=FinalValue(value), status=FinalStatus.final, result_date=YEAR_END)


@pytest.fixture
def ready(app, world) -> Ready:
    """The world's year made complete (see the module's docstring)."""
    a, year = world.school_a, world.year_a
    period = ReportingPeriod(school=a, year=year, kind=PeriodKind.year, number=1, start=year.start, end=YEAR_END)
    db.session.add(period)
    russian = factories.subject(a, "Русский язык")
    pe = factories.subject(a, "Физическая культура")
    pe.pass_fail = True
    world.subjects.update(russian=russian, pe=pe)
    teacher, a5 = world.staff["teacher"], world.classes["5А"]
    for grade, letter in ((9, "А"), (11, "А")):
        world.classes[f"{grade}{letter}"] = cls = factories.class_unit(year, grade, letter)
        factories.assign(teacher, world.subjects["math"], cls)
    for name, cls in (("Зуев", "5А"), ("Ильин", "5Б"), ("Гусев", "9А"), ("Дронов", "9А"), ("Егоров", "11А")):
        world.students[name] = factories.student(world.classes[cls], name)
    leaver = world.students["Ильин"]
    leaver.enrolments[0].end = leaver.left_on = dt.date(2026, 12, 1)
    leaver.class_unit = None
    s = world.students
    group = StudyGroup(school=a, class_unit=a5, name="1 группа", subject=russian,
                       students=[s["Алексеев"], s["Борисов"], s["Зуев"]])
    db.session.add(group)
    factories.assign(world.staff["teacher_b"], russian, group, hours=4)
    factories.assign(teacher, pe, a5, hours=2)
    db.session.flush()
    entry = TimetableEntry(school=a, assignment=math_of(world), weekday=0, bell_slot=bell_slot(world), room="12",
                           valid_from=year.start, valid_to=YEAR_END)
    q1 = db.session.scalar(select(ReportingPeriod).where(ReportingPeriod.year_id == year.id,
                                                         ReportingPeriod.kind == PeriodKind.quarter,
                                                         ReportingPeriod.number == 1))
    curriculum = CurriculumItem(school=a, class_unit=a5, subject=world.subjects["math"], period=q1, weekly_hours=3,
                                planned_hours=23)
    db.session.add_all([entry, curriculum])
    math = world.subjects["math"]
    finals = {"Алексеев": {math: "5", russian: "4", pe: "зач"}, "Борисов": {math: "2", russian: "н/а", pe: "зач"},
              "Зуев": {math: "2", russian: "2", pe: "незач"}, "Васильев": {math: "3"}, "Гусев": {math: "4"},
              "Дронов": {math: "2"}, "Егоров": {math: "5"}}
    db.session.add_all(_final(s[name], subj, period, value) for name, row in finals.items()
                       for subj, value in row.items())
    db.session.flush()
    q1.closed = True  # as at the end of a real year: the new year's groups must not touch it
    db.session.flush()
    db.session.execute(AuditEvent.__table__.delete())
    db.session.commit()
    return Ready(period, group, entry, curriculum)
