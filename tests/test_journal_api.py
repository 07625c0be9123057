"""The journal's REST API with a JWT: marks and attendance go through the same rules as the grid
(422 on a broken rule with nothing saved, 409 with the current value on a stale version, 404 for
rows outside the user's scope, 403 without the permission), lessons follow the lesson rules, and
GET /api/v1/journal/ returns the grid (400 on bad parameters)."""
import pytest

from app.extensions import db
from app.models import Attendance, AuditEvent, Lesson, Mark, Subject
from app.services.audit import acting_as
from app.services.journal import set_attendance, set_mark
from tests.factories import assign
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


@pytest.fixture
def lessons(world):
    """5А's mathematics on 16.11 and 17.11, 5Б's on 16.11."""
    a1, a2 = add_lessons(world, *HTTP_WEEK[:2])
    (b1,) = add_lessons(world, HTTP_WEEK[0], cls="5Б")
    return a1, a2, b1


def mark_body(lesson, student, wt, value=5, **extra) -> dict:
    return {"lesson": lesson.id, "student": student.id, "work_type": wt.id, "value": value} | extra


def existing_mark(world, lesson, student, value=4, username="teacher"):
    with acting_as(username):
        cell = set_mark(actor(username), lesson.id, student.id, work_type(world).id, value, today=HTTP_TODAY)
        db.session.commit()
    return cell


# --- marks -------------------------------------------------------------------------------------------

def test_a_teacher_posts_reads_changes_and_deletes_a_mark(world, call, lessons):
    kid, wt = world.students["Алексеев"], work_type(world)
    created = call("teacher", "post", "/api/v1/mark/", json=mark_body(lessons[0], kid, wt, 5, comment="Молодец"))
    assert created.status_code == 201, created.json
    assert created.json["result"]["value"] == 5 and created.json["result"]["version"] == 1
    pk = created.json["id"]
    shown = call("teacher", "get", f"/api/v1/mark/{pk}")
    assert shown.status_code == 200
    assert (shown.json["result"]["value"], shown.json["result"]["comment"], shown.json["result"]["lesson"]["id"]) == (
        5, "Молодец", lessons[0].id)
    changed = call("teacher", "put", f"/api/v1/mark/{pk}", json={"value": 4, "version": 1})
    assert changed.status_code == 200 and changed.json["result"]["version"] == 2
    assert [(r["value"], r["comment"]) for r in committed(Mark)] == [(4, "Молодец")]
    assert call("teacher", "delete", f"/api/v1/mark/{pk}").status_code == 200
    assert committed(Mark) == []
    assert [(e.action, e.username) for e in audit_events("mark")] == [
        ("create", "teacher"), ("update", "teacher"), ("delete", "teacher")]


@pytest.mark.parametrize(("patch", "expected"), [
    ({"value": 7}, "A mark is a whole number from 1 to 5."),
    ({"value": 0}, "A mark is a whole number from 1 to 5."),
    ({"value": "5"}, "A mark is a whole number from 1 to 5."),
    ({"lesson": "one"}, ("%(name)s must be a whole number from 1 to %(max)s, got «%(raw)s».",
                         {"name": "lesson", "max": 2**31 - 1, "raw": "one"})),
    ({"value": None}, "A mark is a whole number from 1 to 5."),
])
def test_bad_marks_are_422_with_nothing_saved(world, call, lessons, patch, expected):
    body = mark_body(lessons[0], world.students["Алексеев"], work_type(world)) | patch
    response = call("teacher", "post", "/api/v1/mark/", json=body)
    assert response.status_code == 422
    if isinstance(expected, tuple):
        expected = message(expected[0], **expected[1])
    assert response.json["message"] == (message(expected) if expected[0].isupper() else expected)
    assert committed(Mark) == [] and committed(AuditEvent, AuditEvent.entity.in_(ENTRIES)) == []


def test_the_rules_of_the_journal_hold_in_the_api(world, call, lessons):
    wt = work_type(world)
    stranger = call("teacher", "post", "/api/v1/mark/", json=mark_body(lessons[0], world.students["Васильев"], wt))
    assert stranger.status_code == 422
    assert stranger.json["message"] == message("The student is not taught in this lesson on %(day)s.",
                                               day="16.11.2026")
    cancelled = add_lessons(world, HTTP_WEEK[2], status="cancelled")[0]
    refused = call("teacher", "post", "/api/v1/mark/", json=mark_body(cancelled, world.students["Алексеев"], wt))
    assert refused.status_code == 422
    assert refused.json["message"] == message("The lesson of %(day)s is cancelled: nothing can be entered.",
                                              day="18.11.2026")
    assert committed(Mark) == []


