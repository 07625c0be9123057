"""The journal pages over HTTP: the list of journals, the grid, the JSON cell endpoint (200 / 422
with nothing saved / 409 with the current value), the lesson header, and a teacher's tampered
URLs; the lesson pages keep the same rules. The school clock is frozen on HTTP_TODAY."""
import datetime as dt

import pytest

from app.extensions import db
from app.models import Attendance, AuditEvent, Lesson, LessonStatus, LessonType, Mark, Subject
from app.services.audit import acting_as
from app.services.journal import set_attendance, set_mark
from tests.factories import assign
from tests.grid_page import embedded, page_cells, shown_marks
from tests.journal_helpers import (
    ENTRIES,
    HTTP_TODAY,
    HTTP_WEEK,
    actor,
    add_lessons,
    audit_events,
    bell_slot,
    committed,
    message,
    period_of,
    staff_of,
    work_type,
)

pytestmark = pytest.mark.usefixtures("isolated", "http_today")
NOT_YOURS = "The lesson is not found or is not yours."


@pytest.fixture
def week(world):
    """Mathematics of 5А on Monday 16.11 … Friday 20.11.2026."""
    return add_lessons(world, *HTTP_WEEK)


@pytest.fixture
def q2(world):
    """The second quarter (03.11–28.12.2026)."""
    return period_of(world.year_a, 2)


def grid_url(world, cls: str = "5А", period=None, subject=None) -> str:
    url = (f"/journal/grid?target=class_id&id={world.classes[cls].id}"
           f"&subject={(subject or world.subjects['math']).id}")
    return url + (f"&period={period.id}" if period else "")


def cell_body(lesson, student, wt=None, period=None, **fields) -> dict:
    body = {"lesson_id": lesson.id, "student_id": student.id, "kind": "mark", "version": None}
    if wt is not None:
        body["work_type_id"] = wt.id
    if period is not None:
        body["period_id"] = period.id
    return body | fields


# --- the journals and the grid -----------------------------------------------------------------------

def test_the_journal_list_shows_only_the_teachers_journals(world):
    from flask import current_app

    client = current_app.test_client()
    assert client.get("/journal/").status_code in (302, 401)  # anonymous: to the login page
    from tests.conftest import PASSWORD

    for username, mine, other in (("teacher", "5А", "5Б"), ("teacher_b", "5Б", "5А")):
        client = current_app.test_client()
        client.post("/login/", data={"username": username, "password": PASSWORD})
        page = client.get("/journal/").get_data(as_text=True)
        link = f"/journal/grid?target=class_id&amp;id={world.classes[mine].id}&amp;subject={world.subjects['math'].id}"
        assert link in page
        assert f"id={world.classes[other].id}&amp;" not in page


def test_the_grid_shows_students_lessons_marks_attendance_and_averages(world, login_as, week, q2):
    answer = work_type(world, "Ответ на уроке", 1)
    kid, other = world.students["Алексеев"], world.students["Борисов"]
    with acting_as("teacher"):
        set_mark(actor("teacher"), week[0].id, kid.id, work_type(world).id, 5, today=HTTP_TODAY)
        set_mark(actor("teacher"), week[1].id, kid.id, answer.id, 3, today=HTTP_TODAY)
        set_attendance(actor("teacher"), week[2].id, other.id, "Н", today=HTTP_TODAY)
        db.session.commit()
    response = login_as("teacher").get(grid_url(world, period=q2))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Алексеев И. И." in html and "Борисов И. И." in html and "Васильев" not in html
    for label in ("16.11", "17.11", "18.11", "19.11", "20.11"):
        assert f">{label}</a>" in html
    assert f'data-avg="{kid.id}">4.66<' in html  # (5·5 + 3·1) / 6 = 4.666…, truncated
    assert f'data-avg="{other.id}"><' in html  # no marks, no average
    cells = page_cells(html)  # journal.js draws them (tests/browser/test_journal.py)
    assert sorted(shown_marks(html)) == [3, 5] and cells[f"{kid.id}:{week[1].id}"]["marks"][0]["value"] == 3
    assert cells[f"{kid.id}:{week[0].id}"]["marks"][0]["value"] == 5
    assert cells[f"{other.id}:{week[2].id}"]["attendance"]["code"] == "Н"
    lessons = embedded(html, "journal-lessons")
    assert [x["id"] for x in lessons] == [x.id for x in week] and all(x["editable"] for x in lessons)


