"""The grid's cell holds one mark: a mark typed over it replaces the cell's mark of any work type, Delete
clears it, a mark it did not show is never removed (409); «Все присутствуют» clears a lesson's absences;
a mark for a student recorded absent gets a warning; locked columns give the reason the cell endpoint
refuses with; the teacher's own journals come first; the grid opens at the lesson asked for or today's.
The school clock is frozen on HTTP_TODAY."""
import datetime as dt

import pytest

from app.extensions import db
from app.models import Attendance, Lesson, LessonStatus, Mark, Subject
from app.services.audit import acting_as
from app.services.journal import set_attendance, set_mark
from tests.factories import assign
from tests.journal_helpers import (
    HTTP_TODAY,
    HTTP_WEEK,
    actor,
    add_lessons,
    audit_events,
    clear_trail,
    close_period,
    committed,
    message,
    period_of,
    work_type,
)

pytestmark = pytest.mark.usefixtures("isolated", "http_today")


@pytest.fixture
def today_lesson(world):
    """Mathematics of 5А today, with the work types a school has."""
    work_type(world, "Ответ на уроке", 1)
    return add_lessons(world, HTTP_TODAY)[0]


def given(world, lesson, kid, name: str, value: int) -> dict:
    """A mark already in the cell (entered through the service by the teacher)."""
    with acting_as("teacher"):
        cell = set_mark(actor("teacher"), lesson.id, kid.id, work_type(world, name).id, value, today=HTTP_TODAY)
        db.session.commit()
    return cell


def marks() -> list[tuple]:
    return sorted((r["lesson_id"], r["student_id"], r["work_type_id"], r["value"]) for r in committed(Mark))


def test_a_mark_typed_over_another_work_types_mark_replaces_it(world, login_as, today_lesson):
    kid, lesson = world.students["Алексеев"], today_lesson
    old = given(world, lesson, kid, "Контрольная работа", 4)
    clear_trail()
    answer = work_type(world, "Ответ на уроке")
    response = login_as("teacher").post("/journal/cell", json={
        "kind": "mark", "lesson_id": lesson.id, "student_id": kid.id, "work_type_id": answer.id, "value": 3,
        "seen": [[old["id"], old["version"]]]})
    assert response.status_code == 200, response.json
    assert response.json["cell"]["value"] == 3
    assert marks() == [(lesson.id, kid.id, answer.id, 3)]  # «3», not «4 3»
    trail = [(e.action, (e.before or {}).get("value"), (e.after or {}).get("value")) for e in audit_events("mark")]
    assert sorted(trail, key=str) == sorted([("create", None, 3), ("delete", 4, None)], key=str)


def test_clearing_removes_the_cells_mark_whatever_its_work_type(world, login_as, today_lesson):
    kid, lesson = world.students["Алексеев"], today_lesson
    old = given(world, lesson, kid, "Контрольная работа", 4)
    response = login_as("teacher").post("/journal/cell", json={
        "kind": "mark", "lesson_id": lesson.id, "student_id": kid.id,
        "work_type_id": work_type(world, "Ответ на уроке").id, "value": None, "seen": [[old["id"], old["version"]]]})
    assert response.status_code == 200, response.json
    assert marks() == []
    assert [e.action for e in audit_events("mark")][-1] == "delete"


def test_a_mark_the_writer_did_not_see_is_never_replaced(world, login_as, today_lesson):
    """The director added a 4 after the teacher's page loaded: the teacher's 3 is a conflict that shows
    the 4; the older protocol (a version of the column's work type only) is refused the same way."""
    kid, lesson = world.students["Алексеев"], today_lesson
    given(world, lesson, kid, "Контрольная работа", 4)
    answer = work_type(world, "Ответ на уроке")
    teacher = login_as("teacher")
    for body in ({"seen": []}, {"version": None}):
        response = teacher.post("/journal/cell", json={"kind": "mark", "lesson_id": lesson.id, "student_id": kid.id,
                                                       "work_type_id": answer.id, "value": 3, **body})
        assert response.status_code == 409, response.json
        assert [m["value"] for m in response.json["marks"]] == [4]
    assert marks() == [(lesson.id, kid.id, work_type(world).id, 4)]