def test_a_stale_version_is_409_with_the_current_mark(world, call, lessons):
    kid = world.students["Алексеев"]
    cell = existing_mark(world, lessons[0], kid, 3)
    assert call("director", "put", f"/api/v1/mark/{cell['id']}", json={"value": 4, "version": 1}).status_code == 200
    stale = call("teacher", "put", f"/api/v1/mark/{cell['id']}", json={"value": 5, "version": 1})
    assert stale.status_code == 409
    assert (stale.json["current"]["value"], stale.json["current"]["version"]) == (4, 2)
    blind = call("teacher", "put", f"/api/v1/mark/{cell['id']}", json={"value": 5})  # no version read
    assert blind.status_code == 409
    again = call("teacher", "post", "/api/v1/mark/", json=mark_body(lessons[0], kid, work_type(world), 2))
    assert again.status_code == 409 and again.json["current"]["value"] == 4
    assert [r["value"] for r in committed(Mark)] == [4]


def test_another_class_marks_are_not_found_for_the_teacher(world, call, lessons):
    cell = existing_mark(world, lessons[2], world.students["Васильев"], 3, username="teacher_b")
    pk = cell["id"]
    assert call("teacher", "get", f"/api/v1/mark/{pk}").status_code == 404
    assert call("teacher", "put", f"/api/v1/mark/{pk}", json={"value": 5, "version": 1}).status_code == 404
    assert call("teacher", "delete", f"/api/v1/mark/{pk}").status_code == 404
    listed = call("teacher", "get", "/api/v1/mark/")
    assert listed.status_code == 200 and pk not in listed.json["ids"]
    posted = call("teacher", "post", "/api/v1/mark/",
                  json=mark_body(lessons[2], world.students["Васильев"], work_type(world), 5))
    assert posted.status_code == 422
    assert posted.json["message"] == message("The lesson is not found or is not yours.")
    assert [(r["value"], r["author"]) for r in committed(Mark)] == [(3, "teacher_b")]
    assert call("teacher_b", "get", f"/api/v1/mark/{pk}").status_code == 200


def test_users_without_the_permission_get_403(world, call, lessons):
    body = mark_body(lessons[0], world.students["Алексеев"], work_type(world))
    for username in ("registrar", "auditor"):
        assert call(username, "post", "/api/v1/mark/", json=body).status_code == 403
        assert call(username, "post", "/api/v1/attendance/", json={
            "lesson": lessons[0].id, "student": world.students["Алексеев"].id, "code": "Н"}).status_code == 403
    assert call("registrar", "get", "/api/v1/mark/").status_code == 403
    assert committed(Mark) == [] and committed(Attendance) == []


def test_not_json_is_400(world, call):
    response = call("teacher", "post", "/api/v1/mark/", data="value=5", content_type="text/plain")
    assert response.status_code == 400


# --- attendance --------------------------------------------------------------------------------------

def test_attendance_through_the_api(world, call, lessons):
    kid = world.students["Борисов"]
    body = {"lesson": lessons[1].id, "student": kid.id, "code": "Н"}
    created = call("teacher", "post", "/api/v1/attendance/", json=body)
    assert created.status_code == 201 and created.json["result"]["code"] == "Н"
    pk = created.json["id"]
    bad = call("teacher", "put", f"/api/v1/attendance/{pk}", json={"code": "Z", "version": 1})
    assert bad.status_code == 422
    assert bad.json["message"] == message("Attendance is one of: %(codes)s.", codes="Б, Н, ОП, УП")
    missing = call("teacher", "put", f"/api/v1/attendance/{pk}", json={"version": 1})  # no code, no "remove"
    assert (missing.status_code, missing.json["message"]) == (
        422, message("Attendance is one of: %(codes)s.", codes="Б, Н, ОП, УП"))
    changed = call("teacher", "put", f"/api/v1/attendance/{pk}", json={"code": "УП", "version": 1})
    assert changed.status_code == 200 and changed.json["result"]["version"] == 2
    stale = call("teacher", "put", f"/api/v1/attendance/{pk}", json={"code": "Б", "version": 1})
    assert stale.status_code == 409 and stale.json["current"]["code"] == "УП"
    assert [r["code"] for r in committed(Attendance)] == ["УП"]
    assert call("teacher_b", "delete", f"/api/v1/attendance/{pk}").status_code == 404
    assert call("teacher", "delete", f"/api/v1/attendance/{pk}").status_code == 200
    assert committed(Attendance) == []


# --- lessons -------------------------------------------------------------------------------------------

def test_lessons_in_the_api_follow_the_lesson_rules(world, call, lessons):
    a1, _a2, b1 = lessons
    assert call("teacher", "get", f"/api/v1/lesson/{b1.id}").status_code == 404
    assert call("teacher", "put", f"/api/v1/lesson/{b1.id}", json={"topic": "Чужой"}).status_code == 404
    own = call("teacher", "put", f"/api/v1/lesson/{a1.id}", json={"topic": "Дроби", "status": "held"})
    assert own.status_code == 200 and own.json["result"]["topic"] == "Дроби"
    cancel = call("teacher", "put", f"/api/v1/lesson/{a1.id}", json={"status": "cancelled"})
    assert cancel.status_code == 422
    assert cancel.json["message"] == message("Cancel or restore lessons through a lesson change.")
    assert committed(Lesson, Lesson.id == a1.id)[0]["status"] == "held"


