"""Issue 18 p.1: planned hours come from the timetable's actual days in each period (not weekly hours ×
study days / 5, which gave false shortfalls), and stream and individual-plan lessons count in the
curriculum fulfilment.

Hand counts on the factories' calendar: Q1 is 1.09–25.10.2026 (39 weekdays), Q2 3.11–28.12.2026 (40).
Mondays of Q1: 7, 14, 21, 28.09, 5, 12, 19.10 (7); Wednesdays of September: 2, 9, 16, 23, 30 (5);
Tuesdays of Q1: 1, 8, 15, 22, 29.09, 6, 13, 20.10 (8); Thursdays of Q1: 3, 10, 17, 24.09, 1, 8, 15, 22.10 (8);
Fridays up to 11.09: 4, 11.09 (2); Mondays of Q2: 9, 16, 23, 30.11, 7, 14, 21, 28.12 (8)."""
import datetime as dt

from sqlalchemy import select

from app.extensions import db
from app.models import (
    CurriculumItem,
    IndividualPlan,
    Lesson,
    LessonStatus,
    Stream,
    StudyGroup,
    Subject,
    TimetableEntry,
)
from app.services.curriculum import fill_curriculum
from app.services.fulfilment import curriculum, curriculum_totals
from app.services.stats import Filters
from tests.factories import assign
from tests.journal_helpers import bell_slot, math_of, message, period_of, staff_of

MON, TUE, WED, THU, FRI = range(5)


def _entry(world, assignment, weekday: int, slot: int, valid_to: dt.date | None = None) -> None:
    db.session.add(TimetableEntry(school_id=assignment.school_id, assignment=assignment, weekday=weekday,
                                  bell_slot=bell_slot(world, slot), room=f"{weekday}{slot}",
                                  valid_from=assignment.year.start, valid_to=valid_to or assignment.year.end))


def planned(world, cls: str, subject: Subject, number: int) -> int:
    period = period_of(world.year_a, number)
    return db.session.scalar(select(CurriculumItem.planned_hours).where(
        CurriculumItem.class_unit_id == world.classes[cls].id, CurriculumItem.subject_id == subject.id,
        CurriculumItem.period_id == period.id))


def test_planned_hours_are_the_timetable_lessons_on_the_periods_study_days(world):
    math = world.subjects["math"]
    math_a = math_of(world, "5А")
    _entry(world, math_a, MON, 1)
    _entry(world, math_a, WED, 2, valid_to=dt.date(2026, 9, 30))
    english = Subject(school=world.school_a, name="Английский язык")
    first, second = (StudyGroup(school=world.school_a, class_unit=world.classes["5А"], name=f"{n} группа")
                     for n in (1, 2))
    g1 = assign(staff_of("teacher"), english, first, 1)
    g2 = assign(staff_of("teacher_b"), english, second, 2)
    _entry(world, g1, TUE, 3)
    _entry(world, g2, THU, 3)
    _entry(world, g2, FRI, 3, valid_to=dt.date(2026, 9, 11))
    db.session.commit()
    fill_curriculum(world.classes["5А"])
    fill_curriculum(world.classes["5Б"])
    db.session.commit()
    assert planned(world, "5А", math, 1) == 7 + 5  # not 3 weekly hours × 39 / 5 = 23
    assert planned(world, "5А", math, 2) == 8
    assert planned(world, "5А", english, 1) == max(8, 8 + 2)  # parallel groups: one group's lessons
    assert planned(world, "5Б", math, 1) == 23  # no timetable: weekly hours × study days / 5
    assert planned(world, "5Б", math, 2) == 24


def test_stream_and_plan_lessons_count_in_the_fulfilment(world):
    math = world.subjects["math"]
    alekseev, vasiliev = world.students["Алексеев"], world.students["Васильев"]
    stream = Stream(school=world.school_a, year=world.year_a, name="Практикум", students=[alekseev])
    plan = IndividualPlan(school=world.school_a, year=world.year_a, student=vasiliev, subject=math)
    elective = assign(staff_of("classteacher"), math, stream, 1)
    at_home = assign(staff_of("classteacher"), math, plan, 1)
    for assignment, days in ((elective, (8, 15)), (at_home, (9,))):
        db.session.add_all(Lesson(school_id=world.school_a.id, assignment=assignment, date=dt.date(2026, 9, d),
                                  bell_slot=bell_slot(world, 5), teacher_id=assignment.teacher_id,
                                  status=LessonStatus.held) for d in days)
    db.session.add(Lesson(school_id=world.school_a.id, assignment=math_of(world, "5А"), date=dt.date(2026, 9, 7),
                          bell_slot=bell_slot(world, 1), teacher_id=staff_of("teacher").id, status=LessonStatus.held))
    db.session.add(CurriculumItem(school_id=world.school_a.id, class_unit_id=world.classes["5А"].id,
                                  subject_id=math.id, period_id=period_of(world.year_a, 1).id, weekly_hours=1,
                                  planned_hours=2))
    db.session.commit()
    rows = curriculum(Filters(period=period_of(world.year_a, 1)))
    got = {(r["class"], r["group"]): (r["planned"], r["held"], r["percent"]) for r in rows}
    assert got == {
        ("5А", ""): (2, 1, 50.0),
        ("5А", message("stream «%(name)s»", name="Практикум")): (None, 2, None),
        ("5Б", message("individual plan: %(student)s", student=vasiliev.short_name)): (None, 1, None),
    }
    totals = {t["class"]: (t["planned"], t["held"], t["percent"]) for t in curriculum_totals(rows, "class")}
    assert totals == {"5А": (2, 3, 50.0), "5Б": (0, 1, None)}  # held counts all; % only against the plan
