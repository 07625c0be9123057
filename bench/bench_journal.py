"""Journal speed on the school dataset: a 35-student × ~70-lesson grid (SQL statements per page and
per JSON save, and the page's server time)."""
import datetime as dt
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, func, select  # noqa: E402

from app.extensions import db  # noqa: E402
from app.models import (  # noqa: E402
    ClassUnit,
    Enrolment,
    Lesson,
    LessonStatus,
    ReportingPeriod,
    Student,
    TeachingAssignment,
    WorkType,
)
from bench.common import count_statements, median_time, row, school_app  # noqa: E402

TODAY = "2027-05-20"


def biggest_grid():
    """The class × subject × period with the most lessons (a senior class's algebra half-year)."""
    row = db.session.execute(
        select(TeachingAssignment.class_unit_id, TeachingAssignment.subject_id, ReportingPeriod.id,
               func.count(Lesson.id).label("n"))
        .join(Lesson, Lesson.assignment_id == TeachingAssignment.id)
        .join(ClassUnit, ClassUnit.id == TeachingAssignment.class_unit_id)
        .join(ReportingPeriod, (ReportingPeriod.year_id == ClassUnit.year_id)
              & (ReportingPeriod.kind == ClassUnit.period_kind)
              & Lesson.date.between(ReportingPeriod.start, ReportingPeriod.end))
        .group_by(TeachingAssignment.class_unit_id, TeachingAssignment.subject_id, ReportingPeriod.id)
        .order_by(func.count(Lesson.id).desc()).limit(1)).one()
    return row


def fill_class(class_id: int, size: int = 35) -> None:
    """Enrol extra students so the class has `size`."""
    cls = db.session.get(ClassUnit, class_id)
    have = db.session.scalar(select(func.count(Enrolment.id)).where(Enrolment.class_unit_id == class_id))
    for n in range(size - have):
        s = Student(school_id=cls.school_id, surname=f"Добавленный{n}", name="Ученик", patronymic="",
                    birth_date=dt.date(cls.year.start.year - cls.grade - 6, 5, 1), class_unit_id=class_id,
                    enrolled_on=dt.date.fromisoformat(TODAY))
        db.session.add(s)
        db.session.add(Enrolment(school_id=cls.school_id, student=s, class_unit_id=class_id,  # not into a closed period
                                 start=dt.date.fromisoformat(TODAY)))
    db.session.commit()


def main() -> None:
    app = school_app(TODAY)
    with app.app_context():
        class_id, subject_id, period_id, lessons = biggest_grid()
        fill_class(class_id)
        assignment = db.session.scalar(select(TeachingAssignment).where(
            TeachingAssignment.class_unit_id == class_id, TeachingAssignment.subject_id == subject_id))
        teacher = assignment.teacher.user.username
        lesson = db.session.scalar(select(Lesson).where(Lesson.assignment_id == assignment.id,
                                                        Lesson.status == LessonStatus.held)
                                   .order_by(Lesson.date.desc()).limit(1))
        student = db.session.scalar(select(Enrolment.student_id).where(Enrolment.class_unit_id == class_id).limit(1))
        work_type = db.session.scalar(select(WorkType.id).where(WorkType.school_id == assignment.school_id).limit(1))
        app.config["SCHOOL_TODAY"] = TODAY
    client = app.test_client()
    client.post("/login/", data={"username": teacher, "password": "demo"})
    url = f"/journal/grid?target=class_id&id={class_id}&subject={subject_id}&period={period_id}"
    with app.app_context():
        with count_statements() as page_statements:
            response = client.get(url)
        assert response.status_code == 200, response.status_code
        seconds = median_time(lambda: client.get(url))
        body = {"lesson_id": lesson.id, "student_id": student, "kind": "mark", "work_type_id": work_type,
                "value": 4, "version": None, "period_id": period_id}
        cleared = client.post("/journal/cell", json={**body, "value": None})  # start from an empty cell:
        if cleared.status_code == 409:  # it holds a mark the clearing must name as seen
            seen = [[m["id"], m["version"]] for m in cleared.get_json()["marks"]]
            client.post("/journal/cell", json={**body, "value": None, "seen": seen})
        signing_in = []  # FAB's user, roles and permissions, the session epoch: every request's, not the save's
        listen = event.listens_for(db.engine, "before_cursor_execute")(
            lambda _c, _cu, sql, *_a: signing_in.append(1) if re.search(r"\b(ab_\w+|session_epoch)\b", sql) else None)
        with count_statements() as save_statements:
            saved = client.post("/journal/cell", json=body)
        event.remove(db.engine, "before_cursor_execute", listen)
        assert saved.status_code == 200, saved.get_json()
    students = response.get_data(as_text=True).count('<tr data-student=')
    print(f"journal grid: {students} students × {lessons} lessons")
    print(f"  SQL statements per page: {page_statements[0]}")
    row("cell save (POST /journal/cell), SQL statements", save_statements[0], target="≤ 12, audit and outbox included")
    row("  of them the save's own (without signing in and FAB's permission check)",
        save_statements[0] - len(signing_in))
    print(f"  page server time (median of 5): {seconds * 1000:.0f} ms")


if __name__ == "__main__":
    main()
