"""The deputy's control reports (контроль ведения журнала) on a small hand-built world; every expected number
is counted by hand from `build` below.

School A, first quarter (01.09–25.10.2026), today Wednesday 14.10.2026; 5А mathematics (`teacher`, Mondays in
the timetable) held on 07.09, 14.09, 21.09 and 28.09, cancelled on 05.10, planned on 19.10 (one Monday left
before the holidays); 5Б mathematics (`teacher_b`) held on 08.09.

    lesson   topic      homework   Алексеев          Борисов        Васильев (5Б)
    07.09    Дроби      № 1        mark (same day)   mark, УП? no    —
    14.09    —          № 2        mark (+7 days)    mark           —
    21.09    Проценты   —          —                 mark           —
    28.09    —          —          —                 —              —
    08.09 5Б x          —                                           mark, Н

Attendance of 5А: Алексеев Н 07.09, Б 14.09, ОП 21.09; Борисов УП 21.09.
Q1 finals: Алексеев proposed 4 → 5 («Победитель олимпиады»), Борисов 3 → 3, Васильев 4 → 3 (no reason).
"""
import csv
import datetime as dt
import io

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from app.extensions import db
from app.models import Attendance, AttendanceCode, ClassUnit, FinalGrade, FinalValue, LessonStatus, Mark
from tests.journal_helpers import (
    add_lessons,
    add_students,
    freeze_today,
    period_of,
    statements,
    timetable_entry,
    work_type,
)
from tests.stats_helpers import final

TODAY = dt.date(2026, 10, 14)


def at(day: int, month: int = 9) -> dt.datetime:
    return dt.datetime(2026, month, day, 15, 0)


def build(world) -> dict:
    """The world of the module docstring."""
    timetable_entry(world, 0)
    l1, l2, l3, l4 = add_lessons(world, *(dt.date(2026, 9, d) for d in (7, 14, 21, 28)), status=LessonStatus.held)
    for lesson, topic, homework in ((l1, "Дроби", "№ 1"), (l2, "", "№ 2"), (l3, "Проценты", ""), (l4, "", "")):
        lesson.topic, lesson.homework = topic, homework
    add_lessons(world, dt.date(2026, 10, 5), status=LessonStatus.cancelled)
    add_lessons(world, dt.date(2026, 10, 19))
    [b1] = add_lessons(world, dt.date(2026, 9, 8), cls="5Б", status=LessonStatus.held, topic="x", homework="")
    answer = work_type(world, "Ответ на уроке", 1)
    alex, boris, vas = (world.students[n] for n in ("Алексеев", "Борисов", "Васильев"))
    marks = [(l1, alex, at(7)), (l2, alex, at(21)), (l1, boris, at(7)), (l2, boris, at(14)), (l3, boris, at(21)),
             (b1, vas, at(8))]
    db.session.add_all(Mark(school_id=lesson.school_id, lesson_id=lesson.id, student_id=student.id, value=4,
                            work_type_id=answer.id, author="teacher", created_at=when)
                       for lesson, student, when in marks)
    codes = [(l1, alex, "Н"), (l2, alex, "Б"), (l3, alex, "ОП"), (l3, boris, "УП"), (b1, vas, "Н")]
    db.session.add_all(Attendance(school_id=lesson.school_id, lesson_id=lesson.id, student_id=student.id,
                                  code=AttendanceCode(code), author="teacher") for lesson, student, code in codes)
    q1 = period_of(world.year_a, 1)
    math = world.subjects["math"]
    for student, proposed, value, reason in ((alex, "4", "5", "Победитель олимпиады"), (boris, "3", "3", ""),
                                             (vas, "4", "3", "")):
        grade = final(student, math, q1, value)
        grade.proposed_value, grade.decision_reason, grade.decided_by = FinalValue(proposed), reason, "teacher"
    db.session.commit()
    return {"q1": q1}


@pytest.fixture
def control(app, world, isolated):
    freeze_today(app, TODAY)
    return build(world)


def page(client, name: str, **params):
    answer = client.get(f"/control/{name}/", query_string=params)
    assert answer.status_code == 200, answer.text[:400]
    return answer.text


