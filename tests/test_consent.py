"""The consent registry (SPEC §1.1, §5): the rules of a decision record with their messages and
nothing saved, supersession and the standing at past dates, the one gate senders ask, the
append-only guarantee on every path (ORM session, UI, REST API), the registrar's guided form,
the families' standing per class and the paper-recipient list."""
import datetime as dt
import html
import re

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Consent, Decision, DocumentKind, Student
from app.services.consent import (
    STANDARD_TEXT,
    class_statuses,
    may_send_electronically,
    paper_recipients,
    record_decision,
    status_of,
    statuses,
)
from app.services.errors import RuleViolation
from tests.consent_helpers import (
    NOV_2,
    OCT_1,
    SCHOOL_A_OPERATOR,
    SEPT_10,
    TODAY,
    add_guardian,
    committed_row,
    count,
    decision,
    events,
    record,
    ru,
)
from tests.security_helpers import bearer

pytestmark = pytest.mark.usefixtures("school_today")  # the clock reads TODAY

NEVER_CHANGED = "Consent records are never changed or deleted: record a new decision."
D, R, W = Decision.consent, Decision.refusal, Decision.withdrawal


# --- the rules of a decision record: a clear message and nothing saved ---------------------------

RULES = [
    ("not the student's representative", dict(guardian="Васильева"),
     "Васильева Мария Ивановна is not a legal representative of Алексеев Иван Иванович.", "guardian"),
    ("decision date in the future", dict(on=TODAY + dt.timedelta(days=1), doc_date=TODAY),
     "The date of the decision is required and cannot be in the future.", "decided_on"),
    ("no decision date", dict(on=None, doc_date=TODAY),
     "The date of the decision is required and cannot be in the future.", "decided_on"),
    ("paper without a number", dict(number=""), "A paper statement needs its number and date.", "document_number"),
    ("paper number of blanks", dict(number="   "), "A paper statement needs its number and date.",
     "document_number"),
    ("statement dated in the future", dict(doc_date=TODAY + dt.timedelta(days=3)),
     "The statement date cannot be in the future.", "document_date"),
    ("electronic without an id", dict(kind=DocumentKind.electronic, number="", edoc=""),
     "An electronic document needs its identifier.", "electronic_document_id"),
    ("electronic id of blanks", dict(kind=DocumentKind.electronic, number="", edoc="  "),
     "An electronic document needs its identifier.", "electronic_document_id"),
    ("no kind of document", dict(kind=None), "Choose the kind of document.", "document_kind"),
    ("no decision", dict(what=None), "Choose the decision.", "decision"),
    ("withdrawal with no decision at all", dict(what=W), "There is no current consent to withdraw.", "decision"),
]


def refused(world, expected: str, field: str | None, **kwargs) -> None:
    """The service refuses the decision with this message; no consent and no audit row appear."""
    consents, trail = count(Consent), count(AuditEvent)
    consent = decision(world, **kwargs)
    with force_locale("en"), pytest.raises(RuleViolation) as caught:
        record_decision(consent, "registrar")
    assert caught.value.message == expected
    assert caught.value.field == field
    db.session.rollback()
    db.session.commit()  # whatever the call left pending would be saved now
    assert (count(Consent), count(AuditEvent)) == (consents, trail)


@pytest.mark.parametrize(("what", "kwargs", "expected", "field"), RULES, ids=[r[0] for r in RULES])
def test_a_bad_decision_is_refused_with_its_message(world, what, kwargs, expected, field):
    refused(world, expected, field, **kwargs)


def test_a_paper_statement_without_its_date_is_refused(world):
    consents = count(Consent)
    consent = decision(world)
    consent.document_date = None
    with force_locale("en"), pytest.raises(RuleViolation, match=r"^A paper statement needs its number and date\.$"):
        record_decision(consent, "registrar")
    db.session.rollback()
    assert count(Consent) == consents


def test_a_representative_of_another_family_is_refused_even_with_a_link_elsewhere(world):
    """Алексеева represents Алексеев only: her decision about Васильев is refused."""
    refused(world, "Алексеева Мария Ивановна is not a legal representative of Васильев Иван Иванович.",
            "guardian", kid="Васильев", guardian="Алексеева")


