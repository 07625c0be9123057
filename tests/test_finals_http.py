"""The finals pages and REST over HTTP: the sheet (propose, confirm or override all or nothing,
conflicts, defer), closing a period, tampered ids, `finalgrade` and `examresult` APIs and the exam
result form. Every refusal shows its message and changes nothing. The school clock is HTTP_TODAY."""
import datetime as dt
import html

import pytest

from app.extensions import db
from app.models import ExamResult, FinalStatus, FinalValue
from app.services.audit import acting_as
from app.services.finals import defer_final, set_final
from app.services.freeze import closed_message
from tests.finals_helpers import final_of, finals_count, give_marks, q1
from tests.journal_helpers import actor, audit_events, count, message, period_of
from tests.security_helpers import bearer

pytestmark = pytest.mark.usefixtures("isolated", "http_today")


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def keys(world, cls="5А", period=None) -> dict:
    return {"target": "class_id", "id": world.classes[cls].id, "subject": world.subjects["math"].id,
            "period": (period or q1(world)).id}


def sheet_url(world, cls="5А", period=None) -> str:
    k = keys(world, cls, period)
    return f"/finals/sheet?target=class_id&id={k['id']}&subject={k['subject']}&period={k['period']}"


@pytest.fixture
def marked(world):
    """Алексеев 5, 5, 4 (4.66 → 5), Борисов 3, 4, 4 (3.66 → 4) in the first quarter."""
    give_marks(world, world.students["Алексеев"], [(5, 1), (5, 1), (4, 1)])
    give_marks(world, world.students["Борисов"], [(3, 1), (4, 1), (4, 1)], start=3)


def test_the_sheet_shows_averages_proposals_and_choices(world, login_as, marked):
    text = page(login_as("teacher").get(sheet_url(world)))
    assert "Алексеев И. И." in text and "Борисов И. И." in text and "Васильев" not in text
    assert ">4.66<" in text and ">3.66<" in text
    kid = world.students["Алексеев"]
    assert f'name="value_{kid.id}"' in text and '<option value="5" selected>' in text
    assert 'action="/finals/propose"' in text and 'action="/finals/defer"' not in text  # deferring: administration
    assert 'action="/finals/defer"' in page(login_as("director").get(sheet_url(world)))
    ro = page(login_as("classteacher").get(sheet_url(world)))  # the class teacher reads, does not decide
    assert "Алексеев И. И." in ro and f'name="value_{kid.id}"' not in ro


@pytest.mark.parametrize(("username", "cls"), [("teacher_b", "5А"), ("teacher", "5Б"), ("teacher_other", "5А")])
def test_another_journals_sheet_is_not_found(world, login_as, username, cls):
    response = login_as(username).get(sheet_url(world, cls))
    assert response.status_code == 404
    assert message("The journal is not found or is not available to you.") in page(response)
    assert "Алексеев" not in page(response) and "Васильев" not in page(response)


def test_propose_then_confirm_everything_in_one_save(world, login_as, marked):
    client = login_as("teacher")
    text = page(client.post("/finals/propose", data=keys(world), follow_redirects=True))
    assert message("Proposals written: %(count)d.", count=2) in text
    kid, other = world.students["Алексеев"], world.students["Борисов"]
    grade = final_of(kid, world.subjects["math"], q1(world))
    assert (grade.status, grade.proposed_value, grade.average) == (FinalStatus.proposed, FinalValue.five, 4.66)
    form = {**keys(world), f"value_{kid.id}": "5", f"version_{kid.id}": "1",
            f"value_{other.id}": "3", f"version_{other.id}": "1"}
    text = page(client.post("/finals/save", data=form, follow_redirects=True))
    assert message("Finals saved: %(count)d.", count=2) in text
    assert final_of(kid, world.subjects["math"], q1(world)).value == FinalValue.five
    final = final_of(other, world.subjects["math"], q1(world))
    assert (final.value, final.status) == (FinalValue.three, FinalStatus.final)
    assert final.result_date == dt.date(2026, 11, 20)


