"""Issue 18 p.2: `school new-year` builds the next year from this one — decisions from the year finals,
classes promoted with their students, graduates leaving, the calendar and teaching copied as drafts, the old
year read-only; idempotent; refused with the list when finals are missing; bad arguments refused."""
import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AcademicYear,
    ClassUnit,
    CurriculumItem,
    Enrolment,
    Holiday,
    PeriodKind,
    PromotionDecision,
    ReportingPeriod,
    Student,
    StudyGroup,
    TeachingAssignment,
    TimetableEntry,
)
from tests.new_year_helpers import snapshot

NEW_YEAR = ["school", "new-year", "2027/2028", "--school", "Школа А", "--user", "director"]


def _build(runner):
    result = runner.invoke(args=NEW_YEAR)
    assert result.exit_code == 0, result.output
    return result


def _new_year(world) -> AcademicYear:
    return db.session.scalar(select(AcademicYear).where(AcademicYear.school_id == world.school_a.id,
                                                        AcademicYear.name == "2027/2028"))


def _decisions(world) -> dict[str, tuple[str, str, str | None]]:
    rows = db.session.scalars(select(PromotionDecision).where(PromotionDecision.year_id == world.year_a.id)).all()
    return {d.student.surname: (d.outcome.value, d.owed, d.next_class.name if d.next_class else None) for d in rows}


def test_decisions_follow_the_year_finals(runner, world, ready):
    result = _build(runner)
    assert "2027/2028" in result.output and "переведены условно: 1" in result.output
    assert _decisions(world) == {
        "Алексеев": ("promoted", "", "6А"),
        "Борисов": ("conditional", "Математика, Русский язык", "6А"),
        "Зуев": ("retained", "Математика, Русский язык, Физическая культура", "5А"),
        "Васильев": ("promoted", "", "6Б"),
        "Ильин": ("left", "", None),
        "Гусев": ("graduated", "", "10А"),
        "Дронов": ("retained", "Математика", "9А"),
        "Егоров": ("graduated", "", None),
    }
    decision = db.session.scalar(select(PromotionDecision).where(PromotionDecision.outcome == "conditional"))
    assert decision.decided_by == "director"


def test_students_move_to_their_new_classes_and_graduates_leave(runner, world, ready):
    _build(runner)
    year = _new_year(world)
    names = sorted(c.name for c in db.session.scalars(select(ClassUnit).where(ClassUnit.year_id == year.id)))
    assert names == ["10А", "5А", "6А", "6Б", "9А"]
    s = {name: db.session.get(Student, st.id) for name, st in world.students.items()}
    assert {n: s[n].class_unit.name for n in ("Алексеев", "Борисов", "Зуев", "Гусев", "Дронов")} == {
        "Алексеев": "6А", "Борисов": "6А", "Зуев": "5А", "Гусев": "10А", "Дронов": "9А"}
    assert all(s[n].class_unit.year_id == year.id for n in ("Алексеев", "Зуев", "Гусев"))
    assert s["Егоров"].class_unit is None and s["Егоров"].left_on == dt.date(2027, 8, 31)
    alekseev = db.session.scalars(select(Enrolment).where(Enrolment.student_id == s["Алексеев"].id)
                                  .order_by(Enrolment.start)).all()
    assert [(e.class_unit.name, e.start, e.end) for e in alekseev] == [
        ("5А", dt.date(2026, 9, 1), dt.date(2027, 8, 31)), ("6А", dt.date(2027, 9, 1), None)]
    assert db.session.scalar(select(Enrolment).where(Enrolment.student_id == s["Ильин"].id,
                                                     Enrolment.end.is_(None))) is None
    assert db.session.get(ClassUnit, world.classes["5А"].id).class_teacher_id == \
        db.session.scalar(select(ClassUnit.class_teacher_id).where(ClassUnit.year_id == year.id,
                                                                   ClassUnit.grade == 6, ClassUnit.letter == "А"))