@pytest.mark.parametrize("before", [None, R, W])
def test_withdrawal_needs_a_current_consent(world, before):
    """Nothing to withdraw after no decision, a refusal, or an earlier withdrawal."""
    if before == W:
        record(world, D, on=SEPT_10)
        record(world, W, on=OCT_1)
    elif before == R:
        record(world, R, on=SEPT_10)
    refused(world, "There is no current consent to withdraw.", "decision", what=W, on=NOV_2)


def test_a_withdrawal_cannot_predate_the_consent_it_withdraws(world):
    """The consent of 01.10 cannot be withdrawn by a statement of 10.09: there was nothing to withdraw then."""
    record(world, D, on=OCT_1)
    refused(world, "There is no current consent to withdraw.", "decision", what=W, on=SEPT_10)
    record(world, W, on=NOV_2)
    assert status_of(world.students["Алексеев"].id).decision == W


def test_a_valid_decision_is_recorded_with_the_statement_content(world):
    consent = record(world, D, on=SEPT_10, number="12-ПД")
    row = committed_row(Consent, consent.id)
    assert row["decision"] == "consent" and row["decided_on"] == SEPT_10
    assert row["document_kind"] == "paper" and row["document_number"] == "12-ПД" and row["document_date"] == SEPT_10
    assert row["recorded_by"] == "registrar" and row["recorded_at"] is not None
    assert row["operator"] == SCHOOL_A_OPERATOR
    assert row["authority_basis"] == "мать"  # taken from the representation record
    for field, text in STANDARD_TEXT.items():
        assert row[field] == text
    assert row["school_id"] == world.school_a.id


def test_given_statement_fields_are_kept_not_overwritten(world):
    consent = record(world, D, kind=DocumentKind.electronic, number="", edoc="ЕПГУ-555", purpose="Только дневник",
                     authority_basis="Свидетельство о рождении II-АБ 123456", operator="Оператор Х")
    row = committed_row(Consent, consent.id)
    assert row["purpose"] == "Только дневник" and row["data_list"] == STANDARD_TEXT["data_list"]
    assert row["authority_basis"] == "Свидетельство о рождении II-АБ 123456" and row["operator"] == "Оператор Х"
    assert row["electronic_document_id"] == "ЕПГУ-555" and row["document_date"] is None


# --- supersession and the standing at a date -------------------------------------------------------

def test_consent_refusal_consent_each_supersedes_the_previous(world):
    kid = world.students["Алексеев"].id
    first, second, third = record(world, D, on=SEPT_10), record(world, R, on=OCT_1), record(world, D, on=NOV_2)
    assert count(Consent, Consent.student_id == kid) == 3  # nothing replaced: the history grows
    expected = {
        dt.date(2026, 9, 1): None, dt.date(2026, 9, 9): None, SEPT_10: D, dt.date(2026, 9, 30): D,
        OCT_1: R, dt.date(2026, 11, 1): R, NOV_2: D, TODAY: D,
    }
    for day, wanted in expected.items():
        status = status_of(kid, at=day)
        assert status.decision == wanted, day
        assert status.electronic is (wanted == D), day
        assert may_send_electronically(kid, at=day) is (wanted == D), day
    assert status_of(kid, at=OCT_1).decided_on == OCT_1
    assert status_of(kid).decided_on == NOV_2  # default: the school's today
    history = [committed_row(Consent, c.id)["decision"] for c in (first, second, third)]
    assert history == ["consent", "refusal", "consent"]


def test_withdrawal_ends_electronic_delivery_from_its_date(world):
    kid = world.students["Алексеев"].id
    record(world, D, on=SEPT_10)
    record(world, W, on=NOV_2, kind=DocumentKind.electronic, number="", edoc="ЕПГУ-778")
    assert may_send_electronically(kid, at=dt.date(2026, 11, 1)) is True
    assert may_send_electronically(kid, at=NOV_2) is False
    assert status_of(kid).decision == W


def test_two_decisions_of_one_day_the_later_recorded_wins(world):
    kid = world.students["Алексеев"].id
    record(world, D, on=OCT_1)
    record(world, R, on=OCT_1, number="13-ПД")
    assert status_of(kid, at=OCT_1).decision == R
    record(world, D, on=OCT_1, number="14-ПД")
    assert status_of(kid, at=OCT_1).decision == D


def test_a_decision_about_one_student_leaves_the_others_alone(world):
    add_guardian(world, "Борисов", "Борисов-старший")
    record(world, D, on=SEPT_10)
    record(world, R, kid="Борисов", guardian="Борисов-старший", on=OCT_1)
    ids = [world.students[n].id for n in ("Алексеев", "Борисов", "Васильев")]
    got = statuses(ids)
    assert [got[i].decision for i in ids] == [D, R, None]
    assert [got[i].electronic for i in ids] == [True, False, False]
    assert statuses([]) == {}