def test_a_bad_value_saves_nothing_of_the_sheet(world, login_as, marked):
    kid, other = world.students["Алексеев"], world.students["Борисов"]
    form = {**keys(world), f"value_{kid.id}": "5", f"version_{kid.id}": "", f"value_{other.id}": "6",
            f"version_{other.id}": ""}
    text = page(login_as("teacher").post("/finals/save", data=form, follow_redirects=True))
    assert "Борисов И. И.: " + message("A final in %(subject)s is one of: %(values)s.", subject="Математика",
                                       values="5, 4, 3, 2, н/а, осв") in text
    assert finals_count() == 0


def test_a_stale_version_is_a_conflict_message_and_nothing_changes(world, login_as, marked):
    kid = world.students["Алексеев"]
    with acting_as("director"):
        set_final(actor("director"), kid.id, world.subjects["math"].id, q1(world).id, "4")
        db.session.commit()
    form = {**keys(world), f"value_{kid.id}": "5", f"version_{kid.id}": ""}  # the teacher saw no final
    text = page(login_as("teacher").post("/finals/save", data=form, follow_redirects=True))
    assert message("Someone has changed the final of %(student)s meanwhile; the page shows the current values. "
                   "Nothing was saved.", student="Алексеев И. И.") in text
    assert final_of(kid, world.subjects["math"], q1(world)).value == FinalValue.four


def test_tampered_ids_are_refused_and_nothing_is_saved(world, login_as, marked):
    stranger, other_class = world.students["Гаврилов"], world.students["Васильев"]
    client = login_as("teacher")
    for form, expected in (
        ({**keys(world), f"value_{stranger.id}": "5"}, message("The student or the subject is not found.")),
        ({**keys(world), f"value_{other_class.id}": "5"}, message(
            "Only the subject's teacher of the student or the administration decides this final.")),
        ({**keys(world, "5Б"), f"value_{other_class.id}": "5"},
         message("The journal is not found or is not available to you.")),
        ({**keys(world), "period": period_of(world.year_b, 1).id, f"value_{world.students['Алексеев'].id}": "5"},
         message("Choose a reporting period of your school.")),
    ):
        text = page(client.post("/finals/save", data=form, follow_redirects=True))
        assert expected in text
        assert "Гаврилов" not in text
    assert finals_count() == 0


def test_defer_by_the_administration_only(world, login_as, marked):
    kid = world.students["Алексеев"]
    form = {**keys(world), "student": kid.id, "reason": "болезнь", "deadline": "2026-12-01", "version": ""}
    text = page(login_as("teacher").post("/finals/defer", data=form, follow_redirects=True))
    assert message("Only the administration defers a final.") in text and finals_count() == 0
    director = login_as("director")
    for bad, expected in ((
            {"reason": ""}, message("Give the reason of the deferral (e.g. illness with the certificate's number).")),
            ({"deadline": "2026-11-19"}, message("The deadline of a deferred final is a day from today on.")),
            ({"deadline": "01.12.2026"}, message("Enter the date as YYYY-MM-DD."))):
        text = page(director.post("/finals/defer", data={**form, **bad}, follow_redirects=True))
        assert expected in text
    assert finals_count() == 0
    text = page(director.post("/finals/defer", data=form, follow_redirects=True))
    assert message("The final is deferred.") in text and "болезнь" in text
    assert "отср." in text and "отл." not in text
    grade = final_of(kid, world.subjects["math"], q1(world))
    assert (grade.status, grade.deferral_deadline) == (FinalStatus.deferred, dt.date(2026, 12, 1))


