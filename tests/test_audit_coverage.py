"""Everything a family sees is in the audit trail (issue 14, point 3): lessons, lesson changes, control works,
recommendations, timetable entries, enrolments and representation links — each create, update and delete
through a page or the REST API writes exactly its events (who, before, after) in the same transaction; a
refused or rolled-back write leaves none; lessons made from the timetable are audited too; and the chain
still verifies. (Lesson changes are never edited or deleted: a mistake is corrected by another change.)"""
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Enrolment, Lesson, Recommendation, StudentGuardian, TimetableEntry
from tests.journal_helpers import HTTP_WEEK, add_lessons, bell_slot, committed, math_of, staff_of, timetable_entry

pytestmark = pytest.mark.usefixtures("isolated", "http_today")


@pytest.fixture
def trail():
    """trail() → the events committed since the previous call: [(entity, action, username, before, after)]."""
    seen = [db.session.scalar(select(func.max(AuditEvent.id))) or 0]

    def since() -> list[tuple]:
        rows = committed(AuditEvent, AuditEvent.id > seen[0])
        if rows:
            seen[0] = rows[-1]["id"]
        return [(r["entity"], r["action"], r["username"], r["before"], r["after"]) for r in rows]

    return since


def _one(events, entity, action, username="teacher"):
    """The single event of a write, checked to be exactly that one."""
    assert [(e[0], e[1], e[2]) for e in events] == [(entity, action, username)], events
    return events[0]


def test_lessons_through_the_api(world, call, trail):
    created = call("teacher", "post", "/api/v1/lesson/", json={
        "assignment": math_of(world).id, "date": "2026-11-19", "bell_slot": bell_slot(world).id, "room": "12",
        "topic": "Дроби", "lesson_type": "regular", "status": "planned", "homework": "№ 5"})
    assert created.status_code == 201, created.json
    event = _one(trail(), "lesson", "create")
    assert event[3] is None and (event[4]["topic"], event[4]["homework"], event[4]["status"]) == ("Дроби", "№ 5",
                                                                                                 "planned")
    pk = created.json["id"]
    assert call("teacher", "put", f"/api/v1/lesson/{pk}", json={
        "topic": "Сложение дробей", "status": "held", "lesson_type": "test"}).status_code == 200
    event = _one(trail(), "lesson", "update")
    assert (event[3]["topic"], event[3]["status"], event[3]["lesson_type"]) == ("Дроби", "planned", "regular")
    assert (event[4]["topic"], event[4]["status"], event[4]["lesson_type"]) == ("Сложение дробей", "held", "test")
    assert call("teacher", "delete", f"/api/v1/lesson/{pk}").status_code == 200
    event = _one(trail(), "lesson", "delete")
    assert event[3]["topic"] == "Сложение дробей" and event[4] is None


def test_recommendations_through_the_api(world, call, trail):
    body = {"student": world.students["Алексеев"].id, "subject": world.subjects["math"].id,
            "text": "Повторить дроби", "date": "2026-11-20"}
    created = call("teacher", "post", "/api/v1/recommendation/", json=body)
    assert created.status_code == 201, created.json
    event = _one(trail(), "recommendation", "create")
    assert (event[4]["text"], event[4]["teacher_id"]) == ("Повторить дроби", staff_of("teacher").id)
    pk = created.json["id"]
    assert call("teacher", "put", f"/api/v1/recommendation/{pk}", json={"text": "Решить № 12"}).status_code == 200
    event = _one(trail(), "recommendation", "update")
    assert (event[3]["text"], event[4]["text"]) == ("Повторить дроби", "Решить № 12")
    assert call("teacher", "delete", f"/api/v1/recommendation/{pk}").status_code == 200
    assert _one(trail(), "recommendation", "delete")[3]["text"] == "Решить № 12"


def test_control_works_through_the_pages(world, login_as, trail):
    page = login_as("teacher")
    form = {"assignment": math_of(world).id, "date": "2026-12-10", "kind": "control_work", "topic": "Дроби"}
    page.post("/controlworkplanview/add", data=form)
    event = _one(trail(), "control_work_plan", "create")
    pk = event[4]["id"]
    page.post(f"/controlworkplanview/edit/{pk}", data=form | {"date": "2026-12-11"})
    event = _one(trail(), "control_work_plan", "update")
    assert (event[3]["date"], event[4]["date"]) == ("2026-12-10", "2026-12-11")
    page.post(f"/controlworkplanview/delete/{pk}")
    _one(trail(), "control_work_plan", "delete")


def test_a_lesson_change_is_audited_with_the_lesson_it_changes(world, login_as, trail):
    (lesson,) = add_lessons(world, HTTP_WEEK[1])
    trail()
    page = login_as("director")
    form = {"lesson": lesson.id, "kind": "substitution", "new_teacher": staff_of("teacher_b").id, "new_date": "",
            "reason": "Болезнь учителя"}
    page.post("/lessonchangeview/add", data=form | {"reason": " "})  # refused: no reason
    assert trail() == []
    page.post("/lessonchangeview/add", data=form)
    events = sorted(trail())
    assert [(e[0], e[1], e[2]) for e in events] == [("lesson", "update", "director"),
                                                    ("lesson_change", "create", "director")]
    assert (events[0][3]["teacher_id"], events[0][4]["teacher_id"]) == (staff_of("teacher").id,
                                                                        staff_of("teacher_b").id)
    assert (events[1][4]["changed_by"], events[1][4]["reason"]) == ("director", "Болезнь учителя")