# --- the gate every sender asks ----------------------------------------------------------------------

def stub_sender(student_ids: list[int], at: dt.date, outbox: list) -> list[int]:
    """A sender as the exchange and the mailer are written: it asks the gate for every student and
    puts only the allowed ones in its outbox; the others go to paper. Returns the paper ones."""
    paper = []
    for student_id in student_ids:
        if may_send_electronically(student_id, at=at):
            outbox.append({"student_id": student_id, "at": at.isoformat()})
        else:
            paper.append(student_id)
    return paper


def test_the_stub_sender_refuses_every_non_consented_student(world):
    add_guardian(world, "Борисов", "Борисов-старший")
    a, b, v = (world.students[n].id for n in ("Алексеев", "Борисов", "Васильев"))
    record(world, D, on=SEPT_10)                                               # Алексеев: consent
    record(world, D, kid="Борисов", guardian="Борисов-старший", on=SEPT_10)   # Борисов: consent, then
    record(world, W, kid="Борисов", guardian="Борисов-старший", on=OCT_1)     # withdrawn
    record(world, R, kid="Васильев", guardian="Васильева", on=SEPT_10)        # Васильев: refusal

    outbox: list = []
    paper = stub_sender([a, b, v], TODAY, outbox)
    assert [m["student_id"] for m in outbox] == [a]
    assert paper == [b, v]

    outbox = []
    paper = stub_sender([a, b, v], dt.date(2026, 9, 20), outbox)  # before Борисов withdrew
    assert [m["student_id"] for m in outbox] == [a, b]
    assert paper == [v]

    outbox = []
    assert stub_sender([a, b, v], dt.date(2026, 9, 1), outbox) == [a, b, v]  # before any decision
    assert outbox == []


# --- append-only: no path edits or deletes a decision ----------------------------------------------

def _consent_row(pk: int) -> dict:
    row = committed_row(Consent, pk)
    assert row is not None
    return row


def test_editing_a_consent_through_the_session_raises_and_nothing_changes(world):
    consent = record(world, D, on=SEPT_10, number="12-ПД")
    before, trail = _consent_row(consent.id), count(AuditEvent)
    consent.document_number = "99-ПД"
    consent.decision = Decision.refusal
    with force_locale("en"), pytest.raises(RuleViolation) as caught:
        db.session.commit()
    assert caught.value.message == NEVER_CHANGED
    db.session.rollback()
    assert _consent_row(consent.id) == before
    assert count(AuditEvent) == trail
    # A flush from any query (autoflush) is refused the same way.
    db.session.get(Consent, consent.id).term = "Бессрочно"
    with force_locale("en"), pytest.raises(RuleViolation, match="never changed or deleted"):
        db.session.flush()
    db.session.rollback()
    assert _consent_row(consent.id) == before


def test_deleting_a_consent_through_the_session_raises_and_the_row_stays(world):
    consent = record(world, D, on=SEPT_10)
    before, trail = _consent_row(consent.id), count(AuditEvent)
    db.session.delete(consent)
    with force_locale("en"), pytest.raises(RuleViolation) as caught:
        db.session.commit()
    assert caught.value.message == NEVER_CHANGED
    db.session.rollback()
    assert _consent_row(consent.id) == before
    assert count(Consent) == 1 and count(AuditEvent) == trail


@pytest.mark.parametrize("username", ["registrar", "admin", "director"])
def test_the_ui_has_no_edit_or_delete_of_a_consent(world, login_as, username):
    consent = record(world, D, on=SEPT_10)
    before = _consent_row(consent.id)
    client = login_as(username)
    assert client.get(f"/consentview/show/{consent.id}").status_code == 200  # the row is there to see
    attempts = [
        ("GET", f"/consentview/edit/{consent.id}", None),
        ("POST", f"/consentview/edit/{consent.id}", {"decision": "refusal", "document_number": "99"}),
        ("GET", f"/consentview/delete/{consent.id}", None),
        ("POST", f"/consentview/delete/{consent.id}", {}),
        ("POST", "/consentview/action_post", {"action": "muldelete", "rowid": [str(consent.id)]}),
        ("GET", f"/consentview/action/muldelete/{consent.id}", None),
    ]
    for http, url, form in attempts:
        assert client.open(url, method=http, data=form).status_code in (404, 405), f"{http} {url}"
    page = client.get("/consentview/list/").get_data(as_text=True)
    assert f"/consentview/edit/{consent.id}" not in page and f"/consentview/delete/{consent.id}" not in page
    assert _consent_row(consent.id) == before
    assert count(Consent) == 1