def report(client, name: str, table: str, **params) -> list[dict]:
    """A table of a report as its CSV gives it: a dict per row by column title."""
    answer = client.get("/control/export.csv", query_string={"report": name, "table": table, **params})
    assert answer.status_code == 200, answer.text[:400]
    rows = list(csv.reader(io.StringIO(answer.data.decode("utf-8-sig")), delimiter=";"))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_accumulation_counts_marks_against_lessons_and_flags_the_slow(control, login_as):
    director = login_as("director")
    rows = report(director, "accumulation", "students", period_id=control["q1"].id)
    by_student = {r["Обучающийся"]: r for r in rows}
    # 4 held lessons up to today, 1 Monday left (19.10); Алексеев 2 marks → 2 + 2/4 = 2.5 < 3.
    assert {k: by_student["Алексеев И. И."][k] for k in ("Кол-во отметок", "Проведено уроков", "Осталось уроков",
                                                       "Ожидается отметок к концу периода")} == \
        {"Кол-во отметок": "2", "Проведено уроков": "4", "Осталось уроков": "1",
         "Ожидается отметок к концу периода": "2.5"}
    assert by_student["Борисов И. И."]["Ожидается отметок к концу периода"] == "3.8"  # 3 + 3/4
    assert by_student["Васильев И. И."]["Осталось уроков"] == "0"  # 5Б has no timetable
    flagged = report(director, "accumulation", "at_risk", period_id=control["q1"].id)
    assert sorted(r["Обучающийся"] for r in flagged) == ["Алексеев И. И.", "Васильев И. И."]
    # A teacher sees only their own journals, the class teacher their class.
    assert [r["Обучающийся"] for r in report(login_as("teacher_b"), "accumulation", "at_risk")] == ["Васильев И. И."]
    assert [r["Обучающийся"] for r in report(login_as("classteacher"), "accumulation", "at_risk")] == ["Алексеев И. И."]


def test_timeliness_by_teacher_with_the_late_days_as_a_parameter(control, login_as):
    director = login_as("director")
    teachers = {r["Учитель"]: r for r in report(director, "timeliness", "teachers")}
    assert {k: teachers["Учителева А. П."][k] for k in ("Проведено уроков", "Без темы", "Без домашнего задания",
                                                  "Без темы или домашнего задания", "Кол-во отметок",
                                                  "Отметок выставлено с опозданием")} == \
        {"Проведено уроков": "4", "Без темы": "2", "Без домашнего задания": "2",
         "Без темы или домашнего задания": "3", "Кол-во отметок": "5", "Отметок выставлено с опозданием": "1"}
    assert teachers["Другова А. П."]["Без темы или домашнего задания"] == "1"
    lessons = report(director, "timeliness", "lessons")
    assert [(r["Дата"], r["Чего нет"]) for r in lessons] == [
        ("08.09.2026", "домашнего задания"), ("14.09.2026", "темы"), ("21.09.2026", "домашнего задания"),
        ("28.09.2026", "темы и домашнего задания")]
    # The mark entered 7 days after its lesson is late after 6 days, not after 7.
    assert report(director, "timeliness", "teachers", days=6)[1]["Отметок выставлено с опозданием"] == "1"
    assert report(director, "timeliness", "teachers", days=7)[1]["Отметок выставлено с опозданием"] == "0"
    assert [r["Учитель"] for r in report(login_as("teacher"), "timeliness", "teachers")] == ["Учителева А. П."]


def test_finals_that_differ_from_the_proposal_with_the_reason(control, world, login_as, call):
    rows = report(login_as("director"), "finals", "finals", period_id=control["q1"].id)
    assert [(r["Обучающийся"], r["Предложенная отметка"], r["Итоговая отметка"], r["Причина"]) for r in rows] == [
        ("Алексеев И. И.", "4", "5", "Победитель олимпиады"), ("Васильев И. И.", "4", "3", "причина не указана")]
    assert [r["Обучающийся"] for r in report(login_as("teacher"), "finals", "finals")] == ["Алексеев И. И."]
    # The same row rule on the REST API: a teacher of 5А mathematics reads no final of 5Б.
    listed = call("teacher", "get", "/api/v1/finalgrade/").json
    assert listed["count"] == 2 and listed["ids"] == sorted(listed["ids"])[:2]
    assert sorted(listed["ids"]) == sorted(db.session.scalars(select(FinalGrade.id).where(
        FinalGrade.student_id != world.students["Васильев"].id)))
    text = page(login_as("director"), "finals", period_id=control["q1"].id, class_id=world_class("5А"))
    assert "Победитель олимпиады" in text and "Васильев" not in text


