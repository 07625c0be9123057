"""The auditor (SPEC §5): reads the whole consent history (superseded decisions included) and the
audit trail with filters by who, entity and period, exports both as CSV — and changes nothing: every
write on the consent, contact, delivery and audit views and APIs is refused and no row moves."""
import datetime as dt
import json
import re
from urllib.parse import quote

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select, update

from app.extensions import db
from app.models import AuditEvent, Channel, Consent, ContactKind, ContactPoint, Decision, DeliveryPreference
from app.security import permissions as p
from app.security.roles import ROLE_AUDITOR, ROLE_PERMISSIONS
from app.services.audit import acting_as, verify_chain
from app.services.consent import STANDARD_TEXT
from app.services.journal import set_mark
from tests.consent_helpers import NOV_2, OCT_1, SEPT_10, add_contact, add_guardian, count, events, parse_csv, record
from tests.journal_helpers import actor, add_lessons, clear_trail, work_type
from tests.security_helpers import bearer, changed_tables, listed_pks, snapshot
from tests.test_audit_chain import rechain

pytestmark = pytest.mark.usefixtures("school_today")  # the clock reads TODAY

TABLE = AuditEvent.__table__
D, R = "consent", "refusal"
CONSENT_RESOURCES = (p.RESOURCE_CONSENT, p.RESOURCE_CONTACT, p.RESOURCE_DELIVERY, p.RESOURCE_AUDIT)


def user_id(username: str) -> int:
    return db.session.scalar(select(User.id).where(User.username == username))


def backdate_and_rechain(when: dict[int, dt.datetime]) -> None:
    """Give events their historical times and rebuild the chains over them, as if the trail had
    been written on those days (the chains must stay valid: only the times are of interest here)."""
    with db.engine.begin() as conn:
        for pk, at in when.items():
            conn.execute(update(TABLE).where(TABLE.c.id == pk).values(at=at))
        rechain(conn)
    db.session.expire_all()


@pytest.fixture
def history(world):
    """School A: Алексеев consent 10.09 → refusal 01.10 → consent 02.11, Васильев refusal 01.10 (all by
    the registrar); a contact by the registrar (15.10); a mark by the teacher (18.11).
    School B: Гаврилов's consent by director_b. Events carry those days' times."""
    add_guardian(world, "Гаврилов", "Гаврилова", relation="мать")
    lesson = add_lessons(world, dt.date(2026, 11, 18))[0]
    clear_trail()
    consents = {
        "a1": record(world, Decision.consent, on=SEPT_10),
        "a2": record(world, Decision.refusal, on=OCT_1, number="13-ПД"),
        "v1": record(world, Decision.refusal, kid="Васильев", guardian="Васильева", on=OCT_1, number="14-ПД"),
        "a3": record(world, Decision.consent, on=NOV_2, number="15-ПД"),
        "b1": record(world, Decision.consent, kid="Гаврилов", guardian="Гаврилова", on=SEPT_10, by="director_b"),
    }
    with acting_as("registrar", user_id("registrar")):
        contact = add_contact(world, "Алексеева", ContactKind.email, "alekseeva@example.ru")
    with acting_as("teacher", user_id("teacher")):
        set_mark(actor("teacher"), lesson.id, world.students["Алексеев"].id, work_type(world).id, 4,
                 today=dt.date(2026, 11, 18))
        db.session.commit()
    trail = events()
    assert [(e.entity, e.username) for e in trail] == [
        ("consent", "registrar")] * 4 + [("consent", "director_b"), ("contact_point", "registrar"),
                                         ("mark", "teacher")]
    times = [dt.datetime(2026, 9, 10, 10), dt.datetime(2026, 10, 1, 10), dt.datetime(2026, 10, 1, 11),
             dt.datetime(2026, 11, 2, 10), dt.datetime(2026, 9, 10, 12), dt.datetime(2026, 10, 15, 12),
             dt.datetime(2026, 11, 18, 9)]
    backdate_and_rechain({e.id: at for e, at in zip(trail, times, strict=True)})
    assert verify_chain() == (7, None)
    ev = {name: e.id for name, e in zip(["a1", "a2", "v1", "a3", "b1", "contact", "mark"], events(), strict=True)}
    return {"consents": {k: c.id for k, c in consents.items()}, "events": ev, "contact": contact.id}


# --- the consent history ---------------------------------------------------------------------------

