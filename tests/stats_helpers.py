"""A small crafted world for the statistics: finals of the first quarter in 5А and 5Б of school A,
lessons, control works, curriculum and attendance of 5А mathematics. Every expected figure of the
tests is computed by hand from what is built here."""
import datetime as dt

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Attendance,
    AttendanceCode,
    ControlWorkPlan,
    CurriculumItem,
    FinalGrade,
    FinalStatus,
    FinalValue,
    LessonStatus,
    LessonType,
    PeriodKind,
    ReportingPeriod,
)
from tests import factories
from tests.journal_helpers import add_lessons, add_students, math_of, period_of

Q1_DAYS = [dt.date(2026, 9, d) for d in (7, 8, 9, 10, 11, 14, 15, 16, 17)]


def final(student, subject, period: ReportingPeriod, value: str | None, status=FinalStatus.final) -> FinalGrade:
    """A final grade (status final unless told)."""
    grade = FinalGrade(school_id=period.school_id, student_id=student.id, subject_id=subject.id, period_id=period.id,
                       value=FinalValue(value) if value else None, status=status)
    db.session.add(grade)
    return grade


def build_results(world) -> dict:
    """5А mathematics: Алексеев 5, Борисов 4, s0 4, s1 3, s2 2, s3 н/а, s4 осв, s5 deferred, s6 left on
    10.10 with a 5 (not counted), s7 arrived on 01.10 with a 3. 5А ОРКСЭ (pass/fail, class teacher):
    Алексеев зач, Борисов незач, s0 н/а, s1 зач. 5Б: Васильев mathematics 5, PE осв (teacher_b)."""
    q1 = period_of(world.year_a, 1)
    a = world.school_a
    orkse = factories.subject(a, "ОРКСЭ")
    orkse.pass_fail = True
    pe = factories.subject(a, "Физкультура")
    factories.assign(world.staff["classteacher"], orkse, world.classes["5А"], hours=1)
    factories.assign(world.staff["teacher_b"], pe, world.classes["5Б"], hours=2)
    s = add_students(world, "5А", 6)
    left = add_students(world, "5А", 1, end=dt.date(2026, 10, 10), prefix="Ушедший")[0]
    came = add_students(world, "5А", 1, start=dt.date(2026, 10, 1), prefix="Пришедший")[0]
    math = world.subjects["math"]
    alex, boris, vas = (world.students[n] for n in ("Алексеев", "Борисов", "Васильев"))
    for student, value in ((alex, "5"), (boris, "4"), (s[0], "4"), (s[1], "3"), (s[2], "2"), (s[3], "н/а"),
                           (s[4], "осв"), (left, "5"), (came, "3")):
        final(student, math, q1, value)
    final(s[5], math, q1, None, FinalStatus.deferred)
    for student, value in ((alex, "зач"), (boris, "незач"), (s[0], "н/а"), (s[1], "зач")):
        final(student, orkse, q1, value)
    final(s[2], orkse, q1, "зач", FinalStatus.proposed)  # a proposal only: not counted
    final(vas, math, q1, "5")
    final(vas, pe, q1, "осв")
    db.session.commit()
    return {"q1": q1, "orkse": orkse, "pe": pe, "s": s, "left": left, "came": came}


def build_curriculum(world) -> dict:
    """5А mathematics in Q1: 10 hours planned; 6 held (4 regular, 1 control work, 1 laboratory),
    2 cancelled, 1 still planned; 2 control works planned in Q1 (and 1 in Q2). Attendance: Н×2, Б, УП,
    ОП on held lessons and an Н on a cancelled one (not counted)."""
    q1 = period_of(world.year_a, 1)
    unit, math = world.classes["5А"], world.subjects["math"]
    lessons = add_lessons(world, *Q1_DAYS)
    kinds = [LessonType.regular] * 4 + [LessonType.control_work, LessonType.laboratory]
    for lesson, kind in zip(lessons[:6], kinds, strict=True):
        lesson.status, lesson.lesson_type = LessonStatus.held, kind
    lessons[6].status = lessons[7].status = LessonStatus.cancelled
    db.session.add(CurriculumItem(school_id=unit.school_id, class_unit_id=unit.id, subject_id=math.id,
                                  period_id=q1.id, weekly_hours=3, planned_hours=10))
    assignment = math_of(world)
    for day in (dt.date(2026, 9, 20), dt.date(2026, 10, 15), dt.date(2026, 11, 20)):
        db.session.add(ControlWorkPlan(school_id=unit.school_id, assignment_id=assignment.id, date=day))
    alex, boris = world.students["Алексеев"], world.students["Борисов"]
    for lesson, student, code in ((lessons[0], alex, "Н"), (lessons[1], alex, "Н"), (lessons[2], boris, "Б"),
                                  (lessons[3], boris, "УП"), (lessons[4], alex, "ОП"), (lessons[6], boris, "Н")):
        db.session.add(Attendance(school_id=unit.school_id, lesson_id=lesson.id, student_id=student.id,
                                  code=AttendanceCode(code), author="t"))
    db.session.commit()
    return {"q1": q1, "lessons": lessons}


def other_period(world) -> ReportingPeriod:
    """School B's first quarter."""
    return db.session.scalar(select(ReportingPeriod).where(ReportingPeriod.year_id == world.year_b.id,
                                                           ReportingPeriod.kind == PeriodKind.quarter,
                                                           ReportingPeriod.number == 1))
