
"""The consent and contact forms cannot pick the wrong family: students are searched by surname on the
server (sorted, class shown, the user's scope only), representatives are offered from the chosen student's
only and refused otherwise, the registrar lands on the student's history, a duplicate names the record it
collides with on every path (form, REST API), and the paper list says why each family is on it."""
import html
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Consent, ContactPoint, Decision, DocumentKind
from app.services.consent import STANDARD_TEXT
from tests import factories
from tests.consent_helpers import OCT_1, TODAY, add_guardian, record

pytestmark = pytest.mark.usefixtures("school_today")  # the clock reads TODAY


def rows(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def consent_form(world, **changes) -> dict:
    return {"student": str(world.students["Алексеев"].id), "guardian": str(world.guardians["Алексеева"].id),
            "decision": "refusal", "decided_on": "2026-11-20", "document_kind": "paper", "document_number": "45-ПД",
            "document_date": "2026-11-19", "electronic_document_id": "", "authority_basis": "", **STANDARD_TEXT,
            **changes}


def contact_form(world, **changes) -> dict:
    return {"student": str(world.students["Алексеев"].id), "guardian": str(world.guardians["Алексеева"].id),
            "kind": "email", "value": "alekseeva@example.ru", "provenance": "written_statement",
            "document_reference": "Заявление №7", "active": "y", **changes}


def test_student_search_by_surname_is_sorted_shows_the_class_and_keeps_to_the_scope(world, login_as):
    factories.student(world.classes["5Б"], "Алексеенко")
    factories.student(world.classes["5А"], "Алексеев", name="Андрей")
    db.session.commit()
    found = login_as("registrar").get("/consent/students?q=алексе").json["results"]
    assert [r["text"] for r in found] == ["Алексеев Андрей Иванович (5А, 15.03.2015)",
                                          "Алексеев Иван Иванович (5А, 15.03.2015)",
                                          "Алексеенко Иван Иванович (5Б, 15.03.2015)"]
    assert login_as("registrar").get("/consent/students?q=Гаврилов").json["results"] == []  # school B
    assert login_as("registrar").get("/consent/students?q=").json["results"] == []
    # A class teacher reads only their own class's families.
    assert [r["text"][:9] for r in login_as("classteacher").get("/consent/students?q=А").json["results"]] == \
        ["Алексеев ", "Алексеев "]


def test_representatives_are_offered_from_the_chosen_student_only(world, login_as):
    add_guardian(world, "Борисов", "Борисов")
    client = login_as("registrar")
    offered = client.get(f"/consent/guardians?student_id={world.students['Алексеев'].id}").json["results"]
    assert offered == [{"id": world.guardians["Алексеева"].id, "text": "Алексеева Мария Ивановна (мать)"}]
    assert client.get(f"/consent/guardians?student_id={world.students['Гаврилов'].id}").status_code == 404
    assert client.get("/consent/guardians?student_id=x").status_code == 400


def test_the_forms_start_with_nothing_chosen(world, login_as):
    client = login_as("registrar")
    for url in ("/consentview/add", "/contactpointview/add"):
        text = html.unescape(client.get(url).get_data(as_text=True))
        assert not re.search(r'<option selected value="[^"]', text) and 'selected value=""' in text, url
        assert "Введите фамилию" in text and "Сначала выберите обучающегося" in text, url


def test_a_representative_of_another_student_is_refused_and_nothing_is_saved(world, login_as):
    client = login_as("registrar")
    wrong = consent_form(world, guardian=str(world.guardians["Васильева"].id))
    page = html.unescape(client.post("/consentview/add", data=wrong).get_data(as_text=True))
    assert "Васильева Мария Ивановна не является законным представителем обучающегося Алексеев Иван Иванович" in page
    other_school = consent_form(world, student=str(world.students["Гаврилов"].id))
    page = html.unescape(client.post("/consentview/add", data=other_school).get_data(as_text=True))
    assert "Найдите обучающегося по фамилии и выберите его." in page
    page = html.unescape(client.post("/contactpointview/add", data=contact_form(
        world, guardian=str(world.guardians["Васильева"].id))).get_data(as_text=True))
    assert "не является законным представителем" in page
    assert rows(Consent) == 0 and rows(ContactPoint) == 0


def test_after_saving_the_registrar_lands_on_the_students_history(world, login_as):
    client = login_as("registrar")
    kid = world.students["Алексеев"].id
    response = client.post("/consentview/add", data=consent_form(world))
    assert response.status_code == 302 and response.location.endswith(f"/consent/history/{kid}")
    response = client.post("/contactpointview/add", data=contact_form(world))
    assert response.status_code == 302 and response.location.endswith(f"/consent/history/{kid}")
    page = client.get(f"/consent/history/{kid}").get_data(as_text=True)
    assert "История согласий" in page and "45-ПД" in page and "alekseeva@example.ru" in page
    assert client.get(f"/consent/history/{world.students['Гаврилов'].id}").status_code == 404


def test_a_duplicate_decision_names_the_record_on_the_form_and_the_api(world, login_as, call):
    first = record(world, Decision.refusal, on=OCT_1, number="45-ПД")
    named = f"Это решение уже записано: № {first.id} от 01.10.2026, Алексеева Мария Ивановна, записал registrar."
    page = html.unescape(login_as("registrar").post("/consentview/add", data=consent_form(
        world, decided_on="2026-10-01", document_date="2026-10-01")).get_data(as_text=True))
    assert named in page
    body = {"student": world.students["Алексеев"].id, "guardian": world.guardians["Алексеева"].id,
            "decision": "refusal", "decided_on": "2026-10-01", "document_kind": "paper", "document_number": "45-ПД",
            "document_date": "2026-10-01", "electronic_document_id": "", "authority_basis": "мать",
            "operator": "Школа", **STANDARD_TEXT}
    response = call("registrar", "post", "/api/v1/consent/", json=body)
    assert response.status_code in (400, 422) and named in str(response.json)
    # Another statement of the same day is a new decision, not a duplicate.
    record(world, Decision.refusal, on=OCT_1, number="46-ПД")
    assert rows(Consent) == 2


def test_a_duplicate_contact_names_the_record_on_the_form_and_the_api(world, login_as, call):
    client = login_as("registrar")
    assert client.post("/contactpointview/add", data=contact_form(world)).status_code == 302
    first = db.session.scalar(select(ContactPoint))
    named = f"Этот контакт уже записан: № {first.id}, Алексеева Мария Ивановна, alekseeva@example.ru (Заявление №7)."
    page = html.unescape(client.post("/contactpointview/add", data=contact_form(
        world, document_reference="Заявление №8")).get_data(as_text=True))
    assert named in page
    response = call("registrar", "post", "/api/v1/contactpoint/", json={
        "guardian": world.guardians["Алексеева"].id, "kind": "email", "value": "alekseeva@example.ru",
        "provenance": "written_statement", "document_reference": "№9", "active": True})
    assert response.status_code in (400, 422) and named in str(response.json)
    assert rows(ContactPoint) == 1


def test_the_paper_list_says_why_and_prints_each_familys_extract(world, login_as):
    record(world, Decision.refusal, on=OCT_1, kind=DocumentKind.paper)
    page = login_as("registrar").get("/consent/paper").get_data(as_text=True)
    kid = world.students["Алексеев"].id
    row = page[page.index(f'data-student="{kid}"'):]
    row = row[:row.index("</tr>")]
    assert "отказ от 01.10.2026" in row and 'name="period_id"' in row and "/extracts/print" in row
    assert "решение не записано" in page
    response = login_as("registrar").post("/extracts/print", data={
        "target": "student", "student_id": str(kid), "period_id": row.split('name="period_id" value="')[1][:row.split(
            'name="period_id" value="')[1].index('"')], "sections": ["timetable", "homework"]})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert TODAY  # the clock the list is judged at