@pytest.mark.parametrize("username", ["registrar", "admin"])
def test_the_api_refuses_put_and_delete_of_a_consent(app, world, api_token, username):
    consent = record(world, D, on=SEPT_10)
    before = _consent_row(consent.id)
    client, headers = app.test_client(), bearer(api_token(username))
    assert client.get(f"/api/v1/consent/{consent.id}", headers=headers).status_code == 200
    put = client.put(f"/api/v1/consent/{consent.id}", json={"document_number": "99-ПД"}, headers=headers)
    assert put.status_code == 405
    delete = client.delete(f"/api/v1/consent/{consent.id}", headers=headers)
    assert delete.status_code == 405
    patch = client.patch(f"/api/v1/consent/{consent.id}", json={"document_number": "99-ПД"}, headers=headers)
    assert patch.status_code == 405
    assert _consent_row(consent.id) == before
    assert count(Consent) == 1
    spec = client.get("/api/v1/_openapi", headers=headers).json["paths"]
    assert set(spec["/api/v1/consent/{pk}"]) == {"get"}
    assert set(spec["/api/v1/consent/"]) == {"get", "post"}


# --- the guided form and the API of the registrar -----------------------------------------------

def _form(world, **changes) -> dict:
    """What the guided form posts when the registrar fills it (the standard texts are prefilled)."""
    data = {"student": str(world.students["Алексеев"].id), "guardian": str(world.guardians["Алексеева"].id),
            "decision": "refusal", "decided_on": "2026-11-20", "document_kind": "paper",
            "document_number": "45-ПД", "document_date": "2026-11-19", "electronic_document_id": "",
            "authority_basis": "", **STANDARD_TEXT}
    data.update(changes)
    return data


def test_the_guided_form_is_prefilled_with_the_standard_text(world, login_as):
    page = login_as("registrar").get("/consentview/add")
    assert page.status_code == 200
    text = html.unescape(page.get_data(as_text=True))
    for field, standard in STANDARD_TEXT.items():
        match = re.search(rf'<textarea[^>]*name="{field}"[^>]*>\s*(.*?)</textarea>', text, re.S)
        assert match, field
        assert match.group(1).strip() == standard
    for field in ("student", "guardian", "decision", "decided_on", "document_kind", "document_number",
                  "document_date", "electronic_document_id", "authority_basis"):
        assert f'name="{field}"' in text, field
    # Edit and delete are never offered (only list, show and add are routed).
    assert "/consentview/edit/" not in text and "/consentview/delete/" not in text


def test_the_registrar_records_a_refusal_with_the_guided_form(world, login_as):
    response = login_as("registrar").post("/consentview/add", data=_form(world))
    assert response.status_code == 302
    saved = db.session.scalars(select(Consent)).all()
    assert len(saved) == 1
    consent = saved[0]
    assert consent.student_id == world.students["Алексеев"].id
    assert consent.guardian_id == world.guardians["Алексеева"].id
    assert consent.decision == R and consent.decided_on == TODAY
    assert consent.document_kind == DocumentKind.paper
    assert (consent.document_number, consent.document_date) == ("45-ПД", dt.date(2026, 11, 19))
    assert consent.recorded_by == "registrar" and consent.school_id == world.school_a.id
    assert consent.operator == SCHOOL_A_OPERATOR and consent.authority_basis == "мать"
    assert {f: getattr(consent, f) for f in STANDARD_TEXT} == STANDARD_TEXT
    trail = events("consent")
    assert [(e.action, e.entity_id, e.username) for e in trail] == [("create", consent.id, "registrar")]
    assert may_send_electronically(consent.student_id) is False


def test_the_guided_form_records_an_electronic_document_without_a_paper_number(world, login_as):
    data = _form(world, decision="consent", document_kind="electronic", document_number="", document_date="",
                 electronic_document_id="ЕПГУ-000123", authority_basis="Свидетельство о рождении")
    assert login_as("registrar").post("/consentview/add", data=data).status_code == 302
    consent = db.session.scalar(select(Consent))
    assert consent is not None
    assert (consent.document_kind, consent.electronic_document_id) == (DocumentKind.electronic, "ЕПГУ-000123")
    assert consent.document_number == "" and consent.document_date is None
    assert consent.authority_basis == "Свидетельство о рождении"
    assert may_send_electronically(consent.student_id) is True