def test_timetable_entries_through_the_pages(world, login_as, trail):
    page = login_as("director")
    form = {"assignment": math_of(world).id, "weekday": "0", "bell_slot": bell_slot(world).id, "room": "12",
            "valid_from": "2026-09-01", "valid_to": "2027-05-26"}
    page.post("/timetableentryview/add", data=form)
    event = _one(trail(), "timetable_entry", "create", "director")
    pk = event[4]["id"]
    page.post(f"/timetableentryview/edit/{pk}", data=form | {"room": "14"})
    event = _one(trail(), "timetable_entry", "update", "director")
    assert (event[3]["room"], event[4]["room"]) == ("12", "14")
    page.post(f"/timetableentryview/delete/{pk}")
    _one(trail(), "timetable_entry", "delete", "director")
    assert committed(TimetableEntry) == []


def test_enrolments_and_representation_through_the_api(world, call, trail):
    kid = world.students["Васильев"]
    (current,) = committed(Enrolment, Enrolment.student_id == kid.id)
    assert call("registrar", "put", f"/api/v1/enrolment/{current['id']}", json={
        "school": world.school_a.id, "student": kid.id, "class_unit": world.classes["5Б"].id, "start": "2026-09-01",
        "end": "2027-01-10"},
    ).status_code == 200
    event = _one(trail(), "enrolment", "update", "registrar")
    assert (event[3]["end"], event[4]["end"]) == (None, "2027-01-10")
    moved = call("registrar", "post", "/api/v1/enrolment/", json={
        "school": world.school_a.id, "student": kid.id, "class_unit": world.classes["5А"].id, "start": "2027-01-11"})
    assert moved.status_code == 201, moved.json
    assert _one(trail(), "enrolment", "create", "registrar")[4]["class_unit_id"] == world.classes["5А"].id
    assert call("registrar", "delete", f"/api/v1/enrolment/{moved.json['id']}").status_code == 200
    _one(trail(), "enrolment", "delete", "registrar")

    link = call("registrar", "post", "/api/v1/studentguardian/", json={
        "school": world.school_a.id, "student": world.students["Борисов"].id,
        "guardian": world.guardians["Алексеева"].id, "relation": "мать",
        "authority_basis": "свидетельство о рождении"})
    assert link.status_code == 201, link.json
    assert _one(trail(), "student_guardian", "create", "registrar")[4]["relation"] == "мать"
    assert call("registrar", "put", f"/api/v1/studentguardian/{link.json['id']}", json={
        "school": world.school_a.id, "student": world.students["Борисов"].id,
        "guardian": world.guardians["Алексеева"].id, "relation": "опекун",
        "authority_basis": "решение органа опеки"}).status_code == 200
    event = _one(trail(), "student_guardian", "update", "registrar")
    assert (event[3]["relation"], event[4]["relation"]) == ("мать", "опекун")
    assert call("registrar", "delete", f"/api/v1/studentguardian/{link.json['id']}").status_code == 200
    _one(trail(), "student_guardian", "delete", "registrar")
    assert committed(StudentGuardian, StudentGuardian.id == link.json["id"]) == []


def test_refused_and_rolled_back_writes_leave_no_event(world, call, trail):
    trail()
    refused = call("teacher", "post", "/api/v1/lesson/", json={
        "assignment": math_of(world).id, "date": "2026-11-21", "bell_slot": bell_slot(world).id, "room": "12",
        "topic": "Суббота", "lesson_type": "regular", "status": "planned", "homework": ""})
    assert refused.status_code == 422
    assert trail() == [] and committed(Lesson) == []
    db.session.add(Recommendation(school_id=world.school_a.id, teacher=staff_of("teacher"),
                                  student=world.students["Алексеев"], text="Не сохранится", date=HTTP_WEEK[0]))
    db.session.flush()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.entity == "recommendation")) == 1  # with the row, in its transaction
    db.session.rollback()
    assert trail() == [] and committed(Recommendation) == []


def test_lessons_made_from_the_timetable_are_audited_and_the_chain_verifies(world, runner, trail):
    timetable_entry(world, 0)  # Mondays
    trail()
    result = runner.invoke(args=["school", "lessons", "--from", "2026-11-09", "--to", "2026-11-22"])
    assert result.exit_code == 0, result.output
    lessons = {r["id"]: r for r in committed(Lesson)}
    events = trail()
    assert [(e[0], e[1], e[2], e[4]["id"]) for e in events] == [
        ("lesson", "create", "system", pk) for pk in sorted(lessons)]
    assert [e[4]["date"] for e in events] == ["2026-11-09", "2026-11-16"]
    verify = runner.invoke(args=["audit", "verify"])
    assert verify.exit_code == 0, verify.output
