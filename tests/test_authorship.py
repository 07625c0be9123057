"""Authorship and ownership of writes (issue 14, point 2) over the page forms and the REST API: the author
of a recommendation or a lesson is the signed-in staff member, teachers write only for their own
assignments (recommendations, lessons, control works), lessons fall on study days of the year and are
«held» only once their day has come. Each refusal is checked to change nothing; the controls show the
allowed writes (the administration's for any teacher of its school included).

World: `teacher` teaches mathematics in 5А, `teacher_b` history in 5А (so `teacher` sees it) and
mathematics in 5Б. The school clock is HTTP_TODAY (Friday 20.11.2026)."""
import datetime as dt

import pytest
from flask import current_app

from app.extensions import db
from app.models import ControlWorkPlan, Lesson, Recommendation, Subject
from app.security.guard import check_write
from app.security.scope import scope_for_user
from app.services.errors import RuleViolation
from tests.factories import assign
from tests.journal_helpers import HTTP_TODAY, bell_slot, committed, math_of, message, staff_of
from tests.security_helpers import select_options

pytestmark = pytest.mark.usefixtures("isolated", "http_today")
NOT_YOURS = "The record belongs to another teacher: only they or the administration change it."
NOT_YOUR_ASSIGNMENT = "Teachers write only for their own teaching assignments."
OWN_NAME = "Teachers write recommendations only under their own name."
OWN_LESSON = "Teachers add lessons only as their own teacher; a substitution is a lesson change."
FUTURE = HTTP_TODAY + dt.timedelta(days=3)  # Monday 23.11.2026


@pytest.fixture
def history(world):
    """teacher_b's history in 5А: visible to the 5А mathematics teacher, not theirs."""
    subject = Subject(school=world.school_a, name="История", short_name="Ист")
    db.session.add(subject)
    assignment = assign(staff_of("teacher_b"), subject, world.classes["5А"])
    db.session.commit()
    return assignment


def _snapshot(model) -> list:
    return sorted(tuple(r.values()) for r in committed(model))


def _page_says(response, msgid, **params) -> bool:
    return message(msgid, **params) in response.get_data(as_text=True)


# --- recommendations ------------------------------------------------------------------------------------

def _rec_body(world, **fields) -> dict:
    return {"student": world.students["Алексеев"].id, "subject": world.subjects["math"].id,
            "text": "Повторить дроби", "date": "2026-11-20"} | fields


def test_a_teacher_cannot_sign_a_recommendation_with_another_name_or_subject(world, call, history):
    director, teacher = staff_of("director"), staff_of("teacher")
    forged = call("teacher", "post", "/api/v1/recommendation/", json=_rec_body(world, teacher=director.id))
    assert forged.status_code == 422 and forged.json["message"] == message(OWN_NAME)
    other = call("teacher", "post", "/api/v1/recommendation/", json=_rec_body(world, subject=history.subject_id))
    assert other.status_code == 422
    assert other.json["message"] == message("You do not teach «%(subject)s» to this student.", subject="История")
    assert committed(Recommendation) == []
    # the control: without `teacher` (or naming themselves) the author is the signed-in teacher
    for body in (_rec_body(world), _rec_body(world, teacher=teacher.id, subject=None)):
        created = call("teacher", "post", "/api/v1/recommendation/", json=body)
        assert created.status_code == 201, created.json
    assert [r["teacher_id"] for r in committed(Recommendation)] == [teacher.id, teacher.id]


def test_a_teacher_cannot_change_or_delete_a_colleagues_recommendation(world, call, history, login_as):
    created = call("teacher_b", "post", "/api/v1/recommendation/",
                   json=_rec_body(world, subject=history.subject_id, text="Читать о Риме"))
    assert created.status_code == 201, created.json
    pk = created.json["id"]
    assert call("teacher", "get", f"/api/v1/recommendation/{pk}").status_code == 200  # read, yes
    before = _snapshot(Recommendation)
    put = call("teacher", "put", f"/api/v1/recommendation/{pk}", json={"text": "Чужой текст"})
    assert put.status_code == 422 and put.json["message"] == message(NOT_YOURS)
    deleted = call("teacher", "delete", f"/api/v1/recommendation/{pk}")
    assert deleted.status_code == 422 and deleted.json["message"] == message(NOT_YOURS)
    page = login_as("teacher")
    edit = page.post(f"/recommendationview/edit/{pk}", data={"student": world.students["Алексеев"].id,
                                                             "text": "Чужой текст", "date": "2026-11-20"},
                     follow_redirects=True)
    assert _page_says(edit, NOT_YOURS)
    assert _page_says(page.post(f"/recommendationview/delete/{pk}", follow_redirects=True), NOT_YOURS)
    assert _snapshot(Recommendation) == before
    # the control: the author changes their own
    own = call("teacher_b", "put", f"/api/v1/recommendation/{pk}", json={"text": "Читать о Греции"})
    assert own.status_code == 200, own.json
    assert [r["text"] for r in committed(Recommendation)] == ["Читать о Греции"]