def test_closing_a_period_over_http(world, login_as, marked):
    period = q1(world)
    assert login_as("teacher").get("/finals/close/").status_code == 403
    assert login_as("teacher").post(f"/finals/close/{period.id}").status_code == 403
    director = login_as("director")
    text = page(director.post(f"/finals/close/{period.id}", follow_redirects=True))
    assert message(
        "The period cannot be closed: %(count)d finals are missing, e.g. %(shown)s.", count=3,
        shown="Алексеев И. И. — Математика (5А); Борисов И. И. — Математика (5А); Васильев И. И. — Математика (5Б)"
    ) in text
    assert "missing-finals" in text and not period_of(world.year_a, 1).closed
    with acting_as("teacher"):
        for name, value in (("Алексеев", "5"), ("Борисов", "4")):
            set_final(actor("teacher"), world.students[name].id, world.subjects["math"].id, period.id, value)
        set_final(actor("teacher_b"), world.students["Васильев"].id, world.subjects["math"].id, period.id, "н/а")
        db.session.commit()
    text = page(director.post(f"/finals/close/{period.id}", follow_redirects=True))
    assert message("The period «%(period)s» is closed: its marks and finals are frozen.", period=period.title) in text
    db.session.expire_all()
    assert period_of(world.year_a, 1).closed
    kid = world.students["Алексеев"]
    text = page(login_as("teacher").post("/finals/save", data={**keys(world), f"value_{kid.id}": "3",
                                                               f"version_{kid.id}": "1"}, follow_redirects=True))
    assert closed_message(period) in text
    assert final_of(kid, world.subjects["math"], period).value == FinalValue.five
    assert login_as("director_b").post(f"/finals/close/{period_of(world.year_a, 2).id}",
                                       follow_redirects=True).status_code == 200
    assert not period_of(world.year_a, 2).closed


# --- REST --------------------------------------------------------------------------------------------

def test_the_finalgrade_api_goes_through_the_rules(app, world, api_token, marked):
    headers = bearer(api_token("teacher"))
    client = app.test_client()
    kid, math, period = world.students["Алексеев"], world.subjects["math"], q1(world)
    body = {"student": kid.id, "subject": math.id, "period": period.id, "value": "5"}
    for bad, expected in (
        ({"value": "6"}, message("A final in %(subject)s is one of: %(values)s.", subject="Математика",
                                 values="5, 4, 3, 2, н/а, осв")),
        ({"student": world.students["Гаврилов"].id}, message("The student or the subject is not found.")),
        ({"student": world.students["Васильев"].id},
         message("Only the subject's teacher of the student or the administration decides this final.")),
        ({"status": "deferred", "deferral_reason": "x", "deferral_deadline": "2026-12-01"},
         message("Only the administration defers a final.")),
    ):
        response = client.post("/api/v1/finalgrade/", json={**body, **bad}, headers=headers)
        assert response.status_code == 422 and response.json["message"] == expected
    assert finals_count() == 0
    response = client.post("/api/v1/finalgrade/", json=body, headers=headers)
    assert response.status_code == 201 and response.json["result"]["value"] == "5"
    pk = response.json["id"]
    response = client.put(f"/api/v1/finalgrade/{pk}", json={"value": "4", "version": 7}, headers=headers)
    assert response.status_code == 409 and response.json["current"]["value"] == "5"
    response = client.put(f"/api/v1/finalgrade/{pk}", json={"value": "4", "version": 1}, headers=headers)
    assert response.status_code == 200 and final_of(kid, math, period).value == FinalValue.four
    assert client.delete(f"/api/v1/finalgrade/{pk}", headers=headers).status_code == 405
    assert [e.action for e in audit_events("final_grade")] == ["create", "update"]
    listed = client.get("/api/v1/finalgrade/", headers=bearer(api_token("teacher_b"))).json
    assert listed["count"] == 0
    assert client.get(f"/api/v1/finalgrade/{pk}", headers=bearer(api_token("teacher_other"))).status_code == 404
    assert client.get("/api/v1/finalgrade/", headers=bearer(api_token("director"))).json["count"] == 1


