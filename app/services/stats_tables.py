"""The statistics dashboard's data at each level (school → grade → class → student) and its tables
as CSV rows; a fixed number of aggregate queries per level, whatever the number of classes."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AttendanceCode,
    ClassUnit,
    Enrolment,
    FinalValue,
    LessonType,
    ReportingPeriod,
    Staff,
    Student,
    Subject,
    TeachingAssignment,
)
from app.services.fulfilment import attendance, attendance_totals, curriculum, curriculum_totals
from app.services.membership import enrolled_between
from app.services.stats import Filters, NotFound, class_students, student_finals
from app.services.stats_cache import results

VALUES = [v.value for v in FinalValue]
CODES = [c.value for c in AttendanceCode]
TYPES = [t.value for t in LessonType]


def student_class(f: Filters, student_id: int) -> tuple[Student, ClassUnit | None]:
    """The student (of the period's school) and their class at the period's end (or the last one)."""
    student = db.session.get(Student, student_id)
    if student is None or student.school_id != f.period.school_id:
        raise NotFound(_l("No such student in your school."), "student_id")
    unit = db.session.scalar(
        select(ClassUnit).join(Enrolment, Enrolment.class_unit_id == ClassUnit.id)
        .where(Enrolment.student_id == student_id, ClassUnit.year_id == f.period.year_id,
               enrolled_between(f.period.start, f.period.end))
        .order_by(Enrolment.start.desc()).limit(1))
    return student, unit


def own_period(f: Filters, unit: ClassUnit | None) -> ReportingPeriod:
    """The class's own period among those the results cover (a half-year class in a quarter view)."""
    pid = next((pid for kind, pid in f.scheme_periods() if unit is not None and unit.period_kind == kind), None)
    return db.session.get(ReportingPeriod, pid) if pid not in (None, f.period.id) else f.period


def choices(f: Filters) -> dict:
    """Subjects of the school and teachers of the year, for the dashboard's filters."""
    subjects = db.session.execute(select(Subject.id, Subject.name).where(
        Subject.school_id == f.period.school_id).order_by(Subject.name)).tuples().all()
    teachers = db.session.scalars(select(Staff).where(Staff.id.in_(select(TeachingAssignment.teacher_id).where(
        TeachingAssignment.year_id == f.period.year_id))).order_by(Staff.surname, Staff.name, Staff.id)).all()
    return {"subjects": subjects, "teachers": [(t.id, t.short_name) for t in teachers]}


def dashboard(f: Filters, student_id: int | None = None) -> dict:
    """Everything one level of the dashboard shows."""
    if student_id is not None:
        student, unit = student_class(f, student_id)
        return {"level": "student", "student": student, "class": unit,
                "finals": student_finals(own_period(f, unit), student_id), "attendance": attendance(f, student_id)}
    if f.class_id is not None:
        unit = db.session.get(ClassUnit, f.class_id)
        return {"level": "class", "class": unit, "results": results(f), "students": class_students(f),
                "curriculum": curriculum(f), "attendance": attendance(f)}
    rows = curriculum(f)
    if f.grade is not None:
        return {"level": "grade", "results": results(f), "curriculum": curriculum_totals(rows, "class"),
                "attendance": attendance(f)}
    return {"level": "school", "results": results(f), "curriculum": curriculum_totals(rows, "grade"),
            "attendance": attendance_totals(attendance(f))}


def _pct(value) -> str:
    return "" if value is None else f"{value:.2f}"


def _metrics_header(first: list) -> list:
    return [*first, "N", *VALUES, *(f"{_l(name)}, %" for name in ("Success", "Quality", "SOU")), str(_l("Average"))]


def _metrics_row(first: list, m: dict) -> list:
    return [*first, m["n"], *(m["counts"].get(v, 0) for v in VALUES), _pct(m["success"]), _pct(m["quality"]),
            _pct(m["sou"]), _pct(m["average"])]


STUDENT_COLUMNS = ("students", "students_n", "successful", "successful_pct", "quality_students",
                   "quality_students_pct")


def _student_header() -> list:
    return [str(_l("Students at period end")), str(_l("Certified students")), str(_l("Successful")),
            str(_l("Successful")) + ", %", str(_l("Quality students")), str(_l("Quality students")) + ", %"]


def table(name: str, f: Filters, student_id: int | None = None) -> tuple[list, list[list]]:
    """(header, rows) of one dashboard table for CSV; RuleViolation-free, KeyError for an unknown name."""
    if name in ("grades", "classes", "subjects", "teachers"):
        data = results(f)[name]
        first = {"grades": ("grade",), "classes": ("name",), "subjects": ("name",), "teachers": ("name",)}[name]
        extra = name in ("grades", "classes")
        header = _metrics_header([str(_l("Name"))]) + (_student_header() if extra else [])
        rows = [_metrics_row([r[k] for k in first], r) + ([_pct(r[c]) if c.endswith("pct") else r[c]
                                                           for c in STUDENT_COLUMNS] if extra else [])
                for r in data]
        return header, rows
    if name == "students":
        header = [str(_l("Student")), *VALUES, str(_l("Successful")), str(_l("Quality"))]
        return header, [[r["name"], *(r["counts"].get(v, 0) for v in VALUES), int(r["successful"]),
                         int(r["quality"])] for r in class_students(f)]
    if name == "curriculum":
        header = [str(_l("Class")), str(_l("Subject")), str(_l("Group")), str(_l("Planned hours")), str(_l("Held")),
                  str(_l("Cancelled")), str(_l("Scheduled")), str(_l("Deficit")), str(_l("Fulfilled")) + ", %", *TYPES,
                  str(_l("Control works planned")), str(_l("Control works held"))]
        return header, [[r["class"], r["subject"], r["group"], r["planned"], r["held"], r["cancelled"], r["scheduled"],
                         r["deficit"], r["percent"], *(r["by_type"].get(t, 0) for t in TYPES), r["control_planned"],
                         r["control_held"]] for r in curriculum(f)]
    if name == "attendance":
        header = [str(_l("Class")), *CODES, str(_l("Missed lessons"))]
        return header, [[r["class"], *(r["codes"][c] for c in CODES), r["missed"]]
                        for r in attendance(f, student_id)]
    if name == "finals" and student_id is not None:
        header = [str(_l("Subject")), str(_l("Final")), str(_l("Status")), str(_l("Proposed")), str(_l("Average"))]
        return header, [[r["subject"], r["value"] or "", r["status"], r["proposed"] or "", r["average"] or ""]
                        for r in student_finals(own_period(f, student_class(f, student_id)[1]), student_id)]
    raise KeyError(name)

