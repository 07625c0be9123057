"""Data factories: small, explicit schools for tests (the demo is for people, not tests)."""
import datetime as dt
from dataclasses import dataclass, field

from flask import current_app
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import delete

from app.extensions import db
from app.models import (
    AcademicYear,
    AuditEvent,
    BellSlot,
    ClassUnit,
    Enrolment,
    Guardian,
    Holiday,
    PeriodKind,
    ReportingPeriod,
    School,
    Staff,
    Student,
    StudentGuardian,
    StudyGroup,
    Subject,
    TeachingAssignment,
    WorkType,
)
from app.security.passwords import password_hash

YEAR_START = dt.date(2026, 9, 1)
TODAY = dt.date(2026, 11, 20)  # the school day tests freeze (`frozen_today`): a Friday of the second quarter
_hash_cache: dict[str, str] = {}


def school(short_name: str = "Школа А") -> School:
    """A school with a 5-day week."""
    obj = School(full_name=f"МБОУ «{short_name}»", short_name=short_name, address="ул. Тестовая, 1",
                 director="Директорова Д. Д.", study_days_per_week=5)
    db.session.add(obj)
    db.session.flush()
    return obj


def year(sch: School, start: dt.date = YEAR_START) -> AcademicYear:
    """The academic year starting on `start`, with four quarters and autumn holidays."""
    y = AcademicYear(school=sch, name=f"{start.year}/{start.year + 1}", start=start,
                     end=dt.date(start.year + 1, 8, 31))
    db.session.add(y)
    quarters = [((9, 1), (10, 25)), ((11, 3), (12, 28)), ((1, 12), (3, 21)), ((3, 30), (5, 26))]
    for n, (s, e) in enumerate(quarters, start=1):
        db.session.add(ReportingPeriod(
            school=sch, year=y, kind=PeriodKind.quarter, number=n,
            start=dt.date(start.year + (s[0] < 9), *s), end=dt.date(start.year + (e[0] < 9), *e)))
    db.session.add(Holiday(school=sch, year=y, name="Осенние каникулы",
                           start=dt.date(start.year, 10, 26), end=dt.date(start.year, 11, 2)))
    db.session.add(BellSlot(school=sch, number=1, start_time="08:30", end_time="09:15"))
    db.session.add(WorkType(school=sch, name="Контрольная работа", weight=5))
    db.session.flush()
    return y


def user(username: str, password: str, *roles: str) -> User:
    """A login with the given roles (the password hash is computed once per password)."""
    if password not in _hash_cache:
        _hash_cache[password] = password_hash(password)
    sm = current_app.appbuilder.sm
    obj = User(first_name=username, last_name="Тестов", username=username, email=f"{username}@test.local",
               active=True, password=_hash_cache[password], roles=[sm.find_role(r) for r in roles])
    db.session.add(obj)
    return obj


def staff(sch: School, surname: str, login: User | None = None, position: str = "Учитель") -> Staff:
    """A member of staff, optionally with a login."""
    obj = Staff(school=sch, surname=surname, name="Анна", patronymic="Петровна", position=position, user=login)
    db.session.add(obj)
    return obj


def class_unit(y: AcademicYear, grade: int, letter: str, teacher: Staff | None = None) -> ClassUnit:
    """A class following quarters."""
    obj = ClassUnit(school=y.school, year=y, grade=grade, letter=letter, class_teacher=teacher,
                    period_kind=PeriodKind.quarter)
    db.session.add(obj)
    db.session.flush()
    return obj


def student(cls: ClassUnit, surname: str, name: str = "Иван") -> Student:
    """A student enrolled in the class from the start of its year."""
    obj = Student(school=cls.school, surname=surname, name=name, patronymic="Иванович",
                  birth_date=dt.date(cls.year.start.year - cls.grade - 6, 3, 15), class_unit=cls,
                  enrolled_on=cls.year.start)
    db.session.add(obj)
    db.session.add(Enrolment(school=cls.school, student=obj, class_unit=cls, start=cls.year.start))
    db.session.flush()
    return obj


def subject(sch: School, name: str) -> Subject:
    """A subject graded with marks."""
    obj = Subject(school=sch, name=name, short_name=name[:4])
    db.session.add(obj)
    db.session.flush()  # callers use its id at once (the world's rows are already in the session: no autoflush)
    return obj