def test_the_examresult_api_and_form_validate(app, world, api_token, login_as):
    headers = bearer(api_token("director"))
    client = app.test_client()
    kid = world.students["Алексеев"]
    body = {"student": kid.id, "kind": "competition", "name": "Олимпиада по математике", "date": "2026-11-10",
            "score": 37.5, "grade": "призёр", "result_date": "2026-11-18"}
    for bad, expected in (
        ({"score": -1}, message("The score cannot be negative.")),
        ({"result_date": "2026-11-09"}, message("The result date %(result)s is before the exam's date %(day)s.",
                                                result="09.11.2026", day="10.11.2026")),
        ({"result_date": "2026-11-21"}, message("The result date %(result)s is in the future.", result="21.11.2026")),
        ({"date": "2026-11-25", "result_date": "2026-11-25"},
         message("The exam of %(day)s has not taken place yet.", day="25.11.2026")),
        ({"student": world.students["Гаврилов"].id},
         message("«%(obj)s» is not available to you.", obj=f"#{world.students['Гаврилов'].id}")),
    ):
        response = client.post("/api/v1/examresult/", json={**body, **bad}, headers=headers)
        assert response.status_code == 422, response.json
        assert response.json["message"] == expected
    assert count(ExamResult) == 0
    assert client.post("/api/v1/examresult/", json=body, headers=bearer(api_token("teacher"))).status_code == 403
    response = client.post("/api/v1/examresult/", json=body, headers=headers)
    assert response.status_code == 201
    assert [e.action for e in audit_events("exam_result")] == ["create"]
    form = {"student": kid.id, "kind": "exam", "name": "Пробный ОГЭ", "date": "2026-11-10", "score": "-3",
            "grade": "", "result_date": "2026-11-12"}
    text = page(login_as("director").post("/examresultview/add", data=form, follow_redirects=True))
    assert message("The score cannot be negative.") in text
    assert count(ExamResult) == 1
    form["score"] = "12"
    login_as("director").post("/examresultview/add", data=form, follow_redirects=True)
    assert count(ExamResult) == 2


def test_a_period_is_closed_only_through_the_finals_check(world, login_as, api_token, marked):
    """The period form and REST cannot set «closed» and so skip the missing-finals check."""
    period = q1(world)
    director = login_as("director")
    form = page(director.get(f"/reportingperiodview/edit/{period.id}"))
    assert 'name="closed"' not in form
    director.post(f"/reportingperiodview/edit/{period.id}", data={
        "school": world.school_a.id, "year": world.year_a.id, "kind": "quarter", "number": "1",
        "start": "2026-09-01", "end": "2026-10-25", "closed": "y"}, follow_redirects=True)
    response = director.put(f"/api/v1/reportingperiod/{period.id}", json={"closed": True},
                            headers=bearer(api_token("director")))
    assert response.status_code == 422 and "closed" in str(response.json)  # an unknown field
    db.session.expire_all()
    assert not period_of(world.year_a, 1).closed


@pytest.mark.usefixtures("finals_without_marks")
def test_a_teacher_sees_the_finals_of_their_own_subject_only(world, login_as, api_token):
    """Another subject's finals of the same students (and its deferral reasons) stay hidden from a
    subject teacher; the class teacher reads the whole class."""
    from tests.factories import assign, subject

    history = subject(world.school_a, "История")
    assign(world.staff["teacher_b"], history, world.classes["5А"])
    db.session.commit()
    kid, period = world.students["Алексеев"], q1(world)
    with acting_as("director"):
        set_final(actor("director"), kid.id, world.subjects["math"].id, period.id, "5")
        defer_final(actor("director"), kid.id, history.id, period.id, "болезнь, справка № 17", dt.date(2026, 12, 1))
        db.session.commit()

    def subjects_seen(login):
        response = login_as(login).get("/api/v1/finalgrade/?q=(page_size:100)",
                                       headers=bearer(api_token(login)))
        assert response.status_code == 200
        return sorted(row["subject"]["id"] for row in response.json["result"])

    assert subjects_seen("teacher") == [world.subjects["math"].id]
    assert subjects_seen("teacher_b") == [history.id]
    assert subjects_seen("classteacher") == sorted([world.subjects["math"].id, history.id])
    assert "справка № 17" not in page(login_as("teacher").get("/finalgradeview/list/"))