def test_the_grid_opens_the_current_period_by_default(world, login_as, week):
    add_lessons(world, dt.date(2026, 9, 7))  # first quarter
    html = login_as("teacher").get(grid_url(world)).get_data(as_text=True)
    assert ">16.11</a>" in html and ">07.09</a>" not in html
    q1 = login_as("teacher").get(grid_url(world, period=period_of(world.year_a, 1))).get_data(as_text=True)
    assert ">07.09</a>" in q1 and ">16.11</a>" not in q1


def test_the_director_reads_every_class_but_other_teachers_lessons_are_read_only(world, login_as, week, q2):
    html = login_as("director").get(grid_url(world, period=q2)).get_data(as_text=True)
    assert all(x["editable"] for x in embedded(html, "journal-lessons"))
    html = login_as("classteacher").get(grid_url(world, period=q2)).get_data(as_text=True)
    assert "Алексеев И. И." in html
    assert not any(x["editable"] for x in embedded(html, "journal-lessons"))


@pytest.mark.parametrize("username", ["teacher", "classteacher"])
def test_a_teacher_cannot_open_another_class_journal(world, login_as, username, q2):
    add_lessons(world, HTTP_WEEK[0], cls="5Б")
    client = login_as(username)
    for url in (grid_url(world, "5Б", period=q2), grid_url(world, "B5А", subject=world.subjects["math_b"])):
        response = client.get(url)
        assert response.status_code == 404
        html = response.get_data(as_text=True)
        assert message("The journal is not found or is not available to you.") in html
        assert "Васильев" not in html and "Гаврилов" not in html


@pytest.mark.parametrize("case", ["other school's class", "other school's period", "other school's subject"])
def test_the_directors_grid_stays_in_the_school_on_the_page_and_in_the_api(world, login_as, call, week, q2, case):
    """The reading right, the period's and the subject's school are one statement's columns (grid.journal_of,
    calendar_of): the page and the API refuse alike, showing nobody of either school."""
    cls, subject, period = {"other school's class": ("B5А", world.subjects["math_b"], q2),
                            "other school's period": ("5А", world.subjects["math"], period_of(world.year_b, 2)),
                            "other school's subject": ("5А", world.subjects["math_b"], q2)}[case]
    wanted = message("The journal is not found or is not available to you." if cls == "B5А"
                     else "Choose a subject and a period of the journal's school.")
    page = login_as("director").get(grid_url(world, cls, period=period, subject=subject))
    api = call("director", "get", f"/api/v1/journal/?class_id={world.classes[cls].id}&subject_id={subject.id}"
                                  f"&period_id={period.id}")
    assert page.status_code == 404 and wanted in page.get_data(as_text=True)
    assert api.status_code == 400 and api.json == {"message": wanted}
    assert not any(name in page.get_data(as_text=True) for name in ("Алексеев", "Васильев"))


@pytest.mark.parametrize("query", ["target=class_id&id=abc&subject=1", "target=nothing&id=1&subject=1",
                                   "target=class_id&subject=1"])
def test_bad_grid_parameters_show_an_error_page(world, login_as, query):
    response = login_as("teacher").get(f"/journal/grid?{query}")
    assert response.status_code == 404
    assert 'class="alert alert-warning journal-error"' in response.get_data(as_text=True)


# --- the cell endpoint -------------------------------------------------------------------------------

def test_a_typed_mark_is_saved_with_its_version_average_and_audit(world, login_as, week, q2):
    kid, wt = world.students["Алексеев"], work_type(world)
    response = login_as("teacher").post("/journal/cell", json=cell_body(week[0], kid, wt, q2, value=5))
    assert response.status_code == 200, response.json
    assert response.json["ok"] is True and response.json["average"] == 5.0
    cell = response.json["cell"]
    assert (cell["value"], cell["version"], cell["work_type_id"]) == (5, 1, wt.id)
    rows = committed(Mark)
    assert [(r["id"], r["value"], r["author"]) for r in rows] == [(cell["id"], 5, "teacher")]
    events = audit_events("mark")
    assert [(e.action, e.username, e.entity_id, e.after["value"]) for e in events] == [
        ("create", "teacher", cell["id"], 5)]


def test_value_7_is_422_and_nothing_is_saved(world, login_as, week, q2):
    kid, wt = world.students["Алексеев"], work_type(world)
    response = login_as("teacher").post("/journal/cell", json=cell_body(week[0], kid, wt, q2, value=7))
    assert response.status_code == 422
    assert response.json == {"ok": False, "error": message("A mark is a whole number from 1 to 5.")}
    assert committed(Mark) == [] and committed(AuditEvent, AuditEvent.entity.in_(ENTRIES)) == []