def assign(teacher: Staff, subj: Subject, target, hours: float = 3) -> TeachingAssignment:
    """Teacher × subject × target (class, group, stream or plan)."""
    key = {ClassUnit: "class_unit", StudyGroup: "group"}.get(type(target), type(target).__name__.lower())
    if key == "individualplan":
        key = "plan"
    year_obj = target.class_unit.year if isinstance(target, StudyGroup) else target.year
    obj = TeachingAssignment(school=teacher.school, year=year_obj, teacher=teacher, subject=subj,
                             weekly_hours=hours, **{key: target})
    db.session.add(obj)
    return obj


@dataclass
class World:
    """Two schools and their people, by name."""

    school_a: School
    school_b: School
    year_a: AcademicYear
    year_b: AcademicYear
    classes: dict[str, ClassUnit] = field(default_factory=dict)
    students: dict[str, Student] = field(default_factory=dict)
    staff: dict[str, Staff] = field(default_factory=dict)
    subjects: dict[str, Subject] = field(default_factory=dict)
    guardians: dict[str, Guardian] = field(default_factory=dict)


def build_world(password: str) -> World:
    """School A: 5А (teacher `teacher`, class teacher `classteacher`), 5Б (teacher `teacher_b`);
    school B: 5А (teacher `teacher_other`). Logins `admin`, `director`, `registrar`, `auditor`."""
    a, b = school("Школа А"), school("Школа Б")
    ya, yb = year(a), year(b)
    w = World(a, b, ya, yb)
    user("admin", password, "Admin")
    for login, role in (("director", "Administration"), ("registrar", "Registrar"), ("auditor", "Auditor")):
        w.staff[login] = staff(a, login.capitalize() + "ова", user(login, password, role), position=login)
    w.staff["teacher"] = staff(a, "Учителева", user("teacher", password, "Teacher"))
    w.staff["classteacher"] = staff(a, "Классная", user("classteacher", password, "Teacher", "ClassTeacher"))
    w.staff["teacher_b"] = staff(a, "Другова", user("teacher_b", password, "Teacher"))
    w.staff["teacher_other"] = staff(b, "Чужова", user("teacher_other", password, "Teacher"))
    w.staff["director_b"] = staff(b, "Директорова", user("director_b", password, "Administration"))
    w.classes["5А"] = class_unit(ya, 5, "А", w.staff["classteacher"])
    w.classes["5Б"] = class_unit(ya, 5, "Б")
    w.classes["B5А"] = class_unit(yb, 5, "А")
    w.subjects["math"] = subject(a, "Математика")
    w.subjects["math_b"] = subject(b, "Математика")
    for name, cls in (("Алексеев", "5А"), ("Борисов", "5А"), ("Васильев", "5Б"), ("Гаврилов", "B5А")):
        w.students[name] = student(w.classes[cls], name)
    assign(w.staff["teacher"], w.subjects["math"], w.classes["5А"])
    assign(w.staff["teacher_b"], w.subjects["math"], w.classes["5Б"])
    assign(w.staff["teacher_other"], w.subjects["math_b"], w.classes["B5А"])
    for name, kid in (("Алексеева", "Алексеев"), ("Васильева", "Васильев")):
        g = Guardian(school=w.students[kid].school, surname=name, name="Мария", patronymic="Ивановна")
        db.session.add(g)
        db.session.add(StudentGuardian(school=g.school, student=w.students[kid], guardian=g, relation="мать"))
        w.guardians[name] = g
    db.session.flush()
    # The world is the starting state of a school already loaded (as the demo's bulk load): its enrolments
    # and representation links are not in the trail, so each test's trail starts with its own changes.
    db.session.execute(delete(AuditEvent))
    db.session.commit()
    return w


def world_ids(w: World) -> dict:
    """The world's rows as (model, id), to load them again in another session."""
    out = {}
    for name, value in vars(w).items():
        out[name] = {k: (type(v), v.id) for k, v in value.items()} if isinstance(value, dict) \
            else (type(value), value.id)
    return out


def load_world(ids: dict) -> World:
    """The committed world of `world_ids`, read into the current session (a test may change it freely)."""
    values = {}
    for name, value in ids.items():
        values[name] = {k: db.session.get(*v) for k, v in value.items()} if isinstance(value, dict) \
            else db.session.get(*value)
    return World(**values)