def test_attendance_by_student_and_class_over_a_date_range(control, login_as):
    director = login_as("director")
    classes = {r["Класс"]: r for r in report(director, "attendance", "classes")}
    assert {k: classes["5А"][k] for k in ("Н", "Б", "УП", "ОП", "Пропущено уроков")} == \
        {"Н": "1", "Б": "1", "УП": "1", "ОП": "1", "Пропущено уроков": "3"}
    assert classes["5Б"]["Пропущено уроков"] == "1"
    ranged = {r["Обучающийся"]: r for r in report(director, "attendance", "students", date_from="2026-09-10",
                                             date_to="2026-09-30")}
    assert set(ranged) == {"Алексеев И. И.", "Борисов И. И."}  # Васильев's 08.09 is outside
    alex = ranged["Алексеев И. И."]
    assert (alex["Н"], alex["Б"], alex["Пропущено уроков"]) == ("0", "1", "1")
    only_5b = report(director, "attendance", "students", class_id=world_class("5Б"))
    assert [r["Обучающийся"] for r in only_5b] == ["Васильев И. И."]


def world_class(name: str) -> int:
    """The id of a class of school A."""
    return db.session.scalar(select(ClassUnit.id).where(
        ClassUnit.grade == int(name[0]), ClassUnit.letter == name[1], ClassUnit.school.has(short_name="Школа А")))


@pytest.mark.parametrize(("params", "status", "message"), [
    ({"period_id": "abc"}, 400, "period_id"),
    ({"date_from": "2026-13-01"}, 400, "date_from"),
    ({"date_from": "2026-10-01", "date_to": "2026-09-01"}, 400, "позже"),
    ({"date_from": "2025-10-01"}, 400, "учебного года"),
    ({"days": "-1"}, 400, "days"),
    ({"subject_id": "999999"}, 400, "subject_id"),
    ({"colour": "red"}, 400, "colour"),
])
def test_bad_parameters_are_refused_in_russian(control, login_as, params, status, message):
    before = db.session.scalar(select(func.count(Mark.id)))
    director = login_as("director")
    for url, report_name in (("/control/timeliness/", {}), ("/control/export.csv", {"report": "timeliness"}),
                             ("/control/export.pdf", {"report": "timeliness"})):
        answer = director.get(url, query_string={**report_name, **params})
        assert answer.status_code == status, (url, answer.status_code)
        assert "control-error" in answer.text and message in answer.text
    assert db.session.scalar(select(func.count(Mark.id))) == before


def test_a_period_of_another_school_is_not_found_and_teachers_of_no_school_see_nothing(control, world, login_as):
    other = period_of(world.year_b, 1)
    assert login_as("director").get("/control/finals/", query_string={"period_id": other.id}).status_code == 404
    assert login_as("director").get("/control/export.csv", query_string={"report": "nonsense"}).status_code == 404
    assert login_as("registrar").get("/control/finals/").status_code == 403


def test_pdf_of_a_report(control, login_as):
    answer = login_as("director").get("/control/export.pdf", query_string={"report": "finals",
                                                                          "period_id": control["q1"].id})
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(answer.data)).pages).replace("\n", " ")
    assert "Победитель олимпиады" in text and "Алексеев" in text


def test_a_report_page_costs_the_same_statements_however_many_journals(control, world, login_as):
    director = login_as("director")

    def pages_statements() -> int:
        with statements() as seen:
            for name in ("accumulation", "timeliness", "finals", "attendance"):
                page(director, name, period_id=control["q1"].id)
        return len(seen)

    small = pages_statements()
    more = add_students(world, "5Б", 5)
    lessons = add_lessons(world, *(dt.date(2026, 9, d) for d in (15, 22, 29)), cls="5Б", status=LessonStatus.held)
    answer = work_type(world, "Ответ на уроке", 1)
    db.session.add_all(Mark(school_id=lesson.school_id, lesson_id=lesson.id, student_id=s.id, value=5,
                            work_type_id=answer.id) for lesson in lessons for s in more)
    db.session.add_all(Attendance(school_id=lesson.school_id, lesson_id=lesson.id, student_id=s.id,
                                  code=AttendanceCode.ill) for lesson in lessons for s in more[:2])
    db.session.commit()
    assert pages_statements() == small