def test_the_recommendation_form_offers_a_teacher_only_their_subjects_and_signs_with_their_name(
        world, login_as, history):
    page = login_as("teacher")
    options = select_options(page.get("/recommendationview/add").get_data(as_text=True))
    assert options["subject"] == {str(world.subjects["math"].id)}
    assert "teacher" not in options
    forged = page.post("/recommendationview/add", data={
        "student": world.students["Алексеев"].id, "subject": history.subject_id, "text": "Чужой предмет",
        "date": "2026-11-20"})
    assert forged.status_code == 200 and committed(Recommendation) == []  # the form again: not a valid choice
    page.post("/recommendationview/add", data={"student": world.students["Алексеев"].id,
                                               "subject": world.subjects["math"].id, "text": "Своё",
                                               "date": "2026-11-20"})
    assert [(r["teacher_id"], r["text"]) for r in committed(Recommendation)] == [(staff_of("teacher").id, "Своё")]


def test_the_administration_writes_a_recommendation_for_any_teacher_of_its_school(world, call, history):
    created = call("director", "post", "/api/v1/recommendation/",
                   json=_rec_body(world, teacher=staff_of("teacher_b").id, subject=history.subject_id))
    assert created.status_code == 201, created.json
    alien = call("director", "post", "/api/v1/recommendation/", json=_rec_body(world, teacher=staff_of(
        "teacher_other").id))
    assert alien.status_code == 422
    assert [r["teacher_id"] for r in committed(Recommendation)] == [staff_of("teacher_b").id]


# --- lessons -------------------------------------------------------------------------------------------

def _lesson_body(world, **fields) -> dict:
    return {"assignment": math_of(world).id, "date": "2026-11-19", "bell_slot": bell_slot(world).id,
            "room": "12", "topic": "Дроби", "lesson_type": "regular", "status": "planned", "homework": ""} | fields


@pytest.mark.parametrize(("fields", "expected"), [
    ({"teacher": "teacher_b"}, (OWN_LESSON, {})),
    ({"date": "2030-11-19"}, ("%(day)s is outside the academic year.", {"day": "19.11.2030"})),
    ({"date": "2026-10-28"}, ("%(day)s is a holiday (%(name)s).", {"day": "28.10.2026",
                                                                     "name": "Осенние каникулы"})),
    ({"date": "2026-11-21"}, ("%(day)s is a day off: the school studies %(n)d days a week.",
                              {"day": "21.11.2026", "n": 5})),
    ({"date": FUTURE.isoformat(), "status": "held"},
     ("The lesson of %(day)s has not taken place yet: it cannot be held.", {"day": "23.11.2026"})),
    ({"assignment": "history"}, ("The lesson is not found or is not yours.", {})),
])
def test_a_bad_lesson_is_422_and_nothing_is_saved(world, call, history, fields, expected):
    if fields.get("teacher") == "teacher_b":
        fields = fields | {"teacher": staff_of("teacher_b").id}
    if fields.get("assignment") == "history":
        fields = fields | {"assignment": history.id}
    response = call("teacher", "post", "/api/v1/lesson/", json=_lesson_body(world, **fields))
    assert response.status_code == 422, response.json
    assert response.json["message"] == message(expected[0], **expected[1])
    assert committed(Lesson) == []


def test_a_teacher_adds_their_own_lesson_and_cannot_hold_a_future_one(world, call):
    held = call("teacher", "post", "/api/v1/lesson/", json=_lesson_body(world, status="held"))
    assert held.status_code == 201, held.json
    future = call("teacher", "post", "/api/v1/lesson/", json=_lesson_body(world, date=FUTURE.isoformat(),
                                                                          teacher=staff_of("teacher").id))
    assert future.status_code == 201, future.json
    rows = {r["id"]: r for r in committed(Lesson)}
    assert {r["teacher_id"] for r in rows.values()} == {staff_of("teacher").id}
    put = call("teacher", "put", f"/api/v1/lesson/{future.json['id']}", json={"status": "held"})
    assert put.status_code == 422
    assert put.json["message"] == message("The lesson of %(day)s has not taken place yet: it cannot be held.",
                                          day="23.11.2026")
    assert committed(Lesson, Lesson.id == future.json["id"])[0]["status"] == "planned"


