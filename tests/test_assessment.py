"""Безотметочное и зачётное обучение (issue 14, point 6): the school's rules (page, REST, row-level
scope), and what they do on every path: 1–5 marks refused (grid cell, REST, service), finals refused or
зач/незач (finals page, REST), no forecast, statistics and the summary sheet keeping pass/fail apart,
and the demo school. The world's classes are grade 5; the school clock is HTTP_TODAY (second quarter)."""
import datetime as dt
import html

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AssessmentMode, AssessmentRule, Attendance, AuditEvent, FinalGrade, Mark, Subject
from app.services.errors import RuleViolation
from app.services.finals import close_period, missing_finals, propose_finals, set_final
from app.services.journal import set_mark
from app.services.stats import Filters, results
from app.services.summary import summary_sheet
from tests import factories
from tests.finals_helpers import IN_Q2, final_of, give_marks, q1
from tests.journal_helpers import (
    HTTP_WEEK,
    actor,
    add_lessons,
    committed,
    count,
    math_of,
    message,
    period_of,
    work_type,
)
from tests.security_helpers import bearer
from tests.stats_helpers import final

pytestmark = pytest.mark.usefixtures("isolated", "http_today")
UNMARKED_MARK = ("%(subject)s in grade %(grade)s is taught without marks: attendance, topics and homework are kept, "
                 "1–5 marks are not.")
PASS_FAIL_MARK = "%(subject)s in grade %(grade)s is assessed pass/fail: 1–5 marks are not given."
UNMARKED_FINAL = "%(subject)s in grade %(grade)s is taught without marks: no final is given."


def rule(world, grade: int = 5, subject: Subject | None = None, mode=AssessmentMode.unmarked) -> AssessmentRule:
    """A rule of school A, committed."""
    found = AssessmentRule(school=world.school_a, grade=grade, subject=subject, mode=mode)
    db.session.add(found)
    db.session.commit()
    return found


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def rules() -> list[tuple]:
    db.session.expire_all()
    return [(r.grade, r.subject_id, r.mode.value) for r in db.session.scalars(select(AssessmentRule))]


# --- the rules: page, REST, scope ---------------------------------------------------------------------

def test_the_director_sets_a_rule_on_the_page_and_it_is_audited(world, login_as):
    director = login_as("director")
    response = director.post("/assessmentruleview/add", data={"grade": "1", "subject": "", "mode": "unmarked"},
                             follow_redirects=True)
    assert response.status_code == 200
    assert rules() == [(1, None, "unmarked")]
    listed = page(director.get("/assessmentruleview/list/"))
    assert "безотметочное" in listed and "Безотметочное и зачётное обучение" in listed
    assert [e.action for e in committed(AuditEvent, AuditEvent.entity == "assessment_rule")] == ["create"]


@pytest.mark.parametrize(("body", "msgid", "params"), [
    ({"grade": 12, "mode": "unmarked"}, "The grade must be from 1 to 11.", {}),
    ({"grade": 5, "mode": "unmarked"}, "Grade %(grade)s already has a rule for this subject.", {"grade": 5}),
])
def test_the_api_refuses_a_bad_grade_and_a_second_rule_and_changes_nothing(world, api_token, client, body,
                                                                           msgid, params):
    rule(world)  # grade 5, every subject
    response = client.post("/api/v1/assessmentrule/", json=body | {"school": world.school_a.id},
                           headers=bearer(api_token("director")))
    assert response.status_code == 422, response.json
    assert message(msgid, **params) in str(response.json)
    assert rules() == [(5, None, "unmarked")]