def test_the_calendar_keeps_the_pattern_on_the_new_weekdays(runner, world, ready):
    _build(runner)
    year = _new_year(world)
    assert (year.start, year.end, year.closed) == (dt.date(2027, 9, 1), dt.date(2028, 8, 31), False)
    old = {(p.kind, p.number): p for p in db.session.scalars(select(ReportingPeriod).where(
        ReportingPeriod.year_id == world.year_a.id))}
    new = {(p.kind, p.number): p for p in db.session.scalars(select(ReportingPeriod).where(
        ReportingPeriod.year_id == year.id))}
    assert set(new) == set(old) and not any(p.closed for p in new.values())
    q2_old, q2_new = old[(PeriodKind.quarter, 2)], new[(PeriodKind.quarter, 2)]
    assert (q2_new.start, q2_new.end) == (dt.date(2027, 11, 2), dt.date(2027, 12, 27))
    assert (q2_new.start.weekday(), q2_new.end.weekday()) == (q2_old.start.weekday(), q2_old.end.weekday())
    assert new[(PeriodKind.quarter, 1)].start == dt.date(2027, 9, 1)
    holiday = db.session.scalar(select(Holiday).where(Holiday.year_id == year.id))
    assert (holiday.name, holiday.start, holiday.end) == ("Осенние каникулы", dt.date(2027, 10, 25),
                                                          dt.date(2027, 11, 1))


def test_teaching_curriculum_and_timetable_are_copied_as_drafts(runner, world, ready):
    _build(runner)
    year = _new_year(world)
    a6 = db.session.scalar(select(ClassUnit).where(ClassUnit.year_id == year.id, ClassUnit.grade == 6,
                                                   ClassUnit.letter == "А"))
    taught = {(a.subject.name, str(a.target), a.teacher.surname, float(a.weekly_hours)) for a in db.session.scalars(
        select(TeachingAssignment).where(TeachingAssignment.year_id == year.id))}
    assert taught == {("Математика", "6А", "Учителева", 3.0), ("Математика", "6Б", "Другова", 3.0),
                      ("Математика", "10А", "Учителева", 3.0), ("Русский язык", "6А 1 группа", "Другова", 4.0),
                      ("Физическая культура", "6А", "Учителева", 2.0)}
    group = db.session.scalar(select(StudyGroup).where(StudyGroup.class_unit_id == a6.id))
    assert sorted(s.surname for s in group.students) == ["Алексеев", "Борисов"]  # Зуев stays in 5А
    entry = db.session.scalar(select(TimetableEntry).join(TeachingAssignment).where(
        TeachingAssignment.year_id == year.id))
    assert (entry.assignment.class_unit_id, entry.weekday, entry.bell_slot_id, entry.room) == (
        a6.id, 0, ready.entry.bell_slot_id, "12")
    assert (entry.valid_from, entry.valid_to) == (dt.date(2027, 9, 1), dt.date(2028, 5, 24))
    item = db.session.scalar(select(CurriculumItem).where(CurriculumItem.class_unit_id == a6.id))
    assert (item.subject.name, item.period.year_id, item.period.number, float(item.weekly_hours)) == (
        "Математика", year.id, 1, 3.0)
    entry.room = "14"  # a draft: the new year is open for editing
    db.session.commit()


def test_running_again_changes_nothing_and_says_so(runner, world, ready):
    _build(runner)
    before = snapshot()
    result = _build(runner)
    assert "уже" in result.output and "ничего не изменено" in result.output
    assert snapshot() == before


def test_incomplete_finals_are_refused_with_the_list(runner, world, ready):
    from app.models import FinalGrade

    db.session.delete(db.session.scalar(select(FinalGrade).where(
        FinalGrade.student_id == world.students["Гусев"].id)))
    db.session.commit()
    before = snapshot()
    result = runner.invoke(args=NEW_YEAR)
    assert result.exit_code == 1
    assert "не хватает годовых отметок: 1" in result.output and "Гусев" in result.output
    assert "Математика" in result.output
    assert snapshot() == before
    assert not db.session.get(AcademicYear, world.year_a.id).closed


@pytest.mark.parametrize("name, fragment", [
    ("2027-2028", "ГГГГ/ГГГГ"), ("2027/2029", "ГГГГ/ГГГГ"), ("следующий", "ГГГГ/ГГГГ"),
    ("2028/2029", "не следующий учебный год: после 2026/2027 идёт 2027/2028"),
    ("2026/2027", "Учебный год 2026/2027 уже есть"),
])
def test_bad_years_are_refused_and_change_nothing(runner, world, ready, name, fragment):
    before = snapshot()
    result = runner.invoke(args=["school", "new-year", name, "--school", "Школа А"])
    assert result.exit_code == 2 and fragment in result.output and "Ничего не изменено" in result.output
    assert snapshot() == before


def test_an_unknown_school_is_refused(runner, world):
    result = runner.invoke(args=["school", "new-year", "2027/2028", "--school", "Нет такой"])
    assert result.exit_code == 2 and "«Нет такой» не найдена" in result.output
