"""Bad input on the pages and JSON endpoints (issue 15.7): each case was a 500 and is now a clear 4xx
that writes nothing. Types and sizes of what columns hold are checked for every row before it is
written (app/services/stored_values.py), list filters against their columns (app/security/filters.py).
"""
import datetime as dt

import pytest
from flask_appbuilder import ModelView
from sqlalchemy import Integer, Numeric, select

from app.extensions import db
from app.models import Attendance, ExtractLog, Lesson, Mark
from app.security.filters import ScopedInterface
from app.services.errors import RuleViolation
from app.services.journal import set_mark
from tests.journal_helpers import HTTP_TODAY, actor, add_lessons, committed, freeze_today, message, work_type
from tests.security_helpers import bearer, changed_tables, fresh, snapshot

HUGE = "99999999999999999999"
BAD_FILTER = ("A filter's value does not suit its column: text for text filters, numbers within the column's "
              "range for number filters.")


def _text(response) -> str:
    return response.get_data(as_text=True).replace("&#34;", '"').replace("&#39;", "'")


def _number_filters(app) -> list[tuple[str, str, int]]:
    """(list URL, column, filter index) of every number column that a list of ours can be filtered by."""
    out = []
    for view in app.appbuilder.baseviews:
        if not isinstance(view, ModelView) or not isinstance(view.datamodel, ScopedInterface):
            continue
        for column, filters in view._filters.get_search_filters().items():
            kind = getattr(view.datamodel.list_columns.get(column), "type", None)
            if isinstance(kind, (Integer, Numeric)):
                out += [(f"/{view.route_base.strip('/')}/list/", column, i) for i in range(len(filters))]
    return out


def test_a_number_filter_beyond_its_column_is_a_400_on_every_list(app, world, login_as):
    """`?_flt_0_entity_id=99999999999999999999` on the audit trail (and the same on work type weight, bell
    number, class grade, holiday grade…) overflowed the database: a 500. Now every number filter of every
    list refuses a value its column cannot hold, and a word, with the message; a fitting value is shown."""
    client = login_as("admin")
    filters = _number_filters(app)
    columns = {(url, column) for url, column, _ in filters}
    assert {("/auditeventview/list/", "entity_id"), ("/worktypeview/list/", "weight"),
            ("/bellslotview/list/", "number"), ("/classunitview/list/", "grade"),
            ("/holidayview/list/", "grade")} <= columns
    before = snapshot()
    wrong = []
    for url, column, index in filters:
        for value in (HUGE, f"-{HUGE}", str(2**31), "abc", "1.5e3x"):
            response = client.get(f"{url}?_flt_{index}_{column}={value}")
            if response.status_code != 400 or message(BAD_FILTER) not in _text(response):
                wrong.append(f"{url} {column} #{index} {value}: {response.status_code}")
        if client.get(f"{url}?_flt_{index}_{column}=5").status_code != 200:
            wrong.append(f"{url} {column} #{index} 5: refused")
    assert not wrong, "\n".join(wrong)
    assert changed_tables(before, snapshot()) == []


def test_text_filters_with_nul_are_a_400(login_as, world):
    client = login_as("admin")
    response = client.get("/subjectview/list/?_flt_0_name=%00")
    assert response.status_code == 400
    assert message(BAD_FILTER) in _text(response)
    assert client.get("/subjectview/list/?_flt_0_name=Мат").status_code == 200


def test_an_extract_of_a_student_id_no_row_can_have_is_a_400(app, world, login_as):
    """`POST /extracts/print` with student_id=99999999999999999999 overflowed the database (a 500)."""
    client = login_as("director")
    for field in ("student_id", "period_id"):
        form = {"target": "student", "student_id": str(world.students["Алексеев"].id), "period_id": "1",
                field: HUGE}
        response = client.post("/extracts/print", data=form)
        assert response.status_code == 400, field
        assert message("%(name)s must be a whole number from 1 to %(max)s, got «%(raw)s».", name=field,
                       max=2**31 - 1, raw=HUGE) in _text(response)
    assert committed(ExtractLog) == []


@pytest.fixture
def entry(app, world, api_token):
    """A lesson of `teacher` today with Алексеев's mark 4; tokens of the admin and the teacher."""
    freeze_today(app, HTTP_TODAY)
    lesson = add_lessons(world, HTTP_TODAY)[0]
    kid = world.students["Алексеев"]
    kind = work_type(world)
    mark = Mark(school_id=lesson.school_id, lesson_id=lesson.id, student_id=kid.id, work_type_id=kind.id, value=4,
                comment="хорошо", author="teacher")
    db.session.add(mark)
    db.session.commit()
    other = work_type(world, "Ответ на уроке", 1).id
    return {"lesson": lesson.id, "student": kid.id, "work_type": kind.id, "other_work_type": other, "mark": mark.id,
            "admin": bearer(api_token("admin")), "teacher": bearer(api_token("teacher"))}


COMMENT_MESSAGES = [  # (comment, msgid, params): an object, a million characters, NUL
    ({"a": 1}, "%(field)s must be text.", {}),
    ("x" * 1_000_000, "%(field)s must be at most %(max)s characters long (%(got)s given).",
     {"max": 300, "got": 1_000_000}),
    ("хоро\x00шо", "%(field)s must not contain NUL characters.", {}),
]


