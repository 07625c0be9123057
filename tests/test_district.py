"""A district on one database (issue 19): the grid page, the cell save and the school statistics of one
school cost the same SQL statements with 1 and with 3 schools in the database, the page and the save read
the same rows (the freeze guard reads the school's own closed periods, not the district's), and a school's
users see only their school. `school demo --schools N` refuses a bad N and writes nothing (its loads are checked in
tests/test_cli.py's way, once, on the small size)."""
import contextlib
import datetime as dt
import re

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import event, insert, select

from app.extensions import db
from app.models import (
    AcademicYear,
    BellSlot,
    FinalGrade,
    FinalStatus,
    FinalValue,
    Lesson,
    Mark,
    PeriodKind,
    ReportingPeriod,
    School,
    Staff,
    Student,
    TeachingAssignment,
    WorkType,
)
from app.security import scope
from app.services import stats_cache
from app.services.consent import channels
from app.services.errors import RuleViolation
from tests import factories
from tests.conftest import PASSWORD
from tests.journal_helpers import HARNESS, HTTP_WEEK, count, period_of, statements

pytestmark = pytest.mark.usefixtures("frozen_today")


def district_school(n: int) -> dict:
    """School n: a director `sN-director`, a teacher `sN-teacher` of 5А's mathematics (4 students), a week
    of lessons with a mark each, the first quarter's finals, and last year closed."""
    school = factories.school(f"Школа № {n}")
    year = factories.year(school)
    director = factories.staff(school, "Директорова", factories.user(f"s{n}-director", PASSWORD, "Administration"))
    teacher = factories.staff(school, "Учителева", factories.user(f"s{n}-teacher", PASSWORD, "Teacher"))
    cls = factories.class_unit(year, 5, "А", teacher)
    math = factories.subject(school, "Математика")
    assignment = factories.assign(teacher, math, cls)
    students = [factories.student(cls, surname) for surname in ("Алексеев", "Борисов", "Васильев", "Гаврилов")]
    slot = db.session.scalar(select(BellSlot).where(BellSlot.school_id == school.id))
    work_type = db.session.scalar(select(WorkType).where(WorkType.school_id == school.id))
    lessons = [Lesson(school_id=school.id, assignment=assignment, date=day, bell_slot_id=slot.id,
                      teacher_id=teacher.id) for day in HTTP_WEEK]
    db.session.add_all(lessons)
    db.session.flush()
    q1 = period_of(year, 1)
    # Last year, closed with its year period, as the demo leaves it (`school new-year`): the freeze guard of
    # every save looks at the closed periods, and a district has one such year per school.
    last = {"school_id": school.id, "start": dt.date(2025, 9, 1)}
    last_id = db.session.execute(insert(AcademicYear).values(name="2025/2026", end=dt.date(2026, 8, 31), closed=True,
                                                             **last).returning(AcademicYear.id)).scalar_one()
    db.session.execute(insert(ReportingPeriod).values(year_id=last_id, kind=PeriodKind.year.value, number=1,
                                                      end=dt.date(2026, 5, 26), closed=True, **last))
    db.session.add_all(Mark(school_id=school.id, lesson_id=lesson.id, student_id=students[0].id,
                            work_type_id=work_type.id, value=4, author="teacher") for lesson in lessons)
    db.session.add_all(FinalGrade(school_id=school.id, student_id=s.id, subject_id=math.id, period_id=q1.id,
                                  value=FinalValue(str(3 + k % 3)), status=FinalStatus.final)
                       for k, s in enumerate(students))
    db.session.commit()
    return {"school": school, "director": director, "cls": cls, "math": math, "q1": q1, "q2": period_of(year, 2),
            "lessons": lessons, "students": students, "work_type": work_type}


@contextlib.contextmanager
def rows_read():
    """(rows, statement) of each SELECT sent while the block runs: the same statement with its parameters,
    wrapped in a COUNT, on the same connection (so it sees what the test wrote and not yet committed)."""
    seen: list[tuple[int, str]] = []

    def count_rows(_conn, cursor, statement, parameters, _context, executemany):
        if executemany or HARNESS.match(statement) or not re.match(r"\s*(SELECT|WITH)\b", statement, re.I):
            return
        probe = cursor.connection.cursor()
        probe.execute(f"SELECT count(*) FROM ({statement}) AS probed", parameters)
        seen.append((probe.fetchone()[0], statement))
        probe.close()

    event.listen(db.engine, "after_cursor_execute", count_rows)
    try:
        yield seen
    finally:
        event.remove(db.engine, "after_cursor_execute", count_rows)