def test_the_api_creates_a_subject_rule_and_teachers_only_read_their_schools(world, api_token, client):
    math = world.subjects["math"]
    response = client.post("/api/v1/assessmentrule/", json={"school": world.school_a.id, "grade": 5,
                                                                 "subject": math.id, "mode": "pass_fail"},
                           headers=bearer(api_token("director")))
    assert response.status_code == 201, response.json
    assert rules() == [(5, math.id, "pass_fail")]
    teacher = bearer(api_token("teacher"))
    assert client.get("/api/v1/assessmentrule/", headers=teacher).json["count"] == 1
    assert client.post("/api/v1/assessmentrule/", json={"school": world.school_a.id, "grade": 6,
                                                                 "mode": "unmarked"},
                       headers=teacher).status_code == 403
    assert client.get("/api/v1/assessmentrule/", headers=bearer(api_token("director_b"))).json["count"] == 0
    assert rules() == [(5, math.id, "pass_fail")]


# --- the journal: no 1–5 marks on any path --------------------------------------------------------------

@pytest.fixture
def week(world):
    return add_lessons(world, *HTTP_WEEK)


def cell(lesson, student, wt, **fields) -> dict:
    return {"lesson_id": lesson.id, "student_id": student.id, "kind": "mark", "work_type_id": wt.id,
            "version": None} | fields


def test_the_grid_refuses_a_mark_where_learning_is_unmarked_but_keeps_attendance(world, login_as, week):
    rule(world)
    kid, wt, teacher = world.students["Алексеев"], work_type(world), login_as("teacher")
    response = teacher.post("/journal/cell", json=cell(week[0], kid, wt, value=5))
    assert response.status_code == 422
    assert response.json["error"] == message(UNMARKED_MARK, subject="Математика", grade=5)
    assert committed(Mark) == []
    absent = teacher.post("/journal/cell", json={"lesson_id": week[0].id, "student_id": kid.id,
                                                 "kind": "attendance", "code": "Н", "version": None})
    assert absent.status_code == 200, absent.json
    assert [r["code"] for r in committed(Attendance)] == ["Н"]
    grid = page(teacher.get(f"/journal/grid?target=class_id&id={world.classes['5А'].id}"
                            f"&subject={world.subjects['math'].id}"))
    assert message("Learning here is unmarked: no 1–5 marks.") in grid


def test_the_json_journal_names_the_mode(world, api_token, client, week):
    url = (f"/api/v1/journal/?class_id={world.classes['5А'].id}&subject_id={world.subjects['math'].id}"
           f"&period_id={period_of(world.year_a, 2).id}")
    headers = bearer(api_token("teacher"))
    assert client.get(url, headers=headers).json["assessment"] is None
    rule(world, subject=world.subjects["math"], mode=AssessmentMode.pass_fail)
    assert client.get(url, headers=headers).json["assessment"] == "pass_fail"


def test_the_rest_api_refuses_a_mark_where_the_subject_is_pass_fail(world, api_token, client, week):
    rule(world, subject=world.subjects["math"], mode=AssessmentMode.pass_fail)
    kid, wt = world.students["Алексеев"], work_type(world)
    response = client.post("/api/v1/mark/", json={"lesson": week[0].id, "student": kid.id, "work_type": wt.id,
                                                  "value": 4}, headers=bearer(api_token("teacher")))
    assert response.status_code == 422
    assert response.json["message"] == message(PASS_FAIL_MARK, subject="Математика", grade=5)
    assert committed(Mark) == []


def test_a_rule_of_another_subject_or_grade_leaves_marks_alone(world, week):
    other = factories.subject(world.school_a, "Музыка")
    rule(world, subject=other)
    rule(world, grade=1)
    kid, wt = world.students["Алексеев"], work_type(world)
    assert set_mark(actor("teacher"), week[0].id, kid.id, wt.id, 5, today=HTTP_WEEK[-1])["value"] == 5


def test_an_old_mark_cannot_be_changed_once_unmarked_but_can_be_removed(world, week):
    kid, wt = world.students["Алексеев"], work_type(world)
    made = set_mark(actor("teacher"), week[0].id, kid.id, wt.id, 4, today=HTTP_WEEK[-1])
    db.session.commit()
    rule(world)
    with pytest.raises(RuleViolation):
        set_mark(actor("teacher"), week[0].id, kid.id, wt.id, 5, version=made["version"], today=HTTP_WEEK[-1])
    db.session.rollback()
    assert [r["value"] for r in committed(Mark)] == [4]
    assert set_mark(actor("teacher"), week[0].id, kid.id, wt.id, None, version=made["version"],
                    today=HTTP_WEEK[-1]) is None
    db.session.commit()
    assert committed(Mark) == []