def _comment_refusal(msgid: str, params: dict) -> str:
    return message(msgid, field=message("Comment"), **params)


@pytest.mark.parametrize(("comment", "msgid", "params"), COMMENT_MESSAGES)
def test_a_mark_comment_the_column_cannot_hold_is_refused_on_every_path(app, entry, login_as, comment, msgid,
                                                                       params):
    """A comment of 1 000 000 characters was stored in the String(300) column, NUL was accepted and an
    object was a 500 (`PUT /api/v1/mark/<id>`): now the REST API, the journal's JSON endpoint and the
    service itself refuse them with the field's name, and the mark stays as it was."""
    refusal = _comment_refusal(msgid, params)
    before = snapshot()
    client = app.test_client()
    response = client.put(f"/api/v1/mark/{entry['mark']}", json={"value": 5, "version": 1, "comment": comment},
                          headers=entry["admin"])
    assert (response.status_code, response.json["message"]) == (422, refusal)
    response = client.post("/api/v1/mark/", json={"lesson": entry["lesson"], "student": entry["student"],
                                                  "work_type": entry["other_work_type"], "value": 5,
                                                  "comment": comment}, headers=entry["teacher"])
    assert (response.status_code, response.json["message"]) == (422, refusal)
    response = login_as("teacher").post("/journal/cell", json={
        "lesson_id": entry["lesson"], "student_id": entry["student"], "kind": "mark",
        "work_type_id": entry["work_type"], "value": 5, "version": 1, "comment": comment})
    assert (response.status_code, response.json["error"]) == (422, refusal)
    with app.test_request_context(), pytest.raises(RuleViolation) as caught:
        set_mark(actor("teacher"), entry["lesson"], entry["student"], entry["work_type"], 5, 1, comment,
                 today=HTTP_TODAY)
    db.session.rollback()
    assert caught.value.field == "comment"
    assert changed_tables(before, snapshot()) == []
    mark = fresh(Mark, entry["mark"])
    assert (mark.value, mark.version, mark.comment) == (4, 1, "хорошо")


def test_a_text_field_the_column_cannot_hold_is_refused_on_the_edit_page(app, entry, login_as):
    """A page form: NUL in a lesson's topic is refused with the field's message (FAB's forms check the
    length, not NUL; PostgreSQL refused it with a raw error)."""
    client = login_as("admin")
    before = snapshot()
    lesson = fresh(Lesson, entry["lesson"])
    form = {"topic": "Дро\x00би", "lesson_type": "regular", "homework": "§ 1", "homework_due": "", "room": "12",
            "status": "planned"}
    response = client.post(f"/lessonview/edit/{entry['lesson']}", data=form, follow_redirects=True)
    assert response.status_code == 200
    assert lesson.topic == "" and fresh(Lesson, lesson.id).topic == ""
    assert message("%(field)s must not contain NUL characters.", field=message("Topic")) in _text(response)
    assert changed_tables(before, snapshot()) == []


@pytest.mark.parametrize("code", [{"a": 1}, ["Н"], 5])
def test_an_attendance_code_that_is_no_text_is_a_422(app, entry, code):
    """`POST /api/v1/attendance/` with the code an object or a list was a 500."""
    response = app.test_client().post("/api/v1/attendance/", json={
        "lesson": entry["lesson"], "student": entry["student"], "code": code}, headers=entry["admin"])
    assert response.status_code == 422
    assert response.json["message"] == message("Attendance is one of: %(codes)s.", codes="Б, Н, ОП, УП")
    assert committed(Attendance) == []


@pytest.mark.parametrize("body", [
    {"kind": "attendance", "code": ["Н"]},
    {"kind": "attendance", "code": "Н", "period_id": {"a": 1}},
    {"kind": "attendance", "code": "Н", "period_id": HUGE},
    {"kind": "mark", "value": 5, "work_type_id": None, "period_id": 1},
])
def test_the_journal_cell_refuses_wrong_types_before_writing(app, entry, login_as, body):
    """`/journal/cell` with `code: ["Н"]` was a 500, and with `period_id: {"a": 1}` a 500 *after* the
    attendance was committed. Now every field is read before anything is written."""
    before = snapshot()
    response = login_as("teacher").post("/journal/cell", json={
        "lesson_id": entry["lesson"], "student_id": entry["student"], **body})
    assert response.status_code == 422
    assert response.json["ok"] is False and response.json["error"]
    assert changed_tables(before, snapshot()) == []
    assert committed(Attendance) == []


@pytest.mark.parametrize("body", [[1, 2], "Н", 5])
def test_the_journal_endpoints_refuse_a_body_that_is_no_object(app, entry, login_as, body):
    client = login_as("teacher")
    before = snapshot()
    for url in ("/journal/cell", f"/journal/lesson/{entry['lesson']}"):
        response = client.post(url, json=body)
        assert response.status_code == 422, url
        assert response.json["error"] == message("The request body must be a JSON object.")
    assert changed_tables(before, snapshot()) == []