def test_a_teacher_cannot_write_a_colleagues_lesson_of_the_same_class(world, call, lessons):
    history = Subject(school=world.school_a, name="История", short_name="Ист")
    db.session.add(history)
    assignment = assign(staff_of("classteacher"), history, world.classes["5А"])
    db.session.flush()
    lesson = Lesson(school_id=world.school_a.id, assignment=assignment, date=HTTP_WEEK[0],
                    bell_slot=bell_slot(world, 2), teacher_id=assignment.teacher_id)
    db.session.add(lesson)
    db.session.commit()
    assert call("teacher", "get", f"/api/v1/lesson/{lesson.id}").status_code == 200  # the class's lessons are read
    put = call("teacher", "put", f"/api/v1/lesson/{lesson.id}", json={"topic": "Чужая тема"})
    assert put.status_code == 422
    posted = call("teacher", "post", "/api/v1/lesson/", json={
        "assignment": assignment.id, "date": "2026-11-17", "bell_slot": bell_slot(world).id,
        "teacher": staff_of("teacher").id, "topic": "Моя история", "lesson_type": "regular", "status": "planned",
        "homework": "", "room": "12"})
    assert posted.status_code == 422
    assert call("teacher", "delete", f"/api/v1/lesson/{lesson.id}").status_code == 422
    assert [(r["id"], r["topic"]) for r in committed(Lesson, Lesson.assignment_id == assignment.id)] == [
        (lesson.id, "")]


# --- GET /api/v1/journal/ ---------------------------------------------------------------------------

def test_the_journal_api_returns_students_lessons_cells_and_averages(world, call, lessons):
    a1, a2, _b1 = lessons
    kid, other = world.students["Алексеев"], world.students["Борисов"]
    existing_mark(world, a1, kid, 5)
    with acting_as("teacher"):
        set_mark(actor("teacher"), a2.id, kid.id, work_type(world, "Ответ на уроке", 1).id, 2, today=HTTP_TODAY)
        set_attendance(actor("teacher"), a2.id, other.id, "Б", today=HTTP_TODAY)
        db.session.commit()
    q2 = period_of(world.year_a, 2)
    response = call("teacher", "get", f"/api/v1/journal/?class_id={world.classes['5А'].id}"
                                      f"&subject_id={world.subjects['math'].id}&period_id={q2.id}")
    assert response.status_code == 200, response.json
    data = response.json
    assert [s["name"] for s in data["students"]] == ["Алексеев И. И.", "Борисов И. И."]
    assert [(x["id"], x["date"], x["editable"]) for x in data["lessons"]] == [
        (a1.id, "2026-11-16", True), (a2.id, "2026-11-17", True)]
    assert data["cells"][f"{kid.id}:{a1.id}"]["marks"][0]["value"] == 5
    assert data["cells"][f"{other.id}:{a2.id}"]["attendance"]["code"] == "Б"
    assert data["averages"] == {str(kid.id): 4.5, str(other.id): None}  # (5·5 + 2·1) / 6
    assert (data["period"]["id"], data["subject"]["id"], data["target"]["name"]) == (
        q2.id, world.subjects["math"].id, "5А")


@pytest.mark.parametrize("query", [
    "subject_id={math}&period_id={q2}",  # no target
    "class_id={a}&group_id=1&subject_id={math}&period_id={q2}",  # two targets
    "class_id={a}&period_id={q2}",  # no subject
    "class_id={a}&subject_id=maths&period_id={q2}",
    "class_id={a}&subject_id={math}&period_id=999999",
    "class_id={b}&subject_id={math}&period_id={q2}",  # 5Б: not the teacher's
    "class_id={other_school}&subject_id={math}&period_id={q2}",
])
def test_bad_journal_parameters_are_400(world, call, lessons, query):
    q = query.format(a=world.classes["5А"].id, b=world.classes["5Б"].id, other_school=world.classes["B5А"].id,
                     math=world.subjects["math"].id, q2=period_of(world.year_a, 2).id)
    response = call("teacher", "get", f"/api/v1/journal/?{q}")
    assert response.status_code == 400
    assert response.json["message"]
    assert "students" not in response.json
    if "group_id" in q or "class_id" not in q:
        assert response.json["message"] == message("Give exactly one of class_id, group_id, stream_id, plan_id.")


def test_the_journal_api_needs_a_login(world, client, lessons):
    assert client.get(f"/api/v1/journal/?class_id={world.classes['5А'].id}").status_code == 401