@pytest.mark.parametrize(("body", "msgid"), [
    ({"kind": "attendance", "code": "X"}, None),
    ({"kind": "grade", "value": 5}, "Unknown entry kind."),
    ({"lesson_id": "first"}, None),
])
def test_other_bad_cells_are_422(world, login_as, week, body, msgid):
    payload = cell_body(week[0], world.students["Алексеев"], work_type(world)) | body
    response = login_as("teacher").post("/journal/cell", json=payload)
    assert response.status_code == 422 and response.json["ok"] is False and response.json["error"]
    if msgid:
        assert response.json["error"] == message(msgid)
    assert committed(Mark) == [] and committed(Attendance) == []


def test_the_later_writer_gets_409_with_the_current_value(world, login_as, week, q2):
    kid, wt = world.students["Алексеев"], work_type(world)
    teacher, director = login_as("teacher"), login_as("director")
    first = teacher.post("/journal/cell", json=cell_body(week[0], kid, wt, q2, value=3)).json["cell"]
    # both pages show version 1; the director saves first
    assert director.post("/journal/cell", json=cell_body(week[0], kid, wt, q2, value=4,
                                                         version=first["version"])).status_code == 200
    late = teacher.post("/journal/cell", json=cell_body(week[0], kid, wt, q2, value=5, version=first["version"]))
    assert late.status_code == 409
    assert late.json["ok"] is False and late.json["error"]
    assert (late.json["current"]["value"], late.json["current"]["version"]) == (4, 2)
    assert [r["value"] for r in committed(Mark)] == [4]
    # a page that still shows an empty cell cannot create a second mark either
    blind = teacher.post("/journal/cell", json=cell_body(week[0], kid, wt, q2, value=2))
    assert blind.status_code == 409 and blind.json["current"]["value"] == 4
    assert [e.action for e in audit_events("mark")] == ["create", "update"]


def test_attendance_is_set_and_cleared(world, login_as, week, q2):
    kid = world.students["Борисов"]
    client = login_as("teacher")
    set_ = client.post("/journal/cell", json=cell_body(week[1], kid, kind="attendance", code="Н"))
    assert set_.status_code == 200 and set_.json["cell"]["code"] == "Н"
    assert [r["code"] for r in committed(Attendance)] == ["Н"]
    cleared = client.post("/journal/cell", json=cell_body(week[1], kid, kind="attendance", code="",
                                                          version=set_.json["cell"]["version"]))
    assert cleared.status_code == 200 and cleared.json["cell"] is None
    assert committed(Attendance) == []
    assert [e.action for e in audit_events("attendance")] == ["create", "delete"]


def test_clearing_a_mark_updates_the_average(world, login_as, week, q2):
    kid, wt = world.students["Алексеев"], work_type(world)
    client = login_as("teacher")
    client.post("/journal/cell", json=cell_body(week[0], kid, wt, q2, value=2))
    second = client.post("/journal/cell", json=cell_body(week[1], kid, wt, q2, value=5)).json
    assert second["average"] == 3.5
    cleared = client.post("/journal/cell", json=cell_body(week[1], kid, wt, q2, value="",
                                                          version=second["cell"]["version"]))
    assert cleared.status_code == 200 and cleared.json["cell"] is None and cleared.json["average"] == 2.0
    assert [r["value"] for r in committed(Mark)] == [2]


def test_the_grid_keeps_a_marks_comment_when_its_value_changes(world, login_as, week, q2):
    kid, wt = world.students["Алексеев"], work_type(world)
    with acting_as("teacher"):
        cell = set_mark(actor("teacher"), week[0].id, kid.id, wt.id, 3, comment="Ошибки в вычислениях",
                        today=HTTP_TODAY)
        db.session.commit()
    response = login_as("teacher").post("/journal/cell", json=cell_body(week[0], kid, wt, q2, value=4,
                                                                        version=cell["version"]))
    assert response.status_code == 200
    assert [(r["value"], r["comment"]) for r in committed(Mark)] == [(4, "Ошибки в вычислениях")]


