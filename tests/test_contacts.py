"""Contacts with their provenance and delivery preferences (SPEC §1.7, §5): e-mail and +7 phone
formats, the written statement or e-document reference every contact needs, and the channel a
family agreed to matching its contact — by the service, the registrar's UI forms and the REST
API, with a clear message and nothing saved on bad input."""
import html
import re

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Channel, ContactKind, ContactPoint, DeliveryPreference, Provenance
from app.services.consent import validate_contact
from app.services.errors import RuleViolation
from tests.consent_helpers import add_contact, count, ru
from tests.security_helpers import bearer, field_errors

pytestmark = pytest.mark.usefixtures("school_today")  # the clock reads TODAY

PHONE = "Write the phone as +7XXXXXXXXXX."
EMAIL = "«%(value)s» is not an e-mail address."
PROVENANCE = "Say how the family gave the contact: the statement or e-document reference."
EMPTY = "The contact is empty."
KIND_FOR_CHANNEL = "Choose a contact of the kind the channel needs."
NOT_THEIRS = "The contact is not of the student's legal representative."


def _danger(response) -> list[str]:
    """The error messages flashed on a page."""
    found = re.findall(r'alert-danger[^>]*>(.*?)</div>', response.get_data(as_text=True), re.S)
    return [html.unescape(re.sub(r"<[^>]+>|&times;", "", m)).strip() for m in found]


# --- the service rule -----------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "stored"), [
    ("+79123456789", "+79123456789"),
    ("89123456789", "+79123456789"),
    ("8 (912) 345-67-89", "+79123456789"),
    ("+7 912 345 67 89", "+79123456789"),
    ("  +7(912)345-67-89 ", "+79123456789"),
])
def test_a_phone_is_stored_as_plus_seven(given, stored, app):
    contact = ContactPoint(kind=ContactKind.phone, value=given, provenance=Provenance.written_statement,
                           document_reference="Заявление №3")
    validate_contact(contact)
    assert contact.value == stored


@pytest.mark.parametrize("given", ["912345678", "9123456789", "+8 912 345 67 89", "+791234567890", "+7912345678",
                                   "79123456789", "8912345678", "+7 912 ABC 67 89", "", "   "])
def test_a_bad_phone_is_refused(given, app):
    contact = ContactPoint(kind=ContactKind.phone, value=given, provenance=Provenance.written_statement,
                           document_reference="Заявление №3")
    with force_locale("en"), pytest.raises(RuleViolation) as caught:
        validate_contact(contact)
    assert (caught.value.message, caught.value.field) == (PHONE, "value")


@pytest.mark.parametrize("given", ["ivanova@example.ru", " ivanova@mail.example.com ", "a.b+c@школа.рф"])
def test_a_good_email_is_kept_trimmed(given, app):
    contact = ContactPoint(kind=ContactKind.email, value=given, provenance=Provenance.electronic_document,
                           document_reference="ЕПГУ-1")
    validate_contact(contact)
    assert contact.value == given.strip()


@pytest.mark.parametrize("given", ["ivanova", "ivanova@", "@example.ru", "ivanova@example", "iv anova@example.ru",
                                   "a@@example.ru", ""])
def test_a_bad_email_is_refused(given, app):
    contact = ContactPoint(kind=ContactKind.email, value=given, provenance=Provenance.written_statement,
                           document_reference="Заявление №3")
    with force_locale("en"), pytest.raises(RuleViolation) as caught:
        validate_contact(contact)
    assert caught.value.message == EMAIL.replace("%(value)s", given.strip())
    assert caught.value.field == "value"


@pytest.mark.parametrize("kind", [ContactKind.portal, ContactKind.postal])
def test_an_empty_portal_account_or_address_is_refused(kind, app):
    contact = ContactPoint(kind=kind, value="  ", provenance=Provenance.written_statement, document_reference="№3")
    with force_locale("en"), pytest.raises(RuleViolation, match=re.escape(EMPTY)):
        validate_contact(contact)


@pytest.mark.parametrize(("provenance", "reference"), [
    (Provenance.written_statement, ""), (Provenance.electronic_document, "   "), (None, "Заявление №3"),
    (Provenance.written_statement, None)])
def test_every_contact_needs_its_provenance_and_reference(provenance, reference, app):
    contact = ContactPoint(kind=ContactKind.postal, value="г. Москва, ул. Тестовая, 1, кв. 2", provenance=provenance,
                           document_reference=reference)
    with force_locale("en"), pytest.raises(RuleViolation) as caught:
        validate_contact(contact)
    assert (caught.value.message, caught.value.field) == (PROVENANCE, "document_reference")


# --- the registrar's UI form ---------------------------------------------------------------------

