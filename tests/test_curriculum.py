"""The study calendar and the curriculum helper (app/services/calendar.py, app/services/curriculum.py).

Expected day counts are counted by hand from the calendar of 2026/27 (the factories' quarters):
Q1 1.09–25.10.2026 has 39 weekdays, Q2 3.11–28.12.2026 40, Q3 12.01–21.03.2027 49, Q4
30.03–26.05.2027 42; the autumn holidays 26.10–2.11 fall between Q1 and Q2.
"""
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import CurriculumItem, Holiday, PeriodKind, ReportingPeriod, StudyGroup, TeachingAssignment
from app.services.calendar import planned_hours, study_days
from app.services.curriculum import fill_curriculum, weekly_hours_by_subject
from tests import factories
from tests.journal_helpers import statements

D = dt.date
WEEK = (D(2026, 9, 7), D(2026, 9, 13))  # Monday to Sunday


# ---------------------------------------------------------------- study days (no database needed)


def test_study_days_of_a_five_day_week_skip_the_weekend():
    assert study_days(*WEEK, grade=5, holidays=[]) == [D(2026, 9, d) for d in range(7, 12)]


def test_study_days_of_a_six_day_week_keep_saturday():
    assert study_days(*WEEK, grade=5, holidays=[], days_per_week=6) == [D(2026, 9, d) for d in range(7, 13)]


def test_study_days_skip_school_wide_holidays_for_every_grade():
    holiday = Holiday(name="День города", start=D(2026, 9, 9), end=D(2026, 9, 10), grade=None)
    for grade in (1, 5, 11):
        assert study_days(*WEEK, grade=grade, holidays=[holiday]) == [D(2026, 9, 7), D(2026, 9, 8), D(2026, 9, 11)]


def test_grade_holidays_free_only_their_grade():
    """The extra February week of first graders (Mon 15 – Sun 21 February 2027)."""
    first_graders = Holiday(name="Доп. каникулы", start=D(2027, 2, 15), end=D(2027, 2, 21), grade=1)
    span = (D(2027, 2, 15), D(2027, 2, 26))
    assert study_days(*span, grade=1, holidays=[first_graders]) == [D(2027, 2, d) for d in range(22, 27)]
    assert len(study_days(*span, grade=2, holidays=[first_graders])) == 10


def test_study_days_of_a_quarter_with_holidays_inside():
    holidays = [
        Holiday(name="a", start=D(2026, 12, 1), end=D(2026, 12, 4), grade=5),  # Tue–Fri: 4 days for 5th
        Holiday(name="b", start=D(2026, 12, 19), end=D(2026, 12, 20)),  # a weekend: changes nothing
        Holiday(name="c", start=D(2026, 12, 7), end=D(2026, 12, 7), grade=6),  # another grade
    ]
    assert len(study_days(D(2026, 11, 3), D(2026, 12, 28), 5, holidays)) == 40 - 4
    assert len(study_days(D(2026, 11, 3), D(2026, 12, 28), 6, holidays)) == 40 - 1
    assert study_days(D(2026, 12, 1), D(2026, 12, 4), 5, holidays) == []


def test_study_days_of_an_empty_span():
    assert study_days(D(2026, 9, 12), D(2026, 9, 13), 5, []) == []  # a weekend
    assert study_days(D(2026, 9, 10), D(2026, 9, 9), 5, []) == []  # end before start


# ---------------------------------------------------------------- planned hours


@pytest.mark.parametrize("weekly, days, per_week, expected", [
    (3, 39, 5, 23),  # 23.4
    (3, 36, 5, 22),  # 21.6
    (2, 36, 5, 14),  # 14.4
    (Decimal("1.5"), 49, 5, 15),  # 14.7
    (2.5, 5, 5, 3),  # exactly half: half up, not to even
    (0.5, 25, 5, 3),  # 2.5 → 3
    (Decimal("1.5"), 15, 5, 5),  # 4.5 → 5
    (1.5, 5, 5, 2),  # 1.5 → 2
    (5, 33, 6, 28),  # six-day week: 27.5 → 28
    (6, 33, 6, 33),
    (1, 0, 5, 0),
])
def test_planned_hours_are_rounded_to_whole_lessons(weekly, days, per_week, expected):
    result = planned_hours(weekly, days, per_week)
    assert result == expected
    assert isinstance(result, int)


# ---------------------------------------------------------------- filling the curriculum


@pytest.fixture
def school_plan(world):
    """5А: mathematics 3 h to the class (from the world), English 2 h in two parallel subgroups;
    5Б has its own groups and hours; a holiday of grade 5 in Q2, a school-wide one in Q3, one of
    grade 6 in Q3; trimesters exist in the year too (5А follows quarters)."""
    a, ya = world.school_a, world.year_a
    english = factories.subject(a, "Английский язык")
    for cls in ("5А", "5Б"):
        for n, teacher in ((1, "teacher"), (2, "teacher_b")):
            group = StudyGroup(school=a, class_unit=world.classes[cls], name=f"{n} группа", subject=english)
            db.session.add(group)
            factories.assign(world.staff[teacher], english, group, hours=2 if cls == "5А" else 4)
    factories.assign(world.staff["teacher_b"], world.subjects["math"], world.classes["5Б"], hours=1)
    db.session.add_all([
        Holiday(school=a, year=ya, name="Карантин 5", start=D(2026, 12, 1), end=D(2026, 12, 4), grade=5),
        Holiday(school=a, year=ya, name="Зимние доп.", start=D(2027, 2, 22), end=D(2027, 2, 24)),
        Holiday(school=a, year=ya, name="Карантин 6", start=D(2027, 2, 15), end=D(2027, 2, 19), grade=6),
    ])
    for n, (s, e) in enumerate([(D(2026, 9, 1), D(2026, 11, 30)), (D(2026, 12, 1), D(2027, 2, 28)),
                                (D(2027, 3, 1), D(2027, 5, 26))], start=1):
        db.session.add(ReportingPeriod(school=a, year=ya, kind=PeriodKind.trimester, number=n, start=s, end=e))
    db.session.commit()
    return {"english": english, "math": world.subjects["math"], "cls": world.classes["5А"]}