# --- finals -------------------------------------------------------------------------------------------

def sheet_form(world, period, **values) -> dict:
    form = {"target": "class_id", "id": world.classes["5А"].id, "subject": world.subjects["math"].id,
            "period": period.id}
    for kid, value in values.items():
        form[f"value_{world.students[kid].id}"] = value
        form[f"version_{world.students[kid].id}"] = ""
    return form


@pytest.mark.usefixtures("finals_without_marks")
def test_the_finals_page_refuses_5_and_saves_zach_where_learning_is_pass_fail(world, login_as):
    rule(world, subject=world.subjects["math"], mode=AssessmentMode.pass_fail)
    period, teacher = q1(world), login_as("teacher")
    text = page(teacher.get(f"/finals/sheet?target=class_id&id={world.classes['5А'].id}"
                            f"&subject={world.subjects['math'].id}&period={period.id}"))
    assert '<option value="зач"' in text and '<option value="5"' not in text
    refused = page(teacher.post("/finals/save", data=sheet_form(world, period, Алексеев="5"),
                                follow_redirects=True))
    assert message("A final in %(subject)s is one of: %(values)s.", subject="Математика",
                   values="зач, незач, н/а, осв") in refused
    assert count(FinalGrade) == 0
    teacher.post("/finals/save", data=sheet_form(world, period, Алексеев="зач", Борисов="незач"))
    assert final_of(world.students["Алексеев"], world.subjects["math"], period).value.value == "зач"
    assert final_of(world.students["Борисов"], world.subjects["math"], period).value.value == "незач"


def test_the_rest_api_refuses_any_final_where_learning_is_unmarked(world, api_token, client):
    rule(world)
    period, kid = q1(world), world.students["Алексеев"]
    for value in ("5", "зач", "н/а"):
        response = client.post("/api/v1/finalgrade/", json={"student": kid.id, "subject": world.subjects["math"].id,
                                                             "period": period.id, "value": value},
                               headers=bearer(api_token("director")))
        assert response.status_code == 422
        assert response.json["message"] == message(UNMARKED_FINAL, subject="Математика", grade=5)
    deferred = client.post("/api/v1/finalgrade/", json={
        "student": kid.id, "subject": world.subjects["math"].id, "period": period.id, "status": "deferred",
        "deferral_reason": "болезнь", "deferral_deadline": (IN_Q2 + dt.timedelta(days=7)).isoformat()},
        headers=bearer(api_token("director")))
    assert deferred.status_code == 422
    assert count(FinalGrade) == 0


def test_unmarked_students_owe_no_final_and_the_period_closes_without_them(world):
    give_marks(world, world.students["Алексеев"], [(5, 1), (5, 1), (4, 1)])
    rule(world)
    period = q1(world)
    assert propose_finals(actor("director"), math_of(world, "5А"), period) == 0
    assert missing_finals(period) == []
    close_period(actor("director"), period.id)
    assert period.closed and count(FinalGrade) == 0


@pytest.mark.usefixtures("finals_without_marks")
def test_a_pass_fail_year_grade_is_zach_from_zach_periods(world):
    rule(world, subject=world.subjects["math"], mode=AssessmentMode.pass_fail)
    kid = world.students["Алексеев"]
    cell_ = set_final(actor("director"), kid.id, world.subjects["math"].id, q1(world).id, "зач", today=IN_Q2)
    assert cell_["value"] == "зач"
    with pytest.raises(RuleViolation):
        set_final(actor("director"), kid.id, world.subjects["math"].id, q1(world).id, "4", version=1, today=IN_Q2)


