"""Journal speed on the school dataset: a 35-student × ~70-lesson grid. The page's server time against a
baseline (the same cells by two raw queries and a minimal Jinja table), its size and SQL statements (FAB's
permission checks counted apart), and the statements of a JSON save; on SQLite, and on PostgreSQL too
when BENCH_POSTGRES_URL is set."""
import datetime as dt
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jinja2 import Environment  # noqa: E402
from sqlalchemy import bindparam, func, select, text  # noqa: E402

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
from bench.common import databases, median_times, row, school_app, statements  # noqa: E402

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


def fill_class(class_id: int, period_id: int, size: int = 35) -> None:
    """Enrol extra students from the period's start so the class has `size` (the closed periods before it
    refuse new rows)."""
    cls, start = db.session.get(ClassUnit, class_id), db.session.get(ReportingPeriod, period_id).start
    have = db.session.scalar(select(func.count(Enrolment.id)).where(Enrolment.class_unit_id == class_id))
    for n in range(size - have):
        s = Student(school_id=cls.school_id, surname=f"Добавленный{n}", name="Ученик", patronymic="",
                    birth_date=dt.date(cls.year.start.year - cls.grade - 6, 5, 1), class_unit_id=class_id,
                    enrolled_on=start)
        db.session.add(s)
        db.session.add(Enrolment(school_id=cls.school_id, student=s, class_unit_id=class_id, start=start))
    db.session.commit()


BASELINE_TABLE = Environment(autoescape=True).from_string(
    "<table>{% for s in students %}<tr>{% for l in lessons %}<td>{% for v in marks.get((s, l), ()) %}<b>{{ v }}</b>"
    "{% endfor %}{{ absent.get((s, l), '') }}</td>{% endfor %}</tr>{% endfor %}</table>")
MARKS = text("SELECT student_id, lesson_id, value FROM mark WHERE lesson_id IN :lessons AND student_id IN :students"
             ).bindparams(bindparam("lessons", expanding=True), bindparam("students", expanding=True))
ABSENCES = text("SELECT student_id, lesson_id, code FROM attendance WHERE lesson_id IN :lessons "
                "AND student_id IN :students").bindparams(bindparam("lessons", expanding=True),
                                                          bindparam("students", expanding=True))


def baseline_page(connection, lessons: list[int], students: list[int]) -> str:
    """The floor of the grid page: its cells by two raw queries, drawn as a bare Jinja table."""
    ids = {"lessons": lessons, "students": students}
    marks: dict = {}
    for student, lesson, value in connection.execute(MARKS, ids):
        marks.setdefault((student, lesson), []).append(value)
    absent = {(student, lesson): code for student, lesson, code in connection.execute(ABSENCES, ids)}
    return BASELINE_TABLE.render(students=students, lessons=lessons, marks=marks, absent=absent)


WARM_UP = 12  # runs before timing, of the page and of the baseline (see below)


def measure(label: str, url: str | None) -> None:
    """Load the demo into a fresh database and print the journal's rows of the bench table."""
    app = school_app(TODAY, url=url)
    with app.app_context():
        if url:  # the planner's statistics of the fresh load, as autovacuum would gather them
            with db.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        class_id, subject_id, period_id, lessons = biggest_grid()
        fill_class(class_id, period_id)
        period = db.session.get(ReportingPeriod, period_id)
        assignment = db.session.scalar(select(TeachingAssignment).where(
            TeachingAssignment.class_unit_id == class_id, TeachingAssignment.subject_id == subject_id))
        teacher = assignment.teacher.user.username
        lesson = db.session.scalar(select(Lesson).where(Lesson.assignment_id == assignment.id,
                                                        Lesson.status == LessonStatus.held)
                                   .order_by(Lesson.date.desc()).limit(1))
        student = db.session.scalar(select(Student.id).where(Student.class_unit_id == class_id,  # an empty cell
                                                             Student.surname.like("Добавленный%")).limit(1))
        work_type = db.session.scalar(select(WorkType.id).where(WorkType.school_id == assignment.school_id).limit(1))
        grid_lessons = db.session.scalars(select(Lesson.id).join(TeachingAssignment).where(
            TeachingAssignment.class_unit_id == class_id, TeachingAssignment.subject_id == subject_id,
            Lesson.date.between(period.start, period.end)).order_by(Lesson.date, Lesson.bell_slot_id)).all()
        grid_students = db.session.scalars(select(Enrolment.student_id).where(
            Enrolment.class_unit_id == class_id)).all()
        app.config["SCHOOL_TODAY"] = TODAY
    client = app.test_client()
    client.post("/login/", data={"username": teacher, "password": "demo"})
    url = f"/journal/grid?target=class_id&id={class_id}&subject={subject_id}&period={period_id}"
    # Requests run outside any app context, each in its own as when served: an outer one would keep the
    # user in its g and the loaded rows in its session between requests, and time less than a school waits.
    # The baseline has a connection of its own, taken first: the page's requests warm up the one they use.
    # Both sides warm up alike, to PostgreSQL's steady state: the connection prepares a statement after its
    # fifth run (app.extensions) and PostgreSQL plans it anew for five runs more before it keeps one plan. The
    # page's first eleven requests took 40-190 ms, the next seventy 28-33 ms (a warm-up of 5 timed some of them).
    with app.app_context():
        engine = db.engine
    with engine.connect() as connection:
        for _ in range(WARM_UP):
            client.get(url)
            baseline_page(connection, grid_lessons, grid_students)
        with statements(app) as page_statements:
            response = client.get(url)
        assert response.status_code == 200, response.status_code
        seconds, baseline = median_times(lambda: client.get(url),
                                         lambda: baseline_page(connection, grid_lessons, grid_students), runs=9)
    body = {"lesson_id": lesson.id, "student_id": student, "kind": "mark", "work_type_id": work_type,
            "value": 4, "version": None, "period_id": period_id}
    cleared = client.post("/journal/cell", json={**body, "value": None})  # start from an empty cell:
    if cleared.status_code == 409:  # it holds a mark the clearing must name as seen
        seen = [[m["id"], m["version"]] for m in cleared.get_json()["marks"]]
        client.post("/journal/cell", json={**body, "value": None, "seen": seen})
    with statements(app) as save_statements:
        saved = client.post("/journal/cell", json=body)
    # FAB's user, roles and permissions, the session epoch: every request's, not the save's
    signing_in = [sql for sql in save_statements if re.search(r"\b(ab_\w+|session_epoch)\b", sql)]
    assert saved.status_code == 200, saved.get_json()
    students = response.get_data(as_text=True).count('<tr data-student=')
    fab = sum("ab_permission_view" in s for s in page_statements)
    print(f"journal grid ({label}): {students} students × {lessons} lessons")
    row("grid page, server time (median of 9)", round(seconds * 1000, 1), round(baseline * 1000, 1),
        "≤ 3×", " ms")
    row("grid page size", round(len(response.data) / 1024), None, "≤ 150 KB", " KB")
    row(f"grid page SQL statements ({fab} of them FAB's menu and permission checks)", len(page_statements),
        None, "≤ 15")
    row("cell save (POST /journal/cell), SQL statements", len(save_statements),
        target="≤ 12, audit and outbox included")
    row("  of them the save's own (without signing in and FAB's permission check)",
        len(save_statements) - len(signing_in))


def main() -> None:
    for name, url in databases():
        measure(name, url)


if __name__ == "__main__":
    main()