def statements_of(call, rows: list | None = None) -> tuple[int, object]:
    """How many SQL statements `call()` sends, and its response; with `rows`, the rows its SELECTs return
    are added to it (see rows_read)."""
    with statements() as seen, rows_read() as read:
        response = call()
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    if rows is not None:
        rows.extend(read)
    return len(seen), response


def costs(app, s: dict, n: int, cell: int, rows: dict | None = None) -> dict[str, int]:
    """Statements of school n's grid page and of a save into an empty cell (its teacher), and of the
    statistics of its first quarter (its director over the REST API); each call once before, to warm up.
    `rows` gets the (rows, statement) the page's and the save's SELECTs read."""
    rows = {"page": [], "save": []} if rows is None else rows
    teacher = app.test_client()
    assert teacher.post("/login/", data={"username": f"s{n}-teacher", "password": PASSWORD}).status_code == 302
    grid = (f"/journal/grid?target=class_id&id={s['cls'].id}&subject={s['math'].id}&period={s['q2'].id}")
    token = app.test_client().post("/api/v1/security/login", json={
        "username": f"s{n}-director", "password": PASSWORD, "provider": "db", "refresh": False}).json["access_token"]
    stats = f"/api/v1/stats/results?period_id={s['q1'].id}"

    def get_stats():  # computed, not cached: its statements are what could grow with the district
        stats_cache.clear()
        return app.test_client().get(stats, headers={"Authorization": f"Bearer {token}"})

    def save(lesson: int):
        return teacher.post("/journal/cell", json={
            "kind": "mark", "lesson_id": s["lessons"][lesson].id, "student_id": s["students"][cell].id,
            "work_type_id": s["work_type"].id, "value": 5, "version": None, "period_id": s["q2"].id})

    teacher.get(grid), get_stats(), save(0)
    page, response = statements_of(lambda: teacher.get(grid), rows["page"])
    assert response.get_data(as_text=True).count("<tr data-student=") == 4
    saved, _ = statements_of(lambda: save(1), rows["save"])
    figures, response = statements_of(get_stats)
    assert response.json["school"]["n"] == 4
    return {"page": page, "save": saved, "stats": figures}


def test_one_schools_statements_and_rows_do_not_grow_with_the_district(app):
    first = district_school(1)
    alone_rows, rows = {"page": [], "save": []}, {"page": [], "save": []}
    alone = costs(app, first, 1, cell=1, rows=alone_rows)
    print("statements of one school:", alone)
    third = [district_school(n) for n in (2, 3)][-1]
    assert count(School) == 3
    assert costs(app, first, 1, cell=2) == alone, "school 1 alone vs in a district of 3"
    assert costs(app, third, 3, cell=1, rows=rows) == alone, "school 3 of 3 vs school 1 alone"
    for what in ("page", "save"):  # the same data as school 1's alone; every school has a closed year
        grown = [(n, m, sql[:160]) for (n, sql), (m, _) in zip(alone_rows[what], rows[what], strict=True) if n != m]
        assert not grown, f"the {what}'s rows grow with the district (alone, district, statement): {grown}"


def test_a_closed_year_of_another_school_still_refuses_in_the_same_transaction(app):
    """The closed state is read per school: a transaction that read school 1's still refuses school 2's rows
    of its closed year (a lesson dated in last year, by the before-flush guard)."""
    first, second = district_school(1), district_school(2)
    lesson = first["lessons"][0]
    db.session.add(Mark(school_id=first["school"].id, lesson_id=lesson.id, student_id=first["students"][1].id,
                        work_type_id=first["work_type"].id, value=5, author="teacher"))
    db.session.flush()  # school 1 read, nothing of it closed this year
    old = second["lessons"][0]
    db.session.add(Lesson(school_id=second["school"].id, assignment_id=old.assignment_id,
                          date=dt.date(2026, 3, 2), bell_slot_id=old.bell_slot_id, teacher_id=old.teacher_id))
    with pytest.raises(RuleViolation) as refused:
        db.session.flush()
    assert "2025/2026" in refused.value.message and "закрыт" in refused.value.message, refused.value.message
    db.session.rollback()
    assert count(Lesson, Lesson.school_id == second["school"].id) == len(HTTP_WEEK)


