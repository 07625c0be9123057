"""`flask school init` and `flask school demo` (app/cli/school.py, app/services/demo/)."""
import datetime as dt
import re
from collections import Counter

import pytest
from flask import current_app
from flask_appbuilder.security.sqla.models import Role, User
from sqlalchemy import func, select, text

from app.extensions import db
from app.models import (
    AcademicYear,
    ClassUnit,
    CurriculumItem,
    Enrolment,
    FinalGrade,
    Guardian,
    Holiday,
    IndividualPlan,
    Mark,
    PeriodKind,
    ReportingPeriod,
    School,
    Staff,
    Stream,
    Student,
    StudyGroup,
    TeachingAssignment,
    study_group_student,
)
from app.services import structure
from app.services.demo import load_demo
from app.services.demo.calendar import build_calendar
from tests.conftest import _clear
from tests.demo_checks import the_demo_data_fit_together
from tests.journal_helpers import count
from tests.new_year_demo_helpers import the_demo_goes_on_to_its_next_year

ROLES = ("Admin", "Administration", "Teacher", "ClassTeacher", "Registrar", "Auditor")
DEMO = ["school", "demo", "--size", "small", "--seed", "3", "--today", "2026-11-28"]


def role_names(username: str) -> set[str]:
    user = db.session.scalar(select(User).where(User.username == username))
    assert user is not None, f"no login {username}"
    return {r.name for r in user.roles}


def students_by_class() -> list[tuple[str, str, str, str]]:
    rows = db.session.execute(
        select(ClassUnit.grade, ClassUnit.letter, Student.surname, Student.name, Student.patronymic)
        .join(ClassUnit, Student.class_unit_id == ClassUnit.id)
        .order_by(Student.file_number)
    ).all()
    return [(f"{g}{letter}", s, n, p) for g, letter, s, n, p in rows]


def current_year() -> AcademicYear:
    """The demo's running year (last year is closed)."""
    return db.session.scalar(select(AcademicYear).where(AcademicYear.closed.is_(False)))


def load(runner, *args: str):
    result = runner.invoke(args=[*DEMO, *args])
    assert result.exit_code == 0, result.output
    return result


def reset(url: str) -> None:
    """Empty the database the way the test fixture does between tests (roles kept)."""
    db.session.remove()
    _clear(url)


# ---------------------------------------------------------------- init


@pytest.mark.commits  # `school init` inspects the engine itself (Inspector needs a real connection)
def test_init_is_idempotent(runner):
    permissions = {}
    for run in (1, 2):
        result = runner.invoke(args=["school", "init", "--password", "init-pass"])
        assert result.exit_code == 0, result.output
        last = result.output.splitlines()[-1]
        # The session's database was set up by `school init` too: the admin may be there already.
        expected = {"Администратор admin: создан", "Администратор admin: уже есть"} if run == 1 \
            else {"Администратор admin: уже есть"}
        assert last in expected, result.output
        assert "роли: Admin (" in result.output
        db.session.expire_all()
        roles = {r.name: r for r in db.session.scalars(select(Role))}
        assert set(ROLES) <= set(roles)
        permissions[run] = {name: len(role.permissions) for name, role in roles.items()}
    assert permissions[1] == permissions[2]
    assert all(permissions[1][r] > 0 for r in ROLES)
    assert count(Role) == len(permissions[2])
    assert db.session.scalar(select(func.count()).select_from(User).where(User.username == "admin")) == 1
    assert role_names("admin") == {"Admin"}


# ---------------------------------------------------------------- demo