def _danger(response) -> list[str]:
    """The error messages flashed on a page."""
    page = response.get_data(as_text=True)
    found = re.findall(r'alert-danger[^>]*>(.*?)</div>', page, re.S)
    return [html.unescape(re.sub(r"<[^>]+>|&times;", "", m)).strip() for m in found]


FORM_RULES = [
    ("paper without a number", dict(document_number=""), "A paper statement needs its number and date."),
    ("paper without a date", dict(document_date=""), "A paper statement needs its number and date."),
    ("electronic without an id", dict(document_kind="electronic", electronic_document_id=""),
     "An electronic document needs its identifier."),
    ("future decision", dict(decided_on="2026-11-21"),
     "The date of the decision is required and cannot be in the future."),
    ("withdrawal without consent", dict(decision="withdrawal"), "There is no current consent to withdraw."),
]


@pytest.mark.parametrize(("what", "changes", "msgid"), FORM_RULES, ids=[r[0] for r in FORM_RULES])
def test_the_guided_form_shows_the_rule_and_saves_nothing(world, login_as, what, changes, msgid):
    response = login_as("registrar").post("/consentview/add", data=_form(world, **changes), follow_redirects=True)
    assert response.status_code == 200
    assert _danger(response) == [ru(msgid)]
    assert count(Consent) == 0 and count(AuditEvent) == 0


def test_the_guided_form_refuses_a_guardian_of_another_family(world, login_as):
    response = login_as("registrar").post("/consentview/add", data=_form(
        world, guardian=str(world.guardians["Васильева"].id)), follow_redirects=True)
    assert response.status_code == 200
    expected = ru("%(guardian)s is not a legal representative of %(student)s.",
                  guardian="Васильева Мария Ивановна", student="Алексеев Иван Иванович")
    assert _danger(response) == [expected]
    assert count(Consent) == 0 and count(AuditEvent) == 0


def _api_body(world, **changes) -> dict:
    body = {"student": world.students["Алексеев"].id, "guardian": world.guardians["Алексеева"].id,
            "decision": "consent", "decided_on": "2026-11-20", "document_kind": "electronic",
            "document_number": "", "electronic_document_id": "ЕПГУ-42", "authority_basis": "мать",
            "operator": SCHOOL_A_OPERATOR, **STANDARD_TEXT}
    body.update(changes)
    return body


def test_the_api_appends_a_decision_as_the_registrar(app, world, api_token):
    client, headers = app.test_client(), bearer(api_token("registrar"))
    response = client.post("/api/v1/consent/", json=_api_body(world), headers=headers)
    assert response.status_code == 201, response.json
    consent = db.session.get(Consent, response.json["id"])
    assert consent.decision == D and consent.recorded_by == "registrar"
    assert consent.electronic_document_id == "ЕПГУ-42"
    shown = client.get(f"/api/v1/consent/{consent.id}", headers=headers).json["result"]
    assert shown["recorded_by"] == "registrar" and shown["decision"] == "consent"
    assert [(e.action, e.username) for e in events("consent")] == [("create", "registrar")]


@pytest.mark.parametrize(("changes", "msgid"), [
    (dict(guardian="Васильева"), "%(guardian)s is not a legal representative of %(student)s."),
    (dict(decided_on="2026-12-01"), "The date of the decision is required and cannot be in the future."),
    (dict(electronic_document_id=""), "An electronic document needs its identifier."),
    (dict(document_kind="paper", document_number=""), "A paper statement needs its number and date."),
    (dict(decision="withdrawal"), "There is no current consent to withdraw."),
])
def test_the_api_refuses_a_bad_decision_with_422_and_saves_nothing(app, world, api_token, changes, msgid):
    if changes.get("guardian"):
        changes["guardian"] = world.guardians[changes["guardian"]].id
    response = app.test_client().post("/api/v1/consent/", json=_api_body(world, **changes),
                                      headers=bearer(api_token("registrar")))
    assert response.status_code == 422
    expected = ru(msgid, guardian="Васильева Мария Ивановна", student="Алексеев Иван Иванович")
    assert response.json["message"] == expected
    assert count(Consent) == 0 and count(AuditEvent) == 0


