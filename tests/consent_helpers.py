"""Shared pieces of the consent, contact, audit and auditor tests: a frozen school day, decision
records for the world's families, and readers of what was committed.

The world: 5А has Алексеев (representative Алексеева) and Борисов (nobody), 5Б has Васильев
(representative Васильева); school B has Гаврилов in its 5А.
"""
import csv
import datetime as dt
import io

from flask import current_app
from flask_appbuilder.security.sqla.models import User
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AuditEvent,
    Consent,
    ContactKind,
    ContactPoint,
    Decision,
    DocumentKind,
    Guardian,
    Provenance,
    StudentGuardian,
)
from app.services.audit import acting_as
from app.services.consent import record_decision
from tests.factories import TODAY  # noqa: F401 - the school day, imported from here by the consent tests
from tests.journal_helpers import count  # noqa: F401 - the one row counter, imported from here too

# Dates of decisions in these tests (the school day is TODAY, frozen by `frozen_today`).
SEPT_10, OCT_1, NOV_2 = dt.date(2026, 9, 10), dt.date(2026, 10, 1), dt.date(2026, 11, 2)
SCHOOL_A_OPERATOR = "МБОУ «Школа А», ул. Тестовая, 1"


def decision(world, what: Decision = Decision.consent, kid: str = "Алексеев", guardian: str = "Алексеева",
             on: dt.date = SEPT_10, kind: DocumentKind = DocumentKind.paper, number: str = "12-ПД",
             doc_date: dt.date | None = None, edoc: str = "", **fields) -> Consent:
    """An unsaved decision of a representative of the world (paper statement by default)."""
    student = world.students[kid]
    return Consent(school=student.school, student=student, guardian=world.guardians[guardian], decision=what,
                   decided_on=on, document_kind=kind, document_number=number,
                   document_date=doc_date if doc_date is not None else (on if kind == DocumentKind.paper else None),
                   electronic_document_id=edoc, **fields)


def record(world, *args, by: str = "registrar", **kwargs) -> Consent:
    """Record and commit a decision as `by` (the audit trail names that login)."""
    user = db.session.scalar(select(User).where(User.username == by))
    with acting_as(by, user.id if user else None):
        consent = record_decision(decision(world, *args, **kwargs), by)
        db.session.commit()
    return consent


def add_guardian(world, kid: str, surname: str, relation: str = "отец") -> Guardian:
    """A new legal representative of a student of the world (kept in world.guardians)."""
    student = world.students[kid]
    guardian = Guardian(school=student.school, surname=surname, name="Пётр", patronymic="Петрович")
    db.session.add(guardian)
    db.session.add(StudentGuardian(school=student.school, student=student, guardian=guardian, relation=relation))
    db.session.commit()
    world.guardians[surname] = guardian
    return guardian


def add_contact(world, guardian: str, kind: ContactKind, value: str, reference: str = "Заявление №7 от 01.09.2026",
                provenance: Provenance = Provenance.written_statement) -> ContactPoint:
    """A valid contact of a representative, committed (no validation: the tests of rules post their own)."""
    g = world.guardians[guardian]
    contact = ContactPoint(school_id=g.school_id, guardian=g, kind=kind, value=value, provenance=provenance,
                           document_reference=reference)
    db.session.add(contact)
    db.session.commit()
    return contact


def committed_row(model, pk: int) -> dict | None:
    """One committed row read on a separate connection (what other users see)."""
    with db.engine.connect() as conn:
        row = conn.execute(select(model.__table__).where(model.__table__.c.id == pk)).mappings().first()
    return dict(row) if row else None


def events(entity: str | None = None) -> list[AuditEvent]:
    """Committed audit events, oldest first."""
    db.session.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.id)
    if entity:
        query = query.where(AuditEvent.entity == entity)
    return db.session.scalars(query).all()


def ru(msgid: str, **params) -> str:
    """A message as the UI and the API render it (the app's default locale, Russian)."""
    with current_app.test_request_context():
        return str(_l(msgid, **params))


def parse_csv(body: bytes) -> list[dict[str, str]]:
    """Rows of one of the app's CSV exports (UTF-8 with BOM, `;`-separated), by header."""
    text = body.decode("utf-8")
    assert text.startswith("\ufeff"), "the export starts with a BOM for Excel"
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))