def test_demo_loads_the_school_and_its_logins_once(runner):
    result = load(runner)
    output = result.output
    m = re.search(r"классов (\d+), учеников (\d+), представителей (\d+), учителей (\d+), нагрузок (\d+)", output)
    assert m, output
    classes, students, guardians, teachers, assignments = map(int, m.groups())

    assert count(School) == 1 and count(AcademicYear) == 2  # this year and last year (closed)
    current = current_year()
    assert current.name == "2026/2027"  # the year around --today
    assert classes == count(ClassUnit, ClassUnit.year_id == current.id) == 4  # 1А, 5А, 5Б, 10А
    assert sorted(c.name for c in db.session.scalars(select(ClassUnit).where(ClassUnit.year_id == current.id))) \
        == ["10А", "1А", "5А", "5Б"]
    assert students == count(Student, Student.class_unit_id.is_not(None)) and 4 * 24 <= students <= 4 * 28
    assert guardians == count(Guardian) > 0
    assert assignments == count(TeachingAssignment) > 0
    teacher_logins = db.session.scalars(select(User.username).where(User.username.like("teacher%"))).all()
    assert teachers == len(teacher_logins) == 16
    assert sorted(teacher_logins) == [f"teacher{n:02d}" for n in range(1, teachers + 1)]

    assert role_names("director") == {"Administration"}
    assert role_names("deputy") == {"Administration"}
    assert role_names("registrar") == {"Registrar"}
    assert role_names("auditor") == {"Auditor"}
    assert "Teacher" in role_names("teacher01")
    for login in ("director", "registrar", "auditor", "teacher01"):
        assert f"  {login} — " in output  # the logins are printed

    teacher01 = db.session.scalar(
        select(Staff).join(User, Staff.user_id == User.id).where(User.username == "teacher01"))
    assert db.session.scalar(select(func.count()).select_from(TeachingAssignment).where(
        TeachingAssignment.teacher_id == teacher01.id)) > 0

    # Every class has a class teacher with the ClassTeacher role; other teachers do not have it.
    homeroom = set()
    for cls in db.session.scalars(select(ClassUnit)):
        assert cls.class_teacher is not None, f"{cls} has no class teacher"
        assert role_names(cls.class_teacher.user.username) == {"Teacher", "ClassTeacher"}
        homeroom.add(cls.class_teacher.user.username)
    assert len(homeroom) == 4
    for login in set(teacher_logins) - homeroom:
        assert role_names(login) == {"Teacher"}

    # The curriculum was filled for every class from its scheme.
    assert count(CurriculumItem) > 0
    assert {cls.id for cls in db.session.scalars(select(ClassUnit).where(ClassUnit.year_id == current.id))} == set(
        db.session.scalars(select(CurriculumItem.class_unit_id).distinct()))

    if db.engine.dialect.name == "postgresql":  # the planner knows the loaded rows (ANALYZE after the load)
        planned = dict(db.session.execute(text(
            "SELECT relname, reltuples FROM pg_class WHERE relname IN ('student', 'final_grade', 'mark')")).all())
        assert planned == {"student": count(Student), "final_grade": count(FinalGrade), "mark": count(Mark)}

    # Run again: it says so and adds nothing.
    tables = (School, Student, Guardian, Staff, User, ClassUnit, TeachingAssignment, CurriculumItem)
    before = {m.__name__: count(m) for m in tables}
    again = load(runner)
    assert "уже загружена" in again.output
    assert "Входы" not in again.output
    db.session.expire_all()
    assert {m.__name__: count(m) for m in tables} == before


def test_the_same_seed_gives_the_same_school(runner, database_url):
    load(runner)
    first = students_by_class()
    first_logins = sorted(db.session.scalars(select(Staff.surname + " " + Staff.name)))
    reset(database_url)
    load(runner)
    assert students_by_class() == first
    assert sorted(db.session.scalars(select(Staff.surname + " " + Staff.name))) == first_logins
    reset(database_url)
    result = runner.invoke(args=["school", "demo", "--size", "small", "--seed", "4", "--today", "2026-11-28"])
    assert result.exit_code == 0, result.output
    assert students_by_class() != first  # the seed does matter