def _contact_form(world, **changes) -> dict:
    data = {"student": str(world.students["Алексеев"].id), "guardian": str(world.guardians["Алексеева"].id),
            "kind": "email", "value": "alekseeva@example.ru",
            "provenance": "written_statement", "document_reference": "Заявление №7 от 01.09.2026", "active": "y"}
    data.update(changes)
    return data


def test_the_registrar_adds_a_contact_with_its_provenance(world, login_as):
    response = login_as("registrar").post("/contactpointview/add", data=_contact_form(world))
    assert response.status_code == 302
    contact = db.session.scalar(select(ContactPoint))
    assert (contact.kind, contact.value, contact.provenance) == (
        ContactKind.email, "alekseeva@example.ru", Provenance.written_statement)
    assert contact.document_reference == "Заявление №7 от 01.09.2026"
    assert contact.guardian_id == world.guardians["Алексеева"].id and contact.school_id == world.school_a.id


def test_the_ui_stores_an_8_phone_as_plus_seven(world, login_as):
    data = _contact_form(world, kind="phone", value="8 (912) 345-67-89", provenance="electronic_document",
                         document_reference="ЕПГУ-2026-000017")
    assert login_as("registrar").post("/contactpointview/add", data=data).status_code == 302
    contact = db.session.scalar(select(ContactPoint))
    assert contact.value == "+79123456789" and contact.provenance == Provenance.electronic_document


@pytest.mark.parametrize(("changes", "msgid", "params"), [
    (dict(value="alekseeva.example.ru"), EMAIL, {"value": "alekseeva.example.ru"}),
    (dict(value="alekseeva@example"), EMAIL, {"value": "alekseeva@example"}),
    (dict(kind="phone", value="8 912 345 67"), PHONE, {}),
    (dict(kind="phone", value="+1 202 555 0100"), PHONE, {}),
    (dict(document_reference="   "), PROVENANCE, {}),
    (dict(document_reference=""), None, {}),
])
def test_the_ui_refuses_a_bad_contact_and_saves_nothing(world, login_as, changes, msgid, params):
    response = login_as("registrar").post("/contactpointview/add", data=_contact_form(world, **changes),
                                          follow_redirects=True)
    assert response.status_code == 200
    if msgid:
        assert _danger(response) == [ru(msgid, **params)]
    else:  # the form itself requires the reference (the service would refuse it too)
        errors = field_errors(response.get_data(as_text=True))
        assert list(errors) == ["document_reference"] and errors["document_reference"]
    assert count(ContactPoint) == 0 and count(AuditEvent) == 0


def test_the_ui_refuses_an_edit_to_a_bad_value_and_keeps_the_old(world, login_as):
    contact = add_contact(world, "Алексеева", ContactKind.phone, "+79123456789")
    client = login_as("registrar")
    response = client.post(f"/contactpointview/edit/{contact.id}", follow_redirects=True, data=_contact_form(
        world, kind="phone", value="12345"))
    assert _danger(response) == [ru(PHONE)]
    db.session.expire_all()
    assert db.session.get(ContactPoint, contact.id).value == "+79123456789"
    assert count(AuditEvent, AuditEvent.entity == "contact_point", AuditEvent.action == "update") == 0
    # A good edit goes through, normalised.
    response = client.post(f"/contactpointview/edit/{contact.id}", data=_contact_form(
        world, kind="phone", value="8-912-000-11-22"))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ContactPoint, contact.id).value == "+79120001122"


# --- the REST API --------------------------------------------------------------------------------

def _contact_body(world, **changes) -> dict:
    body = {"guardian": world.guardians["Алексеева"].id, "kind": "phone", "value": "8 912 345-67-89",
            "provenance": "electronic_document", "document_reference": "ЕПГУ-2026-000017", "active": True}
    body.update(changes)
    return body


def test_the_api_adds_a_contact_and_normalises_the_phone(app, world, api_token):
    client, headers = app.test_client(), bearer(api_token("registrar"))
    response = client.post("/api/v1/contactpoint/", json=_contact_body(world), headers=headers)
    assert response.status_code == 201, response.json
    shown = client.get(f"/api/v1/contactpoint/{response.json['id']}", headers=headers).json["result"]
    assert shown["value"] == "+79123456789" and shown["provenance"] == "electronic_document"
    assert shown["document_reference"] == "ЕПГУ-2026-000017"


@pytest.mark.parametrize(("changes", "msgid", "params"), [
    (dict(kind="email", value="alekseeva at example.ru"), EMAIL, {"value": "alekseeva at example.ru"}),
    (dict(value="+7 (912) 345-67"), PHONE, {}),
    (dict(value="9123456789"), PHONE, {}),
    (dict(document_reference=" "), PROVENANCE, {}),
    (dict(kind="postal", value=""), EMPTY, {}),
])
def test_the_api_refuses_a_bad_contact_with_422(app, world, api_token, changes, msgid, params):
    response = app.test_client().post("/api/v1/contactpoint/", json=_contact_body(world, **changes),
                                      headers=bearer(api_token("registrar")))
    assert response.status_code == 422
    assert response.json["message"] == ru(msgid, **params)
    assert count(ContactPoint) == 0 and count(AuditEvent) == 0