def test_teachers_window_and_the_future_over_http(world, login_as, q2):
    kid, wt = world.students["Алексеев"], work_type(world)
    old, future = add_lessons(world, dt.date(2026, 11, 9), dt.date(2026, 11, 23))
    late = login_as("teacher").post("/journal/cell", json=cell_body(old, kid, wt, q2, value=5))
    assert late.status_code == 422
    assert late.json["error"] == message("Teachers may change entries only within %(days)d days after the lesson; "
                                         "ask the administration.", days=7)
    early = login_as("teacher").post("/journal/cell", json=cell_body(future, kid, wt, q2, value=5))
    assert early.status_code == 422
    assert early.json["error"] == message("The lesson of %(day)s has not taken place yet.", day="23.11.2026")
    assert committed(Mark) == []
    assert login_as("director").post("/journal/cell", json=cell_body(old, kid, wt, q2, value=5)).status_code == 200


def test_a_teacher_cannot_write_another_class_by_tampering(world, login_as, week, q2):
    lesson_b = add_lessons(world, HTTP_WEEK[0], cls="5Б")[0]
    client, wt = login_as("teacher"), work_type(world)
    for lesson, student in ((lesson_b, world.students["Васильев"]), (lesson_b, world.students["Алексеев"]),
                            (week[0], world.students["Васильев"])):
        for body in (cell_body(lesson, student, wt, q2, value=5), cell_body(lesson, student, kind="attendance",
                                                                            code="Н")):
            response = client.post("/journal/cell", json=body)
            assert response.status_code == 422
    assert committed(Mark) == [] and committed(Attendance) == []
    assert committed(AuditEvent, AuditEvent.entity.in_(ENTRIES)) == []
    assert client.post("/journal/cell", json=cell_body(lesson_b, world.students["Васильев"], wt, value=5)).json[
        "error"] == message(NOT_YOURS)


# --- the lesson header -------------------------------------------------------------------------------

def test_the_lesson_header_is_saved(world, login_as, week, q2):
    client = login_as("teacher")
    response = client.post(f"/journal/lesson/{week[0].id}", json={
        "topic": "Сложение дробей", "type": "control_work", "status": "held", "homework": "№ 101",
        "homework_due": "2026-11-18"})
    assert response.status_code == 200 and response.json == {"ok": True}
    row = committed(Lesson, Lesson.id == week[0].id)[0]
    assert (row["topic"], row["lesson_type"], row["status"], row["homework"], row["homework_due"]) == (
        "Сложение дробей", LessonType.control_work.value, LessonStatus.held.value, "№ 101", dt.date(2026, 11, 18))
    html = client.get(grid_url(world, period=q2)).get_data(as_text=True)
    assert f'class="col-lesson control" data-lesson="{week[0].id}"' in html  # journal.js titles it with the topic
    assert [x["topic"] for x in embedded(html, "journal-lessons") if x["id"] == week[0].id] == ["Сложение дробей"]


@pytest.mark.parametrize(("body", "msgid"), [
    ({"homework_due": "2026-11-01"}, "Homework cannot be due before the lesson."),
    ({"status": "cancelled"}, "Cancel or restore lessons through a lesson change."),
    ({"type": "party"}, "Unknown lesson type."),
])
def test_a_bad_lesson_header_is_422_and_nothing_changes(world, login_as, week, body, msgid):
    response = login_as("teacher").post(f"/journal/lesson/{week[0].id}", json={"topic": "Новая тема"} | body)
    assert response.status_code == 422 and response.json["error"] == message(msgid)
    row = committed(Lesson, Lesson.id == week[0].id)[0]
    assert (row["topic"], row["status"], row["homework_due"]) == ("", "planned", None)


def test_another_teachers_lesson_header_is_not_found(world, login_as, week):
    lesson_b = add_lessons(world, HTTP_WEEK[0], cls="5Б")[0]
    assert login_as("teacher").post(f"/journal/lesson/{lesson_b.id}", json={"topic": "Чужой"}).status_code == 404
    assert login_as("teacher_b").post(f"/journal/lesson/{week[0].id}", json={"topic": "Чужой"}).status_code == 404
    assert login_as("teacher").post("/journal/lesson/987654", json={"topic": "Нет"}).status_code == 404
    assert {r["topic"] for r in committed(Lesson)} == {""}


# --- the lesson pages keep the same rules --------------------------------------------------------------

def _lesson_form(**fields) -> dict:
    return {"topic": "Тема", "lesson_type": "regular", "status": "planned", "homework": "упр. 1",
            "homework_due": "", "room": "12"} | fields