@pytest.mark.parametrize("args, fragments", [
    (["--today", "2026-13-01"], ["--today", "ГГГГ-ММ-ДД", "2026-13-01"]),
    (["--today", "вчера"], ["--today", "ГГГГ-ММ-ДД", "вчера"]),
    (["--size", "huge"], ["--size", "huge", "small", "school"]),
    (["--seed", "three"], ["--seed", "three"]),
], ids=["month_13", "not_a_date", "unknown_size", "seed_not_a_number"])
def test_demo_refuses_bad_options_and_creates_nothing(runner, args, fragments):
    result = runner.invoke(args=["school", "demo", *args])
    assert result.exit_code != 0
    message = result.output + (getattr(result, "stderr", "") or "")
    for fragment in fragments:
        assert fragment in message, message
    assert "Traceback" not in message
    assert count(School) == count(Student) == count(Staff) == 0
    assert db.session.scalar(select(User.id).where(User.username == "director")) is None


def test_load_demo_refuses_an_unknown_size_with_a_clear_error(app):
    with pytest.raises(ValueError, match="huge"):
        load_demo(size="huge", seed=1, today=dt.date(2026, 11, 28), password=current_app.config["DEMO_PASSWORD"])
    assert count(School) == 0


@pytest.mark.parametrize("today, name", [
    (dt.date(2026, 11, 28), "2026/2027"), (dt.date(2027, 3, 15), "2026/2027"), (dt.date(2026, 9, 1), "2026/2027"),
    (dt.date(2026, 8, 31), "2025/2026"),
])
def test_the_demo_year_is_the_one_around_today(today, name):
    year, periods, holidays = build_calendar(School(short_name="Школа"), today)
    first = int(name[:4])
    assert (year.name, year.start, year.end) == (name, dt.date(first, 9, 1), dt.date(first + 1, 8, 31))
    assert all(year.contains(p.start) and year.contains(p.end) for p in periods)
    assert all(year.contains(h.start) and year.contains(h.end) for h in holidays)


# ---------------------------------------------------------------- the demo keeps the school's rules


def _every_demo_row_passes_the_structure_rules():
    models = (ReportingPeriod, Holiday, ClassUnit, Student, Enrolment, StudyGroup, Stream, IndividualPlan,
              TeachingAssignment, CurriculumItem)
    checked = Counter()
    for model in models:
        for item in db.session.scalars(select(model)):
            try:
                structure.validate(item)
            except ValueError as err:
                pytest.fail(f"{model.__name__} «{item}»: {err}")
            checked[model.__name__] += 1
    assert all(checked[m.__name__] > 0 for m in models), checked


def _every_demo_teaching_assignment_has_one_target_of_the_year():
    year = current_year()
    assignments = db.session.scalars(select(TeachingAssignment)).all()
    assert assignments
    kinds = Counter()
    for a in assignments:
        targets = [t for t in (a.class_unit, a.group, a.stream, a.plan) if t is not None]
        assert len(targets) == 1, a
        kinds[type(targets[0]).__name__] += 1
        assert a.year_id == year.id
        structure.validate(a)
    assert set(kinds) == {"ClassUnit", "StudyGroup", "Stream", "IndividualPlan"}, kinds


def _every_demo_student_has_exactly_one_open_enrolment_in_the_current_class():
    year = current_year()
    open_rows = db.session.execute(
        select(Enrolment.student_id, Enrolment.class_unit_id, Enrolment.start).where(Enrolment.end.is_(None))
    ).all()
    per_student = Counter(r.student_id for r in open_rows)
    students = db.session.execute(select(Student.id, Student.class_unit_id, Student.left_on)).all()
    assert set(per_student) == {s.id for s in students if s.class_unit_id is not None}
    assert set(per_student.values()) == {1}
    current = {s.id: s.class_unit_id for s in students}
    assert all(current[r.student_id] == r.class_unit_id for r in open_rows)
    assert {r.start for r in open_rows} == {year.start}
    assert count(Enrolment, Enrolment.start == year.start) == len(open_rows)
    assert all(s.left_on is not None for s in students if s.class_unit_id is None)  # last year's leavers