def test_a_mark_cleared_by_another_writer_is_not_recreated_from_its_old_version(world, login_as, today_lesson):
    """The teacher saw a 4 (version 1); the director cleared it; the teacher's 3 with that version (the older
    protocol) is a conflict showing the empty cell, not a new mark (bench_load's races found it created)."""
    kid, lesson = world.students["Алексеев"], today_lesson
    answer = work_type(world, "Ответ на уроке")
    old = given(world, lesson, kid, "Ответ на уроке", 4)
    cleared = login_as("director").post("/journal/cell", json={
        "kind": "mark", "lesson_id": lesson.id, "student_id": kid.id, "work_type_id": answer.id, "value": None,
        "seen": [[old["id"], old["version"]]]})
    assert cleared.status_code == 200, cleared.json
    response = login_as("teacher").post("/journal/cell", json={
        "kind": "mark", "lesson_id": lesson.id, "student_id": kid.id, "work_type_id": answer.id, "value": 3,
        "version": old["version"]})
    assert response.status_code == 409, response.json
    assert response.json["marks"] == [] and marks() == []


@pytest.mark.parametrize("seen", [{"a": 1}, [1, 2], [["x"]], "1"])
def test_a_malformed_seen_list_is_refused_and_changes_nothing(world, login_as, today_lesson, seen):
    kid, lesson = world.students["Алексеев"], today_lesson
    given(world, lesson, kid, "Контрольная работа", 4)
    response = login_as("teacher").post("/journal/cell", json={
        "kind": "mark", "lesson_id": lesson.id, "student_id": kid.id, "work_type_id": work_type(world).id,
        "value": 5, "seen": seen})
    assert response.status_code == 422
    assert response.json["error"] == message("The marks seen in the cell must be a list of [id, version] pairs.")
    assert marks() == [(lesson.id, kid.id, work_type(world).id, 4)]


def test_a_mark_for_a_student_recorded_absent_is_saved_with_a_warning(world, login_as, today_lesson):
    kid, other, lesson = world.students["Алексеев"], world.students["Борисов"], today_lesson
    with acting_as("teacher"):
        set_attendance(actor("teacher"), lesson.id, kid.id, "Н", today=HTTP_TODAY)
        set_attendance(actor("teacher"), lesson.id, other.id, "ОП", today=HTTP_TODAY)
        db.session.commit()
    teacher, wt = login_as("teacher"), work_type(world).id
    absent = teacher.post("/journal/cell", json={"kind": "mark", "lesson_id": lesson.id, "student_id": kid.id,
                                                 "work_type_id": wt, "value": 5, "seen": []})
    assert absent.status_code == 200
    assert absent.json["warning"] == message(
        "The student is recorded absent (%(code)s) from this lesson; the mark is saved.", code="Н")
    late = teacher.post("/journal/cell", json={"kind": "mark", "lesson_id": lesson.id, "student_id": other.id,
                                               "work_type_id": wt, "value": 4, "seen": []})
    assert late.status_code == 200 and "warning" not in late.json  # late (ОП) is present
    assert len(marks()) == 2


def absences(world, lesson):
    with acting_as("teacher"):
        seen = {str(kid.id): set_attendance(actor("teacher"), lesson.id, kid.id, code, today=HTTP_TODAY)["version"]
                for kid, code in ((world.students["Алексеев"], "Н"), (world.students["Борисов"], "Б"))}
        db.session.commit()
    return seen


def test_all_present_clears_the_lessons_absences_and_records_it_held(world, login_as, today_lesson):
    seen = absences(world, today_lesson)
    clear_trail()
    response = login_as("teacher").post(f"/journal/present/{today_lesson.id}", json={"seen": seen})
    assert response.status_code == 200, response.json
    assert response.json["cleared"] == 2 and committed(Attendance) == []
    assert [e.action for e in audit_events("attendance")] == ["delete", "delete"]
    assert [r["status"] for r in committed(Lesson)] == [LessonStatus.held.name]


