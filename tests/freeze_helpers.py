"""A world whose first quarter (01.09–25.10.2026) holds one row of everything the freeze covers and is
then closed, with a snapshot of the tables to prove that a refused request changed nothing."""
import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Attendance,
    AttendanceCode,
    ChangeKind,
    ControlWorkPlan,
    CurriculumItem,
    Enrolment,
    FinalGrade,
    FinalStatus,
    FinalValue,
    Lesson,
    LessonChange,
    Mark,
    PeriodKind,
    Recommendation,
    ReportingPeriod,
    Stream,
    Student,
    StudyGroup,
)
from app.services.freeze import closed_message
from tests.journal_helpers import add_lessons, bell_slot, close_period, math_of, staff_of, work_type

Q1_MONDAY, Q1_TUESDAY, Q1_THURSDAY = dt.date(2026, 10, 12), dt.date(2026, 10, 13), dt.date(2026, 10, 15)
Q2_MONDAY = dt.date(2026, 11, 16)
# Every table the freeze protects, plus the trail and the outbox a half-saved change would leave.
WATCHED = ("lesson", "lesson_change", "mark", "attendance", "control_work_plan", "recommendation", "final_grade",
           "curriculum_item", "enrolment", "study_group", "study_group_student", "stream", "stream_student",
           "student", "audit_event", "outbox_message", "notification")


@dataclass
class Frozen:
    """The rows of the closed first quarter (and one open lesson of the second)."""

    period: ReportingPeriod
    lesson: Lesson
    changed_lesson: Lesson
    open_lesson: Lesson
    mark: Mark
    attendance: Attendance
    change: LessonChange
    control_work: ControlWorkPlan
    recommendation: Recommendation
    final: FinalGrade
    curriculum: CurriculumItem
    enrolment: Enrolment
    group: StudyGroup
    stream: Stream
    newcomer: Student

    def message(self) -> str:
        """The refusal every path must show."""
        return closed_message(self.period)


def build_frozen(world) -> Frozen:
    """Fill the first quarter of 5А's mathematics, then close it."""
    math = math_of(world)
    alekseev, borisov = world.students["Алексеев"], world.students["Борисов"]
    lesson, changed = add_lessons(world, Q1_MONDAY, Q1_TUESDAY, topic="Дроби")
    open_lesson = add_lessons(world, Q2_MONDAY)[0]
    school = math.school
    mark = Mark(school=school, lesson=lesson, student=alekseev, work_type=work_type(world, "Ответ на уроке", 1),
                value=5, author="teacher")
    attendance = Attendance(school=school, lesson=lesson, student=borisov, code=AttendanceCode.ill, author="teacher")
    change = LessonChange(school=school, lesson=changed, kind=ChangeKind.substitution, old_teacher_id=math.teacher_id,
                          new_teacher=staff_of("teacher_b"), old_date=Q1_TUESDAY, reason="курсы", changed_by="director")
    control = ControlWorkPlan(school=school, assignment=math, date=Q1_THURSDAY, topic="Дроби")
    advice = Recommendation(school=school, teacher=staff_of("teacher"), student=alekseev, subject=math.subject,
                            text="Повторить дроби", date=Q1_MONDAY)
    period = db.session.scalar(select(ReportingPeriod).where(ReportingPeriod.year_id == world.year_a.id,
                                                             ReportingPeriod.kind == PeriodKind.quarter,
                                                             ReportingPeriod.number == 1))
    final = FinalGrade(school=school, student=alekseev, subject=math.subject, period=period, value=FinalValue.five,
                       status=FinalStatus.final, result_date=dt.date(2026, 10, 24), decided_by="teacher")
    curriculum = CurriculumItem(school=school, class_unit=world.classes["5А"], subject=math.subject, period=period,
                                weekly_hours=5, planned_hours=40)
    group = StudyGroup(school=school, class_unit=world.classes["5А"], name="1 группа", subject=math.subject,
                       students=[alekseev])
    stream = Stream(school=school, year=world.year_a, name="Поток олимпиадников", students=[alekseev])
    newcomer = Student(school=school, surname="Новиков", name="Иван", patronymic="Ильич",
                       birth_date=dt.date(2015, 3, 1), enrolled_on=dt.date(2026, 9, 1))
    db.session.add_all([mark, attendance, change, control, advice, final, curriculum, group, stream, newcomer])
    bell_slot(world, 2)
    db.session.commit()
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.student_id == alekseev.id))
    close_period(world, 1)
    return Frozen(period, lesson, changed, open_lesson, mark, attendance, change, control, advice, final, curriculum,
                  enrolment, group, stream, newcomer)


@pytest.fixture
def frozen(world):
    """The world with its first quarter filled and closed."""
    return build_frozen(world)


def snapshot() -> dict:
    """Every watched table as committed (read on a separate connection, ordered)."""
    from flask_appbuilder import Model

    tables = {t.name: t for t in Model.metadata.sorted_tables}
    out = {}
    with db.engine.connect() as conn:
        for name in WATCHED:
            table = tables[name]
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).mappings().all()
            out[name] = [dict(r) for r in rows]
    return out


def changed_tables(before: dict, after: dict) -> list[str]:
    """The tables whose committed rows differ."""
    return [name for name in WATCHED if before[name] != after[name]]


def write_routes(app, models) -> set[tuple[str, str]]:
    """(endpoint, method) of every write route of the models' views and APIs: what a freeze walk must
    cover (a view's actions by their `action` route; `action_post` is the same action by form)."""
    views = {v.endpoint: v for v in app.appbuilder.baseviews}
    out = set()
    for rule in app.url_map.iter_rules():
        view = views.get(rule.endpoint.partition(".")[0])
        if getattr(getattr(view, "datamodel", None), "obj", None) not in models:
            continue
        method = rule.endpoint.partition(".")[2]
        if method == "action_post" or (method == "action" and not view.actions):
            continue
        out |= {(rule.endpoint, http) for http in rule.methods & {"POST", "PUT", "DELETE"}}
    return out