def _demo_groups_split_their_own_class():
    groups = db.session.scalars(select(StudyGroup)).all()
    assert groups
    by_class: dict[int, list[set[int]]] = {}
    for group in groups:
        members = set(db.session.scalars(
            select(study_group_student.c.student_id).where(study_group_student.c.group_id == group.id)))
        assert members, f"{group} is empty"
        classes = set(db.session.scalars(select(Student.class_unit_id).where(Student.id.in_(members))))
        assert classes == {group.class_unit_id}, f"{group} has students of other classes"
        by_class.setdefault(group.class_unit_id, []).append(members)
    for class_id, halves in by_class.items():
        pupils = set(db.session.scalars(select(Student.id).where(Student.class_unit_id == class_id)))
        assert len(halves) == 2 and halves[0].isdisjoint(halves[1]) and halves[0] | halves[1] == pupils


def _demo_calendar_is_inside_the_year():
    year = current_year()
    holidays = db.session.scalars(select(Holiday).where(Holiday.year_id == year.id)).all()
    assert holidays
    for h in holidays:
        assert year.contains(h.start) and year.contains(h.end) and h.start <= h.end, h
        assert h.grade is None or 1 <= h.grade <= 11
    assert any(h.grade == 1 for h in holidays)  # the first graders' extra holidays
    for kind, n in ((PeriodKind.quarter, 4), (PeriodKind.trimester, 3), (PeriodKind.half_year, 2),
                    (PeriodKind.year, 1)):
        periods = db.session.scalars(select(ReportingPeriod).where(ReportingPeriod.kind == kind,
                                                                   ReportingPeriod.year_id == year.id)
                                     .order_by(ReportingPeriod.number)).all()
        assert [p.number for p in periods] == list(range(1, n + 1))
        assert all(year.contains(p.start) and year.contains(p.end) for p in periods)
        assert all(a.end < b.start for a, b in zip(periods, periods[1:])), kind


def test_the_demo_keeps_the_rules_of_the_school_structure(runner):
    """One load of the demo, checked from every side."""
    load(runner)
    db.session.expire_all()
    _every_demo_row_passes_the_structure_rules()
    _every_demo_teaching_assignment_has_one_target_of_the_year()
    _every_demo_student_has_exactly_one_open_enrolment_in_the_current_class()
    _demo_groups_split_their_own_class()
    _demo_calendar_is_inside_the_year()
    _demo_first_quarter_is_closed_with_every_final()
    _demo_grade_1_learns_without_marks()
    _demo_last_year_is_closed_with_its_decisions()
    the_demo_data_fit_together()  # control works, olympiads, recommendations, receipts (tests/demo_checks.py)
    the_demo_goes_on_to_its_next_year(runner)  # last: it closes this year


def _demo_last_year_is_closed_with_its_decisions():
    """Issue 18: last year (2025/2026) is closed with every period, its year finals and a decision for each
    of its students: this year's pupils were promoted into their class (grade 9 graduated into grade 10),
    a few conditionally with the subject of their year final of 2; one pupil left in February."""
    from app.models import FinalGrade, PromotionDecision

    last = db.session.scalar(select(AcademicYear).where(AcademicYear.closed.is_(True)))
    assert last.name == "2025/2026"
    assert not db.session.scalars(select(ReportingPeriod).where(ReportingPeriod.year_id == last.id,
                                                                ReportingPeriod.closed.is_(False))).all()
    enrolled = set(db.session.scalars(select(Enrolment.student_id).join(ClassUnit).where(ClassUnit.year_id == last.id)))
    decisions = {d.student_id: d for d in db.session.scalars(select(PromotionDecision))}
    assert set(decisions) == enrolled and len(enrolled) > 50
    outcomes = Counter(d.outcome.value for d in decisions.values())
    assert outcomes["conditional"] >= 1 and outcomes["left"] == 1 and outcomes["graduated"] > 0
    for d in decisions.values():
        student = db.session.get(Student, d.student_id)
        goes_on = d.outcome.value in ("promoted", "conditional") or (d.outcome.value == "graduated"
                                                                     and d.class_unit.grade == 9)
        if goes_on:
            assert d.next_class_id == student.class_unit_id and d.next_class.grade == d.class_unit.grade + 1
        if d.outcome.value == "conditional":
            twos = db.session.scalars(select(FinalGrade).join(ReportingPeriod).where(
                FinalGrade.student_id == d.student_id, FinalGrade.value == "2", ReportingPeriod.year_id == last.id)
                .order_by(FinalGrade.id)).all()
            assert d.owed and [g.subject.name for g in twos] == d.owed.split(", ")