def test_a_district_schools_users_see_only_their_school(app):
    schools = {n: district_school(n) for n in (1, 2)}
    client = app.test_client()
    token = client.post("/api/v1/security/login", json={
        "username": "s2-director", "password": PASSWORD, "provider": "db", "refresh": False}).json["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    listed = client.get("/api/v1/student/?q=(page_size:100)", headers=auth)
    assert listed.status_code == 200 and set(listed.json["ids"]) == {s.id for s in schools[2]["students"]}
    foreign = client.get(f"/api/v1/stats/results?period_id={schools[1]['q1'].id}", headers=auth)
    assert foreign.status_code == 404 and "нет такого отчётного периода" in foreign.json["message"], foreign.json
    assert client.get(f"/api/v1/student/{schools[1]['students'][0].id}", headers=auth).status_code == 404


def test_a_teachers_journals_name_their_school_outside_the_subquery(app):
    """PostgreSQL planned the journal switcher's `id IN (the school's journals)` by joining every school's
    assignments with their relations first (7.6 ms of the page in a district of 20; 0.6 ms now): the clause
    names the school at its top too, so that the school's index starts the plan. Same journals."""
    s, _other = district_school(1), district_school(2)
    teacher = db.session.scalar(select(User).where(User.username == "s1-teacher"))
    clause = scope.journal_clause(scope.scope_for_user(teacher))
    parts = getattr(clause, "clauses", [clause])
    assert any(part.compare(TeachingAssignment.school_id == s["school"].id) for part in parts), str(clause)
    assert db.session.scalars(select(TeachingAssignment.id).where(clause)).all() == [s["lessons"][0].assignment_id]


def test_the_saves_consent_read_ranks_only_its_students_decisions(app):
    """Every save's outbox asks the student's consent and channel: the latest decision was ranked over every
    school's decisions before the student was picked (PostgreSQL scanned the district's consents, 0.7 ms of
    the save in a district of 20). The ranking itself now names the students."""
    with statements() as seen:
        channels([1, 2], dt.date(2026, 11, 20))
    [sql] = [s for s in seen if "row_number()" in s]
    ranking = sql[sql.index("row_number()"):]
    named = "= ANY" if db.engine.dialect.name == "postgresql" else "IN"  # id_lists.among: one array, or json_each
    assert f"consent.student_id {named}" in ranking[:ranking.index(") AS anon_")], sql


# ---------------------------------------------------------------- school demo --schools N: bad N


@pytest.mark.parametrize("value", ["0", "-1", "три", "2.5", "101", ""])
def test_demo_refuses_a_bad_number_of_schools_and_writes_nothing(runner, value):
    result = runner.invoke(args=["school", "demo", "--size", "small", "--schools", value])
    assert result.exit_code == 2, result.output
    message = result.output + (getattr(result, "stderr", "") or "")
    assert "--schools: число школ должно быть целым, от 1 до 100" in message, message
    assert f"«{value}»" in message and "Traceback" not in message
    assert count(School) == count(Student) == count(Staff) == 0
    assert db.session.scalar(select(User.id).where(User.username.in_(["director", "s02-director"]))) is None


# ---------------------------------------------------------------- school demo --schools N: the district


def test_demo_schools_adds_the_missing_schools_with_prefixed_logins(runner):
    """School 1 «already there» (a stand-in row: one small load is what this test can afford), so
    `--schools 2` skips it and loads school 2: «Школа № 2», every login prefixed `s02-`."""
    factories.school("Лицей № 2")
    db.session.commit()
    result = runner.invoke(args=["school", "demo", "--size", "small", "--seed", "3", "--today", "2026-11-28",
                                 "--schools", "2"])
    assert result.exit_code == 0, result.output
    assert "Демо-школа «Лицей № 2» уже загружена." in result.output
    assert "Демо-школа «Школа № 2», 2026/2027 учебный год:" in result.output
    assert "s02-director, s02-deputy, s02-registrar, s02-auditor, s02-teacher01 … s02-teacher16" in result.output
    second = db.session.scalar(select(School).where(School.short_name == "Школа № 2"))
    logins = db.session.scalars(select(User.username).join(Staff, Staff.user_id == User.id)
                                .where(Staff.school_id == second.id)).all()
    assert len(logins) == 20 and all(login.startswith("s02-") for login in logins)
    assert db.session.scalar(select(User.id).where(User.username == "director")) is None
    assert count(Student, Student.school_id == second.id) > 0
    again = runner.invoke(args=["school", "demo", "--size", "small", "--seed", "3", "--today", "2026-11-28",
                                "--schools", "2"])
    assert "Демо-школа «Школа № 2» уже загружена." in again.output and count(School) == 2