def plan_of(cls) -> dict[tuple[str, int], tuple[Decimal, int]]:
    """(subject, quarter number) → (weekly hours, planned hours) as stored."""
    db.session.expire_all()
    items = db.session.scalars(select(CurriculumItem).where(CurriculumItem.class_unit_id == cls.id))
    return {(i.subject.name, i.period.number): (Decimal(i.weekly_hours), i.planned_hours) for i in items
            if i.period.kind == PeriodKind.quarter} | {
        ("other scheme", i.period.number): None for i in items if i.period.kind != PeriodKind.quarter}


def test_weekly_hours_count_the_class_and_one_of_the_parallel_groups(school_plan):
    hours = weekly_hours_by_subject(school_plan["cls"])
    assert hours == {school_plan["math"].id: Decimal(3), school_plan["english"].id: Decimal(2)}


def test_fill_curriculum_makes_one_item_per_subject_and_quarter(school_plan):
    cls = school_plan["cls"]
    items = fill_curriculum(cls)
    db.session.commit()
    # Q1 39 days, Q2 40 − 4 (grade 5 holiday), Q3 49 − 3 (school-wide), Q4 42.
    assert plan_of(cls) == {
        ("Математика", 1): (Decimal(3), 23), ("Математика", 2): (Decimal(3), 22),
        ("Математика", 3): (Decimal(3), 28), ("Математика", 4): (Decimal(3), 25),
        ("Английский язык", 1): (Decimal(2), 16), ("Английский язык", 2): (Decimal(2), 14),
        ("Английский язык", 3): (Decimal(2), 18), ("Английский язык", 4): (Decimal(2), 17),
    }
    assert len(items) == 8
    assert {i.school_id for i in items} == {cls.school_id}
    # 5Б was not filled along.
    assert db.session.scalar(select(func.count()).select_from(CurriculumItem).where(
        CurriculumItem.class_unit_id != cls.id)) == 0


def test_fill_curriculum_reads_the_timetable_once_per_period_and_inserts_in_one_go(school_plan):
    """2 subjects × 4 quarters: 4 timetable reads, not 8, and the items in one flush at the end, not an
    autoflush before each read (the school-size demo's 33 classes cost 1 464 reads and flushes)."""
    with statements() as seen:
        assert len(fill_curriculum(school_plan["cls"])) == 8
    assert sum("FROM timetable_entry" in s for s in seen) == 4, "\n".join(seen)
    inserts = [n for n, s in enumerate(seen) if s.startswith("INSERT INTO curriculum_item")]
    reads = [n for n, s in enumerate(seen) if "FROM timetable_entry" in s]
    assert inserts and min(inserts) > max(reads), "an autoflush between the reads: " + "\n".join(seen)


def test_refilling_updates_the_items_instead_of_adding_more(school_plan, world):
    cls = school_plan["cls"]
    first = {(i.subject_id, i.period_id): i.id for i in fill_curriculum(cls)}
    db.session.commit()
    math_assignment = next(a for a in db.session.scalars(select(TeachingAssignment))
                           if a.class_unit_id == cls.id and a.subject_id == school_plan["math"].id)
    math_assignment.weekly_hours = 4
    db.session.commit()

    second = {(i.subject_id, i.period_id): i.id for i in fill_curriculum(cls)}
    db.session.commit()
    assert second == first
    assert db.session.scalar(select(func.count()).select_from(CurriculumItem)) == 8
    plan = plan_of(cls)
    assert [plan[("Математика", n)] for n in (1, 2, 3, 4)] == [
        (Decimal(4), 31), (Decimal(4), 29), (Decimal(4), 37), (Decimal(4), 34)]  # 31.2, 28.8, 36.8, 33.6
    assert plan[("Английский язык", 1)] == (Decimal(2), 16)


def test_fill_curriculum_follows_a_six_day_week(school_plan, world):
    world.school_a.study_days_per_week = 6
    db.session.commit()
    cls = school_plan["cls"]
    fill_curriculum(cls)
    db.session.commit()
    # Q1 1.09–25.10.2026 has 39 weekdays and 8 Saturdays: 47 days; 3 h a week → 3·47/6 = 23.5 → 24.
    assert plan_of(cls)[("Математика", 1)] == (Decimal(3), 24)


def test_a_class_without_assignments_gets_an_empty_curriculum(world):
    empty = factories.class_unit(world.year_a, 7, "В")
    db.session.commit()
    assert fill_curriculum(empty) == []
    assert db.session.scalar(select(func.count()).select_from(CurriculumItem)) == 0


def test_the_fill_action_of_the_class_list(school_plan, login_as):
    """The «Fill the curriculum» action of the class list does the same for the chosen classes."""
    cls = school_plan["cls"]
    client = login_as("director")
    response = client.post("/classunitview/action_post", data={"action": "fill_curriculum", "rowid": [cls.id]},
                           follow_redirects=True)
    assert response.status_code == 200
    assert len(plan_of(cls)) == 8