def test_the_administration_adds_a_lesson_for_any_teacher_of_its_school(world, call, history):
    created = call("director", "post", "/api/v1/lesson/", json=_lesson_body(world, assignment=history.id))
    assert created.status_code == 201, created.json
    substitute = call("director", "post", "/api/v1/lesson/", json=_lesson_body(
        world, date="2026-11-18", teacher=staff_of("teacher").id, assignment=history.id))
    assert substitute.status_code == 201, substitute.json
    assert sorted(r["teacher_id"] for r in committed(Lesson)) == sorted(
        [staff_of("teacher_b").id, staff_of("teacher").id])


def test_the_lesson_pages_keep_the_same_rules(world, login_as, history):
    page = login_as("teacher")
    options = select_options(page.get("/lessonview/add").get_data(as_text=True))
    assert options["assignment"] == {str(math_of(world).id)}
    assert options["teacher"] == {str(staff_of("teacher").id)}
    form = {"assignment": math_of(world).id, "bell_slot": bell_slot(world).id, "teacher": staff_of("teacher").id,
            "room": "12", "topic": "Дроби", "lesson_type": "regular", "homework": "упр. 1", "homework_due": ""}
    holiday = page.post("/lessonview/add", data=form | {"date": "2026-10-28"})
    assert _page_says(holiday, "%(day)s is a holiday (%(name)s).", day="28.10.2026", name="Осенние каникулы")
    forged = page.post("/lessonview/add", data=form | {"date": "2026-11-19", "teacher": staff_of("teacher_b").id})
    assert forged.status_code == 200
    assert committed(Lesson) == []
    page.post("/lessonview/add", data=form | {"date": FUTURE.isoformat()})
    (row,) = committed(Lesson)
    edit = page.post(f"/lessonview/edit/{row['id']}", data={"topic": "Дроби", "lesson_type": "regular",
                                                            "status": "held", "homework": "упр. 1", "homework_due": "",
                                                            "room": "12"}, follow_redirects=True)
    assert _page_says(edit, "The lesson of %(day)s has not taken place yet: it cannot be held.", day="23.11.2026")
    header = page.post(f"/journal/lesson/{row['id']}", json={"status": "held"})
    assert header.status_code == 422
    assert committed(Lesson)[0]["status"] == "planned"


# --- control works -------------------------------------------------------------------------------------

def _work_form(assignment, **fields) -> dict:
    return {"assignment": assignment.id, "date": "2026-12-10", "kind": "control_work", "topic": "Дроби"} | fields


def test_a_teacher_plans_control_works_only_for_their_own_assignments(world, login_as, history):
    page = login_as("teacher")
    assert select_options(page.get("/controlworkplanview/add").get_data(as_text=True))["assignment"] == {
        str(math_of(world).id)}
    page.post("/controlworkplanview/add", data=_work_form(history))
    assert committed(ControlWorkPlan) == []
    login_as("teacher_b").post("/controlworkplanview/add", data=_work_form(history, topic="Древний Рим"))
    (theirs,) = committed(ControlWorkPlan)
    offered_none = page.post(f"/controlworkplanview/edit/{theirs['id']}", data=_work_form(history, topic="Чужая"))
    assert offered_none.status_code == 200  # the form again: their assignment is not a valid choice
    moved = page.post(f"/controlworkplanview/edit/{theirs['id']}", data=_work_form(math_of(world)),
                      follow_redirects=True)
    assert _page_says(moved, NOT_YOURS)
    assert _page_says(page.post(f"/controlworkplanview/delete/{theirs['id']}", follow_redirects=True),
                      NOT_YOURS)
    assert committed(ControlWorkPlan) == [theirs]
    # the controls: their own, and the administration's for anyone
    page.post("/controlworkplanview/add", data=_work_form(math_of(world), topic="Уравнения"))
    login_as("director").post("/controlworkplanview/add", data=_work_form(history, topic="Средние века"))
    assert sorted(r["topic"] for r in committed(ControlWorkPlan)) == ["Древний Рим", "Средние века", "Уравнения"]


@pytest.mark.commits  # its rollback must not reach the page's commit before it
def test_an_own_control_work_cannot_be_moved_to_a_colleagues_assignment(world, login_as, history):
    """The form offers no such choice; the guard behind it refuses the move all the same."""
    page = login_as("teacher")
    page.post("/controlworkplanview/add", data=_work_form(math_of(world)))
    (mine,) = committed(ControlWorkPlan)
    assert page.post(f"/controlworkplanview/edit/{mine['id']}", data=_work_form(history)).status_code == 200
    scope = scope_for_user(staff_of("teacher").user)
    work = db.session.get(ControlWorkPlan, mine["id"])
    work.assignment = history
    with current_app.test_request_context(), pytest.raises(RuleViolation) as refused:
        check_write(work, scope)
    assert refused.value.message == message(NOT_YOUR_ASSIGNMENT)
    db.session.rollback()
    assert committed(ControlWorkPlan) == [mine]