def test_a_teacher_cannot_read_or_change_another_class_lesson_pages(world, login_as, week):
    lesson_b = add_lessons(world, HTTP_WEEK[0], cls="5Б")[0]
    client = login_as("teacher")
    assert client.get(f"/lessonview/show/{week[0].id}").status_code == 200
    for url in (f"/lessonview/show/{lesson_b.id}", f"/lessonview/edit/{lesson_b.id}"):
        assert client.get(url).status_code == 404
    assert client.post(f"/lessonview/edit/{lesson_b.id}", data=_lesson_form(topic="Чужой")).status_code == 404
    assert client.post(f"/lessonview/delete/{lesson_b.id}").status_code == 404
    assert [r["topic"] for r in committed(Lesson, Lesson.id == lesson_b.id)] == [""]


def _history_lesson(world) -> Lesson:
    """A 5А history lesson of the class teacher (visible to the 5А math teacher, not theirs)."""
    history = Subject(school=world.school_a, name="История", short_name="Ист")
    db.session.add(history)
    assignment = assign(staff_of("classteacher"), history, world.classes["5А"])
    db.session.flush()
    lesson = Lesson(school_id=world.school_a.id, assignment=assignment, date=HTTP_WEEK[0],
                    bell_slot=bell_slot(world, 2), teacher_id=assignment.teacher_id)
    db.session.add(lesson)
    db.session.commit()
    return lesson


def test_a_teacher_cannot_change_or_delete_a_colleagues_lesson_of_the_same_class(world, login_as, week):
    lesson = _history_lesson(world)
    client = login_as("teacher")
    client.post(f"/lessonview/edit/{lesson.id}", data=_lesson_form(topic="Чужая тема", status="held"))
    client.post(f"/lessonview/delete/{lesson.id}")
    rows = committed(Lesson, Lesson.id == lesson.id)
    assert [(r["topic"], r["status"]) for r in rows] == [("", "planned")]
    # the class teacher, whose lesson it is, may
    login_as("classteacher").post(f"/lessonview/edit/{lesson.id}", data=_lesson_form(topic="Древний Рим"))
    assert committed(Lesson, Lesson.id == lesson.id)[0]["topic"] == "Древний Рим"


def test_the_lesson_form_cannot_cancel_a_lesson(world, login_as, week):
    client = login_as("teacher")
    client.post(f"/lessonview/edit/{week[0].id}", data=_lesson_form(topic="Отменить?", status="cancelled"))
    assert committed(Lesson, Lesson.id == week[0].id)[0]["status"] == "planned"
    client.post(f"/lessonview/edit/{week[0].id}", data=_lesson_form(topic="Проведён", status="held"))
    row = committed(Lesson, Lesson.id == week[0].id)[0]
    assert (row["topic"], row["status"]) == ("Проведён", "held")


def test_a_lesson_with_entries_is_not_deleted(world, login_as, week):
    with acting_as("teacher"):
        set_attendance(actor("teacher"), week[0].id, world.students["Алексеев"].id, "Б", today=HTTP_TODAY)
        db.session.commit()
    client = login_as("teacher")
    client.post(f"/lessonview/delete/{week[0].id}")
    assert len(committed(Lesson, Lesson.id == week[0].id)) == 1
    client.post(f"/lessonview/delete/{week[1].id}")  # an empty lesson of the teacher's own goes
    assert committed(Lesson, Lesson.id == week[1].id) == []


def test_a_substitute_opens_the_journal_and_writes_only_the_substituted_lesson(world, login_as, week, q2):
    from app.services.lessons import substitute

    substitute(week[1], staff_of("teacher_b"), "Болезнь учителя", by="director")
    db.session.commit()
    client = login_as("teacher_b")
    url = grid_url(world, period=q2)
    assert url.replace("&", "&amp;").split("&amp;period")[0] in client.get("/journal/").get_data(as_text=True)
    response = client.get(url)
    assert response.status_code == 200
    lessons = embedded(response.get_data(as_text=True), "journal-lessons")
    assert [x["id"] for x in lessons if x["editable"]] == [week[1].id]
    kid, wt = world.students["Алексеев"], work_type(world)
    assert client.post("/journal/cell", json=cell_body(week[1], kid, wt, q2, value=4)).status_code == 200
    assert client.post("/journal/cell", json=cell_body(week[0], kid, wt, q2, value=4)).status_code == 422
    assert [(r["lesson_id"], r["author"]) for r in committed(Mark)] == [(week[1].id, "teacher_b")]
    # the substitution opens this subject's journal only
    history = Subject(school=world.school_a, name="История", short_name="Ист")
    db.session.add(history)
    assign(staff_of("classteacher"), history, world.classes["5А"])
    db.session.commit()
    assert client.get(grid_url(world, period=q2, subject=history)).status_code == 404
