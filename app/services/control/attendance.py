"""Attendance by student and by class over any date range, by reason (the codes of
`app.models.journal.AttendanceCode`; «missed» are `MISSED_CODES`, a late arrival is not one). A student
counts in the class they were enrolled in on the lesson's day; cancelled lessons do not count."""
import dataclasses
from collections import defaultdict

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select

from app.extensions import db
from app.models import (
    Attendance,
    AttendanceCode,
    ClassUnit,
    Enrolment,
    Lesson,
    LessonStatus,
    Student,
    StudyGroup,
    TeachingAssignment,
)
from app.models.journal import MISSED_CODES
from app.services.control import Report, Table, person
from app.services.control.filters import ControlFilters, lesson_conditions

CODE_COLUMNS = [(code.value, code.value) for code in AttendanceCode]
STUDENT_COLUMNS = [("class", _l("Class")), ("student", _l("Student")), *CODE_COLUMNS, ("missed", _l("Missed lessons"))]
CLASS_COLUMNS = [("class", _l("Class")), ("students", _l("Students with entries")), *CODE_COLUMNS,
                 ("missed", _l("Missed lessons"))]


def _counts(f: ControlFilters):
    """(class, student, code, count) over the range: one GROUP BY statement."""
    journals = dataclasses.replace(f, class_id=None)
    ta = TeachingAssignment
    query = (select(ClassUnit.id, ClassUnit.grade, ClassUnit.letter, Student.id, Student.surname, Student.name,
                    Student.patronymic, Attendance.code, func.count(Attendance.id))
             .select_from(Attendance).join(Lesson, Lesson.id == Attendance.lesson_id)
             .join(ta, ta.id == Lesson.assignment_id).outerjoin(StudyGroup, StudyGroup.id == ta.group_id)
             .join(Student, Student.id == Attendance.student_id)
             .join(Enrolment, and_(Enrolment.student_id == Attendance.student_id, Enrolment.start <= Lesson.date,
                                   (Enrolment.end.is_(None)) | (Enrolment.end >= Lesson.date)))
             .join(ClassUnit, ClassUnit.id == Enrolment.class_unit_id)
             .where(*lesson_conditions(journals), Lesson.status != LessonStatus.cancelled)
             .group_by(ClassUnit.id, ClassUnit.grade, ClassUnit.letter, Student.id, Student.surname, Student.name,
                       Student.patronymic, Attendance.code)
             .order_by(ClassUnit.grade, ClassUnit.letter, Student.surname, Student.name, Student.id))
    if f.class_id is not None:
        query = query.where(ClassUnit.id == f.class_id)
    return db.session.execute(query).all()


def attendance(f: ControlFilters) -> Report:
    """Missed lessons and late arrivals by student and by class from the filters' start to end."""
    missed = {code.value for code in MISSED_CODES}
    students: dict[tuple, dict] = {}
    classes: dict[int, dict] = {}
    members = defaultdict(set)
    for class_id, grade, letter, sid, surname, name, patronymic, code, count in _counts(f):
        key = (class_id, sid)
        row = students.setdefault(key, {"class": f"{grade}{letter}", "student": person(surname, name, patronymic),
                                        "student_id": sid, "class_id": class_id, "missed": 0,
                                        **{c: 0 for c, _ in CODE_COLUMNS}})
        total = classes.setdefault(class_id, {"class": f"{grade}{letter}", "class_id": class_id, "missed": 0,
                                              "grade": (grade, letter), **{c: 0 for c, _ in CODE_COLUMNS}})
        value = AttendanceCode(code).value
        for target in (row, total):
            target[value] += count
            target["missed"] += count if value in missed else 0
        members[class_id].add(sid)
    for class_id, total in classes.items():
        total["students"] = len(members[class_id])
    note = _l("From %(start)s to %(end)s; missed lessons are %(codes)s (late arrivals are not).",
              start=f"{f.start:%d.%m.%Y}", end=f"{f.end:%d.%m.%Y}", codes=", ".join(sorted(missed)))
    by_class = sorted(classes.values(), key=lambda r: r["grade"])
    return Report(str(_l("Attendance")), str(note), [
        Table("classes", str(_l("By class")), CLASS_COLUMNS, by_class),
        Table("students", str(_l("By student")), STUDENT_COLUMNS, list(students.values()))])