@pytest.mark.parametrize(("body", "msgid", "field"), [
    ({"topic": {"a": 1}}, "%(field)s must be text.", "Topic"),
    ({"homework": ["№ 5"]}, "%(field)s must be text.", "Homework"),
    ({"homework_due": 123}, "The due date must be a date.", None),
    ({"topic": "т" * 301}, "%(field)s must be at most %(max)s characters long (%(got)s given).", "Topic"),
    ({"type": ["exam"]}, "%(field)s must be text.", "Lesson type"),
])
def test_the_lesson_header_refuses_wrong_types(app, entry, login_as, body, msgid, field):
    """`/journal/lesson/<id>` with `topic: {"a": 1}` or `homework_due: 123` was a 500."""
    before = snapshot()
    response = login_as("teacher").post(f"/journal/lesson/{entry['lesson']}", json={"homework": "§ 1", **body})
    assert response.status_code == 422
    params = {"field": message(field)} if field else {}
    assert response.json["error"] == message(msgid, max=300, got=301, **params)
    assert changed_tables(before, snapshot()) == []
    assert fresh(Lesson, entry["lesson"]).homework == ""


def test_a_value_no_column_can_hold_is_refused_before_any_flush(app, world):
    """The session-level check: whatever code writes, a wrong type never reaches the database."""
    lesson = add_lessons(world, HTTP_TODAY)[0]
    for field, value in (("topic", 5), ("date", "2026-11-20"), ("bell_slot_id", 2**40), ("status", "done"),
                         ("homework_due", dt.datetime(2026, 11, 21).isoformat())):
        setattr(lesson, field, value)
        with pytest.raises(RuleViolation) as caught:
            db.session.flush()
        assert caught.value.field == field
        db.session.rollback()
    assert db.session.scalar(select(Lesson.topic).where(Lesson.id == lesson.id)) == ""


def test_a_list_page_number_or_size_that_is_no_whole_number_is_a_400(login_as, world):
    """FAB reads `page_<View>` and `psize_<View>` with int() first: a word was a ValueError, a 500, on
    every list (found by tests/test_route_fuzz.py)."""
    client = login_as("admin")
    for query in ("page_SubjectView=abc", f"psize_SubjectView={HUGE}", "page_SubjectView=-1",
                  "psize_UserDBModelView=x"):
        url = "/users/list/" if "User" in query else "/subjectview/list/"
        response = client.get(f"{url}?{query}")
        assert response.status_code == 400, query
        assert message("The page number and the page size must be whole numbers from 0 to %(max)s.",
                       max=2**31 - 1) in _text(response)
    assert client.get("/subjectview/list/?page_SubjectView=0&psize_SubjectView=10").status_code == 200


def test_a_password_reset_of_a_user_no_row_can_have_is_a_404(login_as, world):
    """FAB's «reset password» reads the user from `?pk=`: a huge number overflowed the database (a 500)."""
    client = login_as("admin")
    before = snapshot()
    for method in ("get", "post"):
        response = client.open(f"/resetpassword/form?pk={HUGE}", method=method.upper(),
                                data={"password": "Zx9-long-pass", "conf_password": "Zx9-long-pass"})
        assert response.status_code == 404, method
    assert changed_tables(before, snapshot()) == []


def test_the_command_line_import_refuses_nul_and_saves_nothing(world, runner, tmp_path):
    """The CLI path of the same check: a surname with NUL in a roster file (SQLite stored it, PostgreSQL
    refused it with a raw error) is reported, exit 1, and nothing is saved."""
    from tests.test_roster import SCHOOL, family, write_csv

    rows = family()
    rows[-1]["Фамилия"] = "Сидо\x00ров"
    before = snapshot()
    result = runner.invoke(args=["school", "import", str(write_csv(tmp_path / "nul.csv", rows)), *SCHOOL])
    assert result.exit_code == 1, result.output
    assert "NUL" in result.output
    db.session.expire_all()
    assert changed_tables(before, snapshot()) == []


def test_fab_own_lists_check_their_filters_too(login_as, world):
    """FAB's users and roles screens: NUL in a text filter was PostgreSQL's raw error (a 500)."""
    client = login_as("admin")
    for url in ("/users/list/?_flt_0_username=a%00b", "/roles/list/?_flt_0_name=%00"):
        response = client.get(url)
        assert response.status_code == 400, url
        assert message(BAD_FILTER) in _text(response)
    assert client.get("/users/list/?_flt_0_username=adm").status_code == 200


def test_a_yes_no_filter_takes_only_yes(login_as, world):
    """FAB turns «y» into True and hands anything else to the database as text: PostgreSQL cannot compare
    a boolean with text (a 500, found by tests/test_route_fuzz.py on PostgreSQL)."""
    client = login_as("admin")
    for value in ("2026-02-30", "n", "1"):
        response = client.get(f"/reportingperiodview/list/?_flt_0_closed={value}")
        assert response.status_code == 400, value
        assert message(BAD_FILTER) in _text(response)
    assert client.get("/reportingperiodview/list/?_flt_0_closed=y").status_code == 200