def _demo_grade_1_learns_without_marks():
    """Grade 1 is unmarked (rule for every subject; ОРКСЭ of grade 4 is pass/fail): 1А has lessons and
    attendance but no marks, no finals and no forecast; the other classes keep theirs."""
    from app.models import AssessmentRule, Attendance, FinalGrade, Lesson, Mark
    from app.security.scope import Scope
    from app.services.forecast import Query, forecast

    assert sorted((r.grade, r.subject.name if r.subject else None, r.mode.value)
                  for r in db.session.scalars(select(AssessmentRule))) == [
        (1, None, "unmarked"), (4, "Основы религиозных культур и светской этики", "pass_fail")]
    first = db.session.scalar(select(ClassUnit).where(ClassUnit.grade == 1))
    pupils = select(Enrolment.student_id).where(Enrolment.class_unit_id == first.id)
    lessons = select(Lesson.id).join(TeachingAssignment).where(TeachingAssignment.class_unit_id == first.id)
    assert count(Lesson, Lesson.id.in_(lessons)) > 0 and count(Attendance, Attendance.lesson_id.in_(lessons)) > 0
    assert count(Mark, Mark.student_id.in_(pupils)) == 0 and count(FinalGrade, FinalGrade.student_id.in_(pupils)) == 0
    assert count(Mark) > 0 and count(FinalGrade) > 0
    school = db.session.scalar(select(School))
    scope, day = Scope(school_id=school.id, whole_school=True), dt.date(2026, 11, 28)
    fifth = db.session.scalar(select(ClassUnit.id).where(ClassUnit.grade == 5).limit(1))
    assert forecast(scope, Query(class_ids=(first.id,)), today=day) == []
    assert forecast(scope, Query(class_ids=(fifth,)), today=day) != []


def _demo_first_quarter_is_closed_with_every_final():
    """Q1 (ended before --today) is closed with no final missing; the finals follow the marks."""
    from app.models import ExamResult, FinalGrade, FinalStatus, FinalValue, PeriodKind
    from app.services.finals import missing_finals

    year = current_year()
    periods = db.session.scalars(select(ReportingPeriod).where(ReportingPeriod.closed.is_(True),
                                                               ReportingPeriod.year_id == year.id)).all()
    assert [(p.kind, p.number) for p in periods] == [(PeriodKind.quarter, 1)]
    assert missing_finals(periods[0]) == []
    finals = db.session.scalars(select(FinalGrade).where(FinalGrade.period_id == periods[0].id)).all()
    values = Counter(f.value for f in finals)
    assert values[FinalValue.exempt] >= 1 and values[FinalValue.not_certified] >= 1
    kinds = set(db.session.scalars(select(ClassUnit.period_kind).join(Enrolment).where(
        Enrolment.student_id.in_({f.student_id for f in finals}), ClassUnit.year_id == year.id)))
    assert kinds == {PeriodKind.quarter}  # half-year classes (also in a stream) owe no quarter finals
    agreed = [f for f in finals if f.status == FinalStatus.final and f.proposed_value is not None]
    assert sum(f.value == f.proposed_value for f in agreed) / len(agreed) > 0.9  # teachers mostly confirm
    deferred = [f for f in finals if f.status == FinalStatus.deferred]
    assert deferred and all(f.value is None and f.deferral_reason and f.deferral_deadline for f in deferred)
    assert count(ExamResult) > 0