def test_the_api_refuses_an_update_to_a_bad_email_and_keeps_the_old(app, world, api_token):
    contact = add_contact(world, "Алексеева", ContactKind.email, "alekseeva@example.ru")
    response = app.test_client().put(f"/api/v1/contactpoint/{contact.id}", json={"value": "alekseeva@"},
                                     headers=bearer(api_token("registrar")))
    assert response.status_code == 422
    assert response.json["message"] == ru(EMAIL, value="alekseeva@")
    db.session.expire_all()
    assert db.session.get(ContactPoint, contact.id).value == "alekseeva@example.ru"


# --- delivery preferences: the channel and its contact ------------------------------------------

@pytest.fixture
def contacts(world):
    """Алексеева: portal account, e-mail and phone; Васильева: e-mail."""
    return {
        "portal": add_contact(world, "Алексеева", ContactKind.portal, "ЕСИА 1000123456", "ЕПГУ-77",
                              Provenance.electronic_document),
        "email": add_contact(world, "Алексеева", ContactKind.email, "alekseeva@example.ru"),
        "phone": add_contact(world, "Алексеева", ContactKind.phone, "+79123456789"),
        "other_email": add_contact(world, "Васильева", ContactKind.email, "vasilieva@example.ru"),
    }


@pytest.mark.parametrize(("channel", "contact"), [("portal", "portal"), ("email", "email"), ("paper", None)])
def test_a_channel_with_its_contact_is_saved(world, login_as, contacts, channel, contact):
    data = {"student": str(world.students["Алексеев"].id), "channel": channel,
            "contact": str(contacts[contact].id) if contact else ""}
    assert login_as("registrar").post("/deliverypreferenceview/add", data=data).status_code == 302
    saved = db.session.scalar(select(DeliveryPreference))
    assert saved.channel == Channel(channel)
    assert saved.contact_id == (contacts[contact].id if contact else None)


@pytest.mark.parametrize(("channel", "contact", "msgid"), [
    ("email", "phone", KIND_FOR_CHANNEL),
    ("email", "portal", KIND_FOR_CHANNEL),
    ("portal", "email", KIND_FOR_CHANNEL),
    ("portal", None, KIND_FOR_CHANNEL),
    ("email", None, KIND_FOR_CHANNEL),
    ("email", "other_email", NOT_THEIRS),
])
def test_a_channel_without_a_matching_contact_is_refused(world, login_as, contacts, channel, contact, msgid):
    data = {"student": str(world.students["Алексеев"].id), "channel": channel,
            "contact": str(contacts[contact].id) if contact else ""}
    response = login_as("registrar").post("/deliverypreferenceview/add", data=data, follow_redirects=True)
    assert _danger(response) == [ru(msgid)]
    assert count(DeliveryPreference) == 0


def test_the_api_refuses_a_mismatched_delivery_preference(app, world, api_token, contacts):
    client, headers = app.test_client(), bearer(api_token("registrar"))
    body = {"student": world.students["Алексеев"].id, "channel": "portal", "contact": contacts["phone"].id}
    response = client.post("/api/v1/deliverypreference/", json=body, headers=headers)
    assert response.status_code == 422 and response.json["message"] == ru(KIND_FOR_CHANNEL)
    assert count(DeliveryPreference) == 0
    body["contact"] = contacts["portal"].id
    response = client.post("/api/v1/deliverypreference/", json=body, headers=headers)
    assert response.status_code == 201, response.json
    # Switching to e-mail while keeping the portal account is refused; the preference stays.
    pk = response.json["id"]
    response = client.put(f"/api/v1/deliverypreference/{pk}", json={"channel": "email"}, headers=headers)
    assert response.status_code == 422 and response.json["message"] == ru(KIND_FOR_CHANNEL)
    db.session.expire_all()
    saved = db.session.get(DeliveryPreference, pk)
    assert (saved.channel, saved.contact_id) == (Channel.portal, contacts["portal"].id)


def test_one_preference_per_student(world, login_as, contacts):
    client = login_as("registrar")
    data = {"student": str(world.students["Алексеев"].id), "channel": "paper", "contact": ""}
    assert client.post("/deliverypreferenceview/add", data=data).status_code == 302
    response = client.post("/deliverypreferenceview/add", data={**data, "channel": "email",
                                                                 "contact": str(contacts["email"].id)},
                           follow_redirects=True)
    assert response.status_code == 200
    assert len(_danger(response)) == 1
    assert [p.channel for p in db.session.scalars(select(DeliveryPreference))] == [Channel.paper]