def test_the_auditor_lists_every_decision_superseded_ones_included(history, login_as):
    client, c = login_as("auditor"), history["consents"]
    page = client.get("/consentview/list/")
    assert page.status_code == 200
    assert listed_pks(page.get_data(as_text=True), "/consentview") == {c["a1"], c["a2"], c["v1"], c["a3"]}
    # Only Алексеев's three decisions when filtered by the student.
    kid = db.session.get(Consent, c["a1"]).student_id
    page = client.get(f"/consentview/list/?_flt_0_student={kid}").get_data(as_text=True)
    assert listed_pks(page, "/consentview") == {c["a1"], c["a2"], c["a3"]}
    # A superseded decision is shown with its whole content.
    shown = client.get(f"/consentview/show/{c['a2']}")
    assert shown.status_code == 200
    text = shown.get_data(as_text=True)
    assert "13-ПД" in text and STANDARD_TEXT["withdrawal_procedure"] in text
    # Another school's decision is not there.
    assert client.get(f"/consentview/show/{c['b1']}").status_code == 404


def test_the_consent_history_csv_has_every_decision_in_order(history, login_as):
    response = login_as("auditor").get("/consent/history.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "filename*=UTF-8''" + quote("История согласий.csv") in response.headers["Content-Disposition"]
    rows = parse_csv(response.data)
    c = history["consents"]
    assert [int(r["id"]) for r in rows] == [c["a1"], c["a2"], c["v1"], c["a3"]]
    got = [(r["обучающийся"], r["класс"], r["законный представитель"], r["решение"], r["дата решения"],
            r["документ"], r["номер"], r["дата документа"], r["основание полномочий"], r["записал"]) for r in rows]
    assert got == [
        ("Алексеев Иван Иванович", "5А", "Алексеева Мария Ивановна", D, "2026-09-10", "paper", "12-ПД",
         "2026-09-10", "мать", "registrar"),
        ("Алексеев Иван Иванович", "5А", "Алексеева Мария Ивановна", R, "2026-10-01", "paper", "13-ПД",
         "2026-10-01", "мать", "registrar"),
        ("Васильев Иван Иванович", "5Б", "Васильева Мария Ивановна", R, "2026-10-01", "paper", "14-ПД",
         "2026-10-01", "мать", "registrar"),
        ("Алексеев Иван Иванович", "5А", "Алексеева Мария Ивановна", D, "2026-11-02", "paper", "15-ПД",
         "2026-11-02", "мать", "registrar"),
    ]
    assert all(r["записано"] for r in rows)


# --- the audit trail ------------------------------------------------------------------------------

def _listed(client, query: str = "") -> set[int]:
    page = client.get(f"/auditeventview/list/{query}")
    assert page.status_code == 200
    return listed_pks(page.get_data(as_text=True), "/auditeventview")


def test_the_audit_trail_list_filters_by_who_entity_and_period(history, login_as):
    client, ev = login_as("auditor"), history["events"]
    school_a = {ev[k] for k in ("a1", "a2", "v1", "a3", "contact", "mark")}
    assert _listed(client) == school_a  # school B's event is not shown
    assert _listed(client, "?_flt_3_username=teacher") == {ev["mark"]}
    assert _listed(client, "?_flt_3_username=registrar") == school_a - {ev["mark"]}
    assert _listed(client, "?_flt_3_entity=consent") == {ev["a1"], ev["a2"], ev["v1"], ev["a3"]}
    assert _listed(client, "?_flt_3_entity=contact_point&_flt_3_username=registrar") == {ev["contact"]}
    october = "?_flt_1_at=2026-10-01 00:00:00&_flt_2_at=2026-10-31 23:59:59"
    assert _listed(client, october) == {ev["a2"], ev["v1"], ev["contact"]}
    assert _listed(client, october + "&_flt_3_entity=consent") == {ev["a2"], ev["v1"]}
    assert _listed(client, "?_flt_3_username=director_b") == set()


def test_the_auditor_opens_an_event_with_its_values_and_hashes(history, login_as):
    event = db.session.get(AuditEvent, history["events"]["a2"])
    page = login_as("auditor").get(f"/auditeventview/show/{event.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert event.hash in text and event.prev_hash in text and "13-ПД" in text


def _export(client, query: str = "") -> list[dict]:
    response = client.get(f"/audit/export.csv{query}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return parse_csv(response.data)


def test_the_audit_csv_export_with_filters(history, login_as):
    client, ev = login_as("auditor"), history["events"]
    rows = _export(client)
    assert [int(r["id"]) for r in rows] == [ev[k] for k in ("a1", "a2", "v1", "a3", "contact", "mark")]
    first = rows[0]
    event = db.session.get(AuditEvent, ev["a1"])
    assert (first["когда"], first["кто"], first["сущность"], first["запись"], first["действие"], first["хеш"]) == (
        "2026-09-10T10:00:00", "registrar", "consent", str(history["consents"]["a1"]), "create", event.hash)
    assert first["до"] == ""
    after = json.loads(first["после"])
    assert after["decision"] == "consent" and after["document_number"] == "12-ПД"
    assert json.loads(rows[-1]["после"])["value"] == 4

    assert [int(r["id"]) for r in _export(client, "?username=teacher")] == [ev["mark"]]
    assert [int(r["id"]) for r in _export(client, "?entity=contact_point")] == [ev["contact"]]
    assert [int(r["id"]) for r in _export(client, "?from=2026-10-01&to=2026-10-31")] == [
        ev["a2"], ev["v1"], ev["contact"]]
    assert [int(r["id"]) for r in _export(client, "?from=2026-11-02")] == [ev["a3"], ev["mark"]]
    assert [int(r["id"]) for r in _export(client, "?to=2026-09-30")] == [ev["a1"]]
    assert [int(r["id"]) for r in _export(client, "?username=registrar&entity=consent&from=2026-10-02")] == [
        ev["a3"]]
    assert _export(client, "?username=nobody") == []
    # A malformed date is ignored rather than failing the export.
    assert len(_export(client, "?from=01.10.2026")) == 6


# --- the auditor changes nothing ------------------------------------------------------------------

def _valid_consent_form(world) -> dict:
    return {"student": world.students["Алексеев"].id, "guardian": world.guardians["Алексеева"].id,
            "decision": "refusal", "decided_on": "2026-11-20", "document_kind": "paper", "document_number": "99",
            "document_date": "2026-11-20", **STANDARD_TEXT}


def _valid_contact_form(world) -> dict:
    return {"student": world.students["Алексеев"].id, "guardian": world.guardians["Алексеева"].id, "kind": "phone",
            "value": "+79123456789",
            "provenance": "written_statement", "document_reference": "Заявление №9", "active": "y"}


def _attempts(world, history, delivery_id: int):
    """(what, client kind, method, url, payload, expected status) of every write the auditor might try."""
    consent, contact, event = history["consents"]["a1"], history["contact"], history["events"]["a1"]
    kid = world.students["Алексеев"].id
    return [
        ("add consent", "ui", "POST", "/consentview/add", _valid_consent_form(world), 403),
        ("add consent form", "ui", "GET", "/consentview/add", None, 403),
        ("edit consent", "ui", "POST", f"/consentview/edit/{consent}", {"document_number": "0"}, 404),
        ("delete consent", "ui", "POST", f"/consentview/delete/{consent}", {}, 404),
        ("add contact", "ui", "POST", "/contactpointview/add", _valid_contact_form(world), 403),
        ("edit contact", "ui", "POST", f"/contactpointview/edit/{contact}",
         {**_valid_contact_form(world), "kind": "email", "value": "a.alekseeva@example.ru"}, 403),
        ("delete contact", "ui", "POST", f"/contactpointview/delete/{contact}", {}, 403),
        ("add delivery", "ui", "POST", "/deliverypreferenceview/add",
         {"student": world.students["Борисов"].id, "channel": "paper", "contact": ""}, 403),
        ("edit delivery", "ui", "POST", f"/deliverypreferenceview/edit/{delivery_id}",
         {"student": kid, "channel": "email", "contact": contact}, 403),
        ("delete delivery", "ui", "POST", f"/deliverypreferenceview/delete/{delivery_id}", {}, 403),
        ("add event", "ui", "POST", "/auditeventview/add", {"username": "auditor"}, 404),
        ("edit event", "ui", "POST", f"/auditeventview/edit/{event}", {"username": "auditor"}, 404),
        ("delete event", "ui", "POST", f"/auditeventview/delete/{event}", {}, 404),
        ("api post consent", "api", "POST", "/api/v1/consent/", {
            "student": kid, "guardian": world.guardians["Алексеева"].id, "decision": "refusal",
            "decided_on": "2026-11-20", "document_kind": "electronic", "electronic_document_id": "ЕПГУ-1",
            "document_number": "", "authority_basis": "мать", "operator": "Школа", **STANDARD_TEXT}, 403),
        ("api put consent", "api", "PUT", f"/api/v1/consent/{consent}", {"document_number": "0"}, 405),
        ("api delete consent", "api", "DELETE", f"/api/v1/consent/{consent}", None, 405),
        ("api post contact", "api", "POST", "/api/v1/contactpoint/", {
            "guardian": world.guardians["Алексеева"].id, "kind": "phone", "value": "+79123456789",
            "provenance": "written_statement", "document_reference": "№9", "active": True}, 403),
        ("api put contact", "api", "PUT", f"/api/v1/contactpoint/{contact}", {"value": "a.alekseeva@example.ru"},
         403),
        ("api delete contact", "api", "DELETE", f"/api/v1/contactpoint/{contact}", None, 403),
        ("api post delivery", "api", "POST", "/api/v1/deliverypreference/",
         {"student": world.students["Борисов"].id, "channel": "paper"}, 403),
        ("api put delivery", "api", "PUT", f"/api/v1/deliverypreference/{delivery_id}", {"channel": "paper"}, 403),
        ("api delete delivery", "api", "DELETE", f"/api/v1/deliverypreference/{delivery_id}", None, 403),
    ]


@pytest.fixture
def delivery(world, history):
    """Алексеев's family agreed to e-mail (its contact of the history)."""
    pref = DeliveryPreference(school_id=world.school_a.id, student=world.students["Алексеев"], channel=Channel.email,
                              contact=db.session.get(ContactPoint, history["contact"]))
    db.session.add(pref)
    db.session.commit()
    return pref.id


def test_every_write_of_the_auditor_is_refused_and_nothing_changes(app, world, history, delivery, login_as,
                                                                    api_token):
    ui, api, headers = login_as("auditor"), app.test_client(), bearer(api_token("auditor"))
    before = snapshot()
    wrong = []
    for what, kind, http, url, payload, expected in _attempts(world, history, delivery):
        if kind == "ui":
            got = ui.open(url, method=http, data=payload).status_code
        else:
            got = api.open(url, method=http, json=payload, headers=headers).status_code
        if got != expected:
            wrong.append(f"{what}: {http} {url} → {got}, expected {expected}")
    assert not wrong, "\n".join(wrong)
    assert changed_tables(before, snapshot()) == []
    assert verify_chain() == (8, None)


def test_the_same_writes_succeed_for_the_registrar(app, world, history, delivery, login_as, api_token):
    """Control: the payloads are valid, so the auditor's 403s are the permissions."""
    ui, api, headers = login_as("registrar"), app.test_client(), bearer(api_token("registrar"))
    attempts = {a[0]: a for a in _attempts(world, history, delivery)}
    for what in ("add consent", "add contact", "add delivery"):
        _, _, http, url, payload, _ = attempts[what]
        assert ui.open(url, method=http, data=payload).status_code == 302, what
    for what in ("api put contact", "api post consent"):
        _, _, http, url, payload, _ = attempts[what]
        response = api.open(url, method=http, json=payload, headers=headers)
        assert response.status_code in (200, 201), (what, response.json)
    assert count(Consent) == 7
    assert db.session.get(ContactPoint, history["contact"]).value == "a.alekseeva@example.ru"
    assert count(DeliveryPreference) == 2


def test_the_role_table_gives_the_auditor_reading_only(app, world):
    grants = ROLE_PERMISSIONS[ROLE_AUDITOR]
    assert {perm for perm, _ in grants if perm == p.CAN_WRITE} == set()
    for resource in CONSENT_RESOURCES:
        assert (p.CAN_READ, resource) in grants
    role = app.appbuilder.sm.find_role(ROLE_AUDITOR)
    stored = {(pv.permission.name, pv.view_menu.name) for pv in role.permissions}
    assert {pair for pair in stored if pair[0] in ("can_write", "can_add", "can_edit", "can_delete", "can_post",
                                                    "can_put")} == set()
    for resource in CONSENT_RESOURCES:
        assert (p.CAN_READ, resource) in stored


@pytest.mark.parametrize("username", ["registrar", "teacher", "classteacher"])
def test_only_the_auditor_and_the_administration_read_the_trail(history, login_as, username):
    client = login_as(username)
    assert client.get("/auditeventview/list/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403


def test_the_administration_reads_the_trail_but_cannot_write_it(history, login_as):
    client = login_as("director")
    assert client.get("/auditeventview/list/").status_code == 200
    rows = _export(client)
    assert len(rows) == 6
    event = history["events"]["a1"]
    assert client.post(f"/auditeventview/edit/{event}", data={"username": "x"}).status_code == 404
    assert client.post(f"/auditeventview/delete/{event}").status_code == 404
    assert re.search(r"/auditeventview/(edit|delete)/", client.get("/auditeventview/list/").get_data(as_text=True)) \
        is None


def test_the_audit_csv_export_refuses_a_filter_no_column_holds(history, login_as):
    """A NUL in the username or entity filter was PostgreSQL's 500 (found by the route fuzzing)."""
    client = login_as("auditor")
    for name in ("username", "entity"):
        response = client.get("/audit/export.csv", query_string={name: "a\x00b"})
        assert response.status_code == 400, (name, response.status_code)
        assert "NUL" in response.get_data(as_text=True) and "не" in response.get_data(as_text=True)
    kept = _export(client, "?entity=consent")  # a filter that suits its column still filters
    assert kept and {row["сущность"] for row in kept} == {"consent"}