def test_a_zach_final_where_a_rule_makes_learning_pass_fail_needs_no_marks_nor_reason(world):
    """Marks are refused there, so the minimum of marks cannot apply (MIN_MARKS_FOR_FINAL stays 3 here)."""
    rule(world, subject=world.subjects["math"], mode=AssessmentMode.pass_fail)
    kid = world.students["Алексеев"]
    cell_ = set_final(actor("teacher"), kid.id, world.subjects["math"].id, q1(world).id, "зач",
                      today=q1(world).end)
    assert cell_["value"] == "зач" and not cell_["reason"]


# --- forecast -----------------------------------------------------------------------------------------

def test_the_forecast_leaves_out_unmarked_and_pass_fail_learning(world, api_token, client):
    url = f"/api/v1/forecast/?class_id={world.classes['5А'].id}&period_id={q1(world).id}"
    headers = bearer(api_token("director"))
    before = client.get(url, headers=headers).json
    assert before["count"] == 2 and all(r["flags"] for r in before["rows"])  # too few marks: at risk
    rule(world, subject=world.subjects["math"], mode=AssessmentMode.pass_fail)
    assert client.get(url, headers=headers).json["count"] == 0


# --- statistics and the summary sheet -----------------------------------------------------------------

@pytest.fixture
def orkse_results(world):
    """5А in the first quarter: mathematics Алексеев 5, Борисов 3; ОРКСЭ (an ordinary subject made
    pass/fail for grade 5 by a rule) Алексеев зач, Борисов незач."""
    period, math = q1(world), world.subjects["math"]
    orkse = factories.subject(world.school_a, "ОРКСЭ")
    factories.assign(world.staff["classteacher"], orkse, world.classes["5А"], hours=1)
    alex, boris = world.students["Алексеев"], world.students["Борисов"]
    final(alex, math, period, "5")
    final(boris, math, period, "3")
    final(alex, orkse, period, "зач")
    final(boris, orkse, period, "незач")
    db.session.commit()
    rule(world, subject=orkse, mode=AssessmentMode.pass_fail)
    return period, orkse


def test_statistics_keep_pass_fail_out_of_quality_sou_and_average(world, orkse_results, api_token, client):
    period, orkse = orkse_results
    numbers = results(Filters(period, class_id=world.classes["5А"].id))
    school = numbers["school"]
    # N = 4 finals; успеваемость (5, 3, зач) / 4 = 75 %; качество, СОУ and average over the 2 marked finals:
    # качество 1/2 = 50 %, СОУ (100 + 36) / 2 = 68, average (5 + 3) / 2 = 4; зач and незач counted apart.
    assert (school["n"], school["success"], school["quality"], school["sou"], school["average"]) == (
        4, 75.0, 50.0, 68.0, 4.0)
    assert (school["passed"], school["failed"]) == (1, 1)
    by_subject = {s["name"]: s for s in numbers["subjects"]}
    assert by_subject["ОРКСЭ"]["pass_fail"] is True
    assert (by_subject["ОРКСЭ"]["success"], by_subject["ОРКСЭ"]["quality"], by_subject["ОРКСЭ"]["sou"],
            by_subject["ОРКСЭ"]["average"]) == (50.0, None, None, None)
    api = client.get(f"/api/v1/stats/results?period_id={period.id}", headers=bearer(api_token("director"))).json
    assert (api["school"]["sou"], api["school"]["quality"], api["school"]["passed"]) == (68.0, 50.0, 1)


def test_the_summary_sheet_shows_no_quality_or_sou_for_pass_fail_learning(world, orkse_results):
    period, orkse = orkse_results
    sheet = summary_sheet(world.classes["5А"])
    orkse_q1, math_q1 = sheet["metrics"][(orkse.id, period.id)], sheet["metrics"][(world.subjects["math"].id,
                                                                                   period.id)]
    assert (orkse_q1["success"], orkse_q1["quality"], orkse_q1["sou"]) == (50.0, None, None)
    assert orkse_q1["counts"]["зач"] == 1 and orkse_q1["counts"]["незач"] == 1
    assert (math_q1["quality"], math_q1["sou"]) == (50.0, 68.0)
