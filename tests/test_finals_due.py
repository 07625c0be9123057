"""Finals only when due (SPEC §4): a period's finals open FINALS_OPEN_DAYS (14) before its end,
earlier only by the administration with a recorded reason; a graded final on fewer than
MIN_MARKS_FOR_FINAL marks needs н/а or a recorded reason. Every path (service, REST API, finals
page) refuses in Russian, writes no final and queues nothing for the portal; the allowed ways work.

The second quarter runs 03.11–28.12.2026: its finals open on 14.12.2026."""
import datetime as dt
import html

import pytest
from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import FinalGrade, OutboxMessage
from app.services.audit import acting_as
from app.services.errors import RuleViolation
from app.services.finals import set_final
from tests.consent_helpers import record
from tests.forecast_helpers import NOV, marks
from tests.journal_helpers import actor, freeze_today, message, period_of
from tests.security_helpers import bearer

pytestmark = pytest.mark.usefixtures("isolated")
DEC_4, DEC_14 = dt.date(2026, 12, 4), dt.date(2026, 12, 14)
NOT_OPEN = ("Finals of «%(period)s» open on %(day)s; before that only the administration sets one, "
            "with a reason.")
NO_REASON = "Give the reason of a final set before the finals of «%(period)s» open (%(day)s)."
FEW_MARKS = ("%(student)s has %(count)d marks in %(subject)s, fewer than %(minimum)d: set н/а or give the "
             "reason of this final.")


@pytest.fixture
def q2_marked(world):
    """Consented Алексеев with three marks of Q2 mathematics, Борисов with one."""
    record(world)
    marks(world, "Алексеев", (NOV[0], 5, 1), (NOV[1], 4, 1), (NOV[2], 5, 1))
    marks(world, "Борисов", (NOV[0], 4, 1))
    return world


def q2(world):
    return period_of(world.year_a, 2)


def stored() -> list[tuple]:
    """Committed finals and portal messages about finals."""
    db.session.expire_all()
    finals = db.session.execute(select(FinalGrade.student_id, FinalGrade.value, FinalGrade.decision_reason)).all()
    queued = db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.entity == "final_grade")).all()
    return [tuple(f) for f in finals], list(queued)


def _set(world, username, kid, value, today, **kwargs):
    with acting_as(username):
        cell = set_final(actor(username), world.students[kid].id, world.subjects["math"].id, q2(world).id, value,
                         today=today, **kwargs)
        db.session.commit()
    return cell


def test_before_the_finals_open_a_teacher_is_refused_and_nothing_reaches_the_portal(q2_marked):
    day = "14.12.2026"
    with pytest.raises(RuleViolation) as refused:
        _set(q2_marked, "teacher", "Алексеев", "4", DEC_4)
    assert refused.value.message == message(NOT_OPEN, period=q2(q2_marked).title, day=day)
    with pytest.raises(RuleViolation) as refused:
        _set(q2_marked, "teacher", "Алексеев", "4", DEC_4, reason="уезжает")  # a reason is not enough
    db.session.rollback()
    with pytest.raises(RuleViolation) as refused:
        _set(q2_marked, "director", "Алексеев", "4", DEC_4)
    assert refused.value.message == message(NO_REASON, period=q2(q2_marked).title, day=day)
    db.session.rollback()
    assert stored() == ([], [])


def test_the_administration_with_a_reason_and_the_teacher_from_the_opening_day_set_finals(q2_marked):
    kid = q2_marked.students["Алексеев"].id
    cell = _set(q2_marked, "director", "Алексеев", "5", DEC_4, reason="  переезд в другой город ")
    assert cell["reason"] == "переезд в другой город"
    finals, queued = stored()
    assert finals == [(kid, "5", "переезд в другой город")] and len(queued) == 1
    _set(q2_marked, "teacher", "Алексеев", "4", DEC_14, version=cell["version"])
    assert stored()[0] == [(kid, "4", "")]


def test_the_opening_follows_the_setting(app, q2_marked):
    app.config["FINALS_OPEN_DAYS"] = 30  # Q2's finals open on 28.11
    _set(q2_marked, "teacher", "Алексеев", "4", DEC_4)
    assert len(stored()[0]) == 1