def test_all_present_refuses_what_the_teacher_did_not_see_or_may_not_change(world, login_as, today_lesson):
    seen = absences(world, today_lesson)
    future = add_lessons(world, HTTP_TODAY + dt.timedelta(days=3))[0]
    teacher = login_as("teacher")
    unseen = teacher.post(f"/journal/present/{today_lesson.id}", json={"seen": {k: v for k, v in
                                                                                list(seen.items())[:1]}})
    assert unseen.status_code == 409
    early = teacher.post(f"/journal/present/{future.id}", json={"seen": {}})
    assert early.status_code == 422
    assert early.json["error"] == message("The lesson of %(day)s has not taken place yet.",
                                          day=f"{future.date:%d.%m.%Y}")
    bad = teacher.post(f"/journal/present/{today_lesson.id}", json={"seen": [1]})
    assert bad.status_code == 422
    assert bad.json["error"] == message("The attendance seen must map students to versions.")
    other = login_as("teacher_b").post(f"/journal/present/{today_lesson.id}", json={"seen": seen})
    assert other.status_code == 404
    assert len(committed(Attendance)) == 2
    assert {r["status"] for r in committed(Lesson)} == {LessonStatus.planned.name}


def test_a_locked_column_gives_the_reason_the_cell_endpoint_refuses_with(world, login_as, call):
    """One rule (journal.lesson_lock): future, past the edit window, cancelled, another teacher's lesson for
    a reader, a closed period (the administration's too) — the grid's reason is the endpoint's refusal."""
    kid = world.students["Алексеев"]
    future, today, old = add_lessons(world, HTTP_TODAY + dt.timedelta(days=3), HTTP_TODAY,
                                     HTTP_TODAY - dt.timedelta(days=10))
    cancelled = add_lessons(world, HTTP_WEEK[1], status=LessonStatus.cancelled)[0]
    url = (f"/api/v1/journal/?class_id={world.classes['5А'].id}&subject_id={world.subjects['math'].id}"
           f"&period_id={period_of(world.year_a, 2).id}")
    lessons = {x["id"]: x for x in call("teacher", "get", url).json["lessons"]}
    assert lessons[today.id]["locked"] is None and lessons[today.id]["editable"]
    teacher = login_as("teacher")
    for lesson in (future, old, cancelled):
        assert not lessons[lesson.id]["editable"]
        refused = teacher.post("/journal/cell", json={"kind": "attendance", "lesson_id": lesson.id,
                                                      "student_id": kid.id, "code": "Н"})
        assert refused.status_code == 422 and refused.json["error"] == lessons[lesson.id]["locked"]
    reader = {x["id"]: x for x in call("classteacher", "get", url).json["lessons"]}
    assert reader[today.id]["locked"] == message("You may read this lesson but not change it.")
    close_period(world, 2)
    closed = {x["id"]: x for x in call("director", "get", url).json["lessons"]}
    refused = login_as("director").post("/journal/cell", json={"kind": "attendance", "lesson_id": today.id,
                                                               "student_id": kid.id, "code": "Н"})
    assert refused.status_code == 422 and refused.json["error"] == closed[today.id]["locked"]
    assert "2" in refused.json["error"]  # names the closed quarter
    assert committed(Attendance) == []


def test_the_teachers_own_journals_come_first(world, login_as):
    russian = Subject(school=world.school_a, name="Русский язык")
    db.session.add(russian)
    assign(world.staff["classteacher"], russian, world.classes["5Б"])
    db.session.commit()
    html = login_as("classteacher").get("/journal/").get_data(as_text=True)
    own, homeroom = html.index("Русский язык"), html.index("Математика")
    assert own < homeroom  # alphabetically 5А · Математика would come first


def test_the_grid_opens_at_the_lesson_asked_for_else_today_else_the_last_held(world, login_as):
    """A link into the grid at a lesson (home pages) opens that lesson's period and focuses it; without one,
    today's lesson, else the last one before today; the switcher lists the user's journals."""
    september, monday, today = add_lessons(world, dt.date(2026, 9, 7), HTTP_WEEK[0], HTTP_TODAY)
    base = f"/journal/grid?target=class_id&id={world.classes['5А'].id}&subject={world.subjects['math'].id}"
    teacher = login_as("teacher")
    for query, focus, label in ((f"&lesson={september.id}", september, ">07.09</a>"), ("", today, ">20.11</a>")):
        html = teacher.get(base + query).get_data(as_text=True)
        assert f'data-focus="{focus.id}"' in html and label in html
    assert 'id="journal-switch"' in html and "5А · Математика</option>" in html
    db.session.delete(db.session.get(Lesson, today.id))
    db.session.commit()
    assert f'data-focus="{monday.id}"' in teacher.get(base).get_data(as_text=True)