# --- standing per class and the paper-recipient list ---------------------------------------------

@pytest.fixture
def families(world):
    """Алексеев consented (10.09); Борисов's father refused (01.10); Васильев (5Б) no decision yet;
    Гаврилов of school B consented."""
    add_guardian(world, "Борисов", "Борисов-старший")
    add_guardian(world, "Гаврилов", "Гаврилова", relation="мать")
    record(world, D, on=SEPT_10)
    record(world, R, kid="Борисов", guardian="Борисов-старший", on=OCT_1)
    record(world, D, kid="Гаврилов", guardian="Гаврилова", on=SEPT_10, by="director_b")
    return world


def _names(students: list[Student]) -> list[str]:
    return [s.surname for s in students]


def test_class_statuses_give_each_student_of_the_class_at_a_date(families):
    a5 = families.classes["5А"].id
    now = [(s.surname, st.decision, st.electronic) for s, st in class_statuses(a5)]
    assert now == [("Алексеев", D, True), ("Борисов", R, False)]
    september = [(s.surname, st.decision, st.electronic) for s, st in class_statuses(a5, dt.date(2026, 9, 20))]
    assert september == [("Алексеев", D, True), ("Борисов", None, False)]
    assert [(s.surname, st.decision) for s, st in class_statuses(families.classes["5Б"].id)] == [("Васильев", None)]
    assert class_statuses(a5, dt.date(2026, 8, 31)) == []  # nobody enrolled before the year


def test_paper_recipients_of_the_school_and_of_a_class(families):
    school_a = families.school_a.id
    assert _names(paper_recipients(school_a)) == ["Борисов", "Васильев"]
    assert _names(paper_recipients(school_a, class_id=families.classes["5А"].id)) == ["Борисов"]
    assert _names(paper_recipients(school_a, class_id=families.classes["5Б"].id)) == ["Васильев"]
    assert _names(paper_recipients(school_a, at=dt.date(2026, 9, 5))) == ["Алексеев", "Борисов", "Васильев"]
    assert _names(paper_recipients(families.school_b.id)) == []  # Гаврилов consented


def test_a_student_who_left_is_no_paper_recipient(families):
    vasiliev = families.students["Васильев"]
    vasiliev.left_on = dt.date(2026, 10, 30)
    db.session.commit()
    assert _names(paper_recipients(families.school_a.id)) == ["Борисов"]


def _standing(page: str) -> dict[int, str]:
    rows = re.findall(r'data-student="(\d+)">.*?class="standing">([^<]*)<', page, re.S)
    return {int(pk): text.strip() for pk, text in rows}


def test_the_status_page_filters_by_class_and_date(families, login_as):
    client = login_as("registrar")
    a, b = families.students["Алексеев"].id, families.students["Борисов"].id
    electronic, paper = ru("electronic"), ru("paper recipient")
    page = client.get(f"/consent/status?class_id={families.classes['5А'].id}")
    assert page.status_code == 200
    assert _standing(page.get_data(as_text=True)) == {a: electronic, b: paper}
    page = client.get(f"/consent/status?class_id={families.classes['5А'].id}&at=2026-09-05")
    assert _standing(page.get_data(as_text=True)) == {a: paper, b: paper}
    page = client.get(f"/consent/status?class_id={families.classes['5Б'].id}")
    assert _standing(page.get_data(as_text=True)) == {families.students["Васильев"].id: paper}


def test_the_paper_recipient_page_of_the_school_and_of_a_class(families, login_as):
    client = login_as("registrar")
    ids = {n: families.students[n].id for n in ("Алексеев", "Борисов", "Васильев", "Гаврилов")}

    def listed(url: str) -> list[int]:
        response = client.get(url)
        assert response.status_code == 200
        return [int(pk) for pk in re.findall(r'<tr data-student="(\d+)"', response.get_data(as_text=True))]

    assert listed("/consent/paper") == [ids["Борисов"], ids["Васильев"]]
    assert listed(f"/consent/paper?class_id={families.classes['5А'].id}") == [ids["Борисов"]]
    assert listed(f"/consent/paper?class_id={families.classes['5Б'].id}") == [ids["Васильев"]]
    # Another school's class is not shown to the registrar of school A.
    assert client.get(f"/consent/paper?class_id={families.classes['B5А'].id}").status_code == 404