def test_too_few_marks_need_na_or_a_reason(q2_marked):
    with pytest.raises(RuleViolation) as refused:
        _set(q2_marked, "teacher", "Борисов", "4", DEC_14)
    assert refused.value.message == message(FEW_MARKS, student="Борисов И. И.", count=1, subject="Математика",
                                            minimum=3)
    db.session.rollback()
    assert stored() == ([], [])
    cell = _set(q2_marked, "teacher", "Борисов", "н/а", DEC_14)
    _set(q2_marked, "teacher", "Борисов", "4", DEC_14, version=cell["version"], reason="контрольная в 5Б")
    assert stored()[0] == [(q2_marked.students["Борисов"].id, "4", "контрольная в 5Б")]


def test_the_rest_api_refuses_early_and_unfounded_finals(q2_marked, api_token):
    freeze_today(current_app, DEC_4)
    client, math, period = current_app.test_client(), q2_marked.subjects["math"].id, q2(q2_marked).id
    kid, other = q2_marked.students["Алексеев"].id, q2_marked.students["Борисов"].id
    teacher, director = bearer(api_token("teacher")), bearer(api_token("director"))
    body = {"student": kid, "subject": math, "period": period, "value": "4"}
    response = client.post("/api/v1/finalgrade/", json=body, headers=teacher)  # the request
    assert response.status_code == 422
    assert "открываются 14.12.2026" in response.json["message"]
    assert client.post("/api/v1/finalgrade/", json=body, headers=director).status_code == 422
    assert stored() == ([], [])
    response = client.post("/api/v1/finalgrade/", json={**body, "reason": "олимпиада"}, headers=director)
    assert response.status_code == 201, response.json
    pk = response.json["id"]
    response = client.put(f"/api/v1/finalgrade/{pk}", json={"value": "5", "version": 1}, headers=teacher)
    assert response.status_code == 422 and "открываются" in response.json["message"]
    assert stored()[0] == [(kid, "4", "олимпиада")] and len(stored()[1]) == 1
    freeze_today(current_app, DEC_14)
    few = {"student": other, "subject": math, "period": period, "value": "3"}
    response = client.post("/api/v1/finalgrade/", json=few, headers=teacher)
    assert response.status_code == 422 and "выставьте н/а или укажите причину" in response.json["message"]
    assert client.post("/api/v1/finalgrade/", json={**few, "reason": 7}, headers=teacher).status_code == 422
    assert len(stored()[0]) == 1
    assert client.post("/api/v1/finalgrade/", json={**few, "reason": "болел"}, headers=teacher).status_code == 201


def test_the_finals_page_refuses_early_and_unfounded_finals(q2_marked, login_as):
    kid, other = q2_marked.students["Алексеев"].id, q2_marked.students["Борисов"].id
    keys = {"target": "class_id", "id": q2_marked.classes["5А"].id, "subject": q2_marked.subjects["math"].id,
            "period": q2(q2_marked).id}
    client = login_as("teacher")
    freeze_today(current_app, DEC_4)
    sheet = html.unescape(client.get("/finals/sheet", query_string=keys).get_data(as_text=True))
    assert "Итоговые отметки за этот период открываются 14.12.2026" in sheet
    text = html.unescape(client.post("/finals/save", data={**keys, f"value_{kid}": "5"},
                                     follow_redirects=True).get_data(as_text=True))
    assert "открываются 14.12.2026" in text
    assert stored() == ([], [])
    freeze_today(current_app, DEC_14)
    form = {**keys, f"value_{kid}": "5", f"value_{other}": "4"}
    text = html.unescape(client.post("/finals/save", data=form, follow_redirects=True).get_data(as_text=True))
    assert "Борисов И. И.: У ученика Борисов И. И." in text and stored() == ([], [])  # all or nothing
    text = html.unescape(client.post("/finals/save", data={**form, f"reason_{other}": "болел"},
                                     follow_redirects=True).get_data(as_text=True))
    assert sorted(stored()[0]) == sorted([(kid, "5", ""), (other, "4", "болел")]) and len(stored()[1]) == 1
