"""The consent registry (SPEC §5): decisions are appended, the latest one decides, and one rule gives a
family's effective channel (`channels`), from which the gate answers whether a student's data may leave
the school electronically."""
import datetime as dt
import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, bindparam, event, func, or_, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import (
    Channel,
    ClassUnit,
    Consent,
    ContactKind,
    ContactPoint,
    Decision,
    DeliveryPreference,
    DocumentKind,
    Enrolment,
    Guardian,
    Student,
    StudentGuardian,
)
from app.services import clock
from app.services.errors import RuleViolation
from app.services.id_lists import among, listed, per_database
from app.services.membership import enrolled_between

# The defaults of the guided form: the 152-ФЗ ст.9 ч.4 content of the school's standard statement.
STANDARD_TEXT = {
    "purpose": "Ведение электронного журнала и электронного дневника, информирование родителей (законных "
               "представителей) о ходе и результатах обучения через ЕПГУ/РПГУ и по согласованным контактам",
    "data_list": "Фамилия, имя, отчество, дата рождения, класс, отметки, посещаемость, итоговые оценки, "
                 "результаты экзаменов, домашние задания, рекомендации педагогов; контактные данные "
                 "законного представителя",
    "actions": "Сбор, запись, систематизация, накопление, хранение, уточнение, использование, передача "
               "(предоставление, доступ) оператору ЕПГУ/РПГУ, обезличивание, блокирование, удаление, уничтожение",
    "term": "До окончания обучения в образовательной организации или до отзыва согласия",
    "withdrawal_procedure": "Письменное заявление на имя директора или электронный документ через ЕПГУ; "
                            "обработка прекращается в течение 10 рабочих дней",
}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+7\d{10}$")


@dataclass(frozen=True)
class ConsentStatus:
    """A student's standing: consented (electronic delivery) or a paper recipient, and why."""

    student_id: int
    decision: Decision | None
    decided_on: dt.date | None

    @property
    def electronic(self) -> bool:
        """Data may leave the school electronically."""
        return self.decision == Decision.consent


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, _context, _instances) -> None:
    """No path (view, API, service, shell) may edit or delete a consent record."""
    for obj in list(session.dirty) + list(session.deleted):
        if getattr(type(obj), "__append_only__", False) and (obj in session.deleted or session.is_modified(obj)):
            raise RuleViolation(_l("Consent records are never changed or deleted: record a new decision."))


def fill_standard_text(consent: Consent) -> Consent:
    """Blank 152-ФЗ fields take the school's standard wording; the operator is the school."""
    for field, text in STANDARD_TEXT.items():
        if not (getattr(consent, field) or "").strip():
            setattr(consent, field, text)
    if not (consent.operator or "").strip() and consent.school is not None:
        consent.operator = f"{consent.school.full_name}, {consent.school.address}"
    return consent


def validate_consent(consent: Consent, today: dt.date | None = None) -> None:
    """The rules of a decision record; raises RuleViolation with a clear message."""
    today = today or clock.today()
    if consent.student is None or consent.guardian is None:
        raise RuleViolation(_l("Choose the student and the legal representative."), "student")
    link = db.session.scalar(select(StudentGuardian).where(
        StudentGuardian.student_id == consent.student.id, StudentGuardian.guardian_id == consent.guardian.id))
    if link is None:
        raise RuleViolation(_l("%(guardian)s is not a legal representative of %(student)s.",
                               guardian=consent.guardian, student=consent.student), "guardian")
    if not (consent.authority_basis or "").strip():
        consent.authority_basis = link.authority_basis or link.relation
    if consent.decision is None:
        raise RuleViolation(_l("Choose the decision."), "decision")
    if consent.decided_on is None or consent.decided_on > today:
        raise RuleViolation(_l("The date of the decision is required and cannot be in the future."), "decided_on")
    if consent.document_kind == DocumentKind.paper:
        if not (consent.document_number or "").strip() or consent.document_date is None:
            raise RuleViolation(_l("A paper statement needs its number and date."), "document_number")
        if consent.document_date > today:
            raise RuleViolation(_l("The statement date cannot be in the future."), "document_date")
    elif consent.document_kind == DocumentKind.electronic:
        if not (consent.electronic_document_id or "").strip():
            raise RuleViolation(_l("An electronic document needs its identifier."), "electronic_document_id")
    else:
        raise RuleViolation(_l("Choose the kind of document."), "document_kind")
    refuse_duplicate_decision(consent)
    # A consent to withdraw must stand on the withdrawal's own date (a withdrawal dated before the consent
    # would be recorded and yet leave the consent in force).
    if consent.decision == Decision.withdrawal and \
            status_of(consent.student.id, consent.decided_on).decision != Decision.consent:
        raise RuleViolation(_l("There is no current consent to withdraw."), "decision")
    for field in ("operator", *STANDARD_TEXT):
        if not (getattr(consent, field) or "").strip():
            raise RuleViolation(_l("Fill in every field of the statement."), field)


def record_decision(consent: Consent, recorded_by: str) -> Consent:
    """Append a decision (the standard text fills blanks); callers commit."""
    fill_standard_text(consent)
    validate_consent(consent)
    consent.recorded_by = recorded_by
    db.session.add(consent)
    db.session.flush()
    return consent


def _latest():
    """Subquery: the id of each listed student's latest decision made on or before `at`. Only their decisions
    are ranked (`ranked`): ranking every school's first made each save grow with the district (issue 19)."""
    ranked = select(Consent.id, Consent.student_id, func.row_number().over(
        partition_by=Consent.student_id, order_by=(Consent.decided_on.desc(), Consent.id.desc())).label("n")
    ).where(Consent.decided_on <= bindparam("at", type_=Date), among(Consent.student_id, name="ranked")).subquery()
    return select(ranked.c.id).where(ranked.c.n == 1)


def _at(at: dt.date | None, student_ids) -> dict:
    """The values of the statements below: the date and the students."""
    ids = listed(student_ids)
    return {"at": at or clock.today(), "ranked": ids, "ids": ids}


@per_database
def _standing(_database: str):
    """Each listed student's latest decision with their one delivery preference (values from _at())."""
    return select(Consent.student_id, Consent.decision, Consent.decided_on, DeliveryPreference.channel).outerjoin(
        DeliveryPreference, DeliveryPreference.student_id == Consent.student_id).where(
        Consent.id.in_(_latest()), among(Consent.student_id))


def statuses(student_ids: list[int], at: dt.date | None = None) -> dict[int, ConsentStatus]:
    """The standing of many students at a date, in one query."""
    return _standing_and_choice(student_ids, at)[0] if student_ids else {}


def status_of(student_id: int, at: dt.date | None = None) -> ConsentStatus:
    """The standing of one student at a date (default: today)."""
    return statuses([student_id], at)[student_id]


def channels(student_ids: list[int], at: dt.date | None = None, standing: dict[int, ConsentStatus] | None = None,
             chosen: dict[int, Channel] | None = None) -> dict[int, Channel]:
    """The one rule of a family's effective channel: its delivery preference where the current consent
    allows electronic delivery (a consent with no preference: the portal), else paper. The exchange, the
    notifications, the paper recipients and the extracts all follow it, so no family falls between them.
    A caller that already read the students' `standing` (statuses at `at`) or `chosen` channels (their
    delivery preferences) passes them instead of having them read again."""
    if standing is None and chosen is None and student_ids:  # both in one statement (every save asks)
        standing, chosen = _standing_and_choice(student_ids, at)
    if standing is None:
        standing = statuses(student_ids, at)
    if chosen is None:  # only a family that may receive electronically has a choice to read
        consented = [sid for sid in student_ids if standing[sid].electronic]
        chosen = dict(db.session.execute(select(DeliveryPreference.student_id, DeliveryPreference.channel).where(
            among(DeliveryPreference.student_id, consented))).all()) if consented else {}
    return {sid: (chosen.get(sid) or Channel.portal) if standing[sid].electronic else Channel.paper
            for sid in student_ids}


def _standing_and_choice(student_ids: list[int], at: dt.date | None) -> tuple[dict, dict]:
    """statuses() and the delivery preferences, read together."""
    rows = db.session.execute(_standing(), _at(at, student_ids)).all()
    found = {sid: ConsentStatus(sid, decision, day) for sid, decision, day, _ in rows}
    standing = {sid: found.get(sid, ConsentStatus(sid, None, None)) for sid in student_ids}
    return standing, {sid: channel for sid, _, _, channel in rows if channel is not None}


def may_send_electronically(student_id: int, at: dt.date | None = None) -> bool:
    """The one gate every sender asks: does the family receive electronically (consent, and not paper)?"""
    return student_id in electronic_recipients([student_id], at)


def electronic_recipients(student_ids: list[int], at: dt.date | None = None,
                          standing: dict[int, ConsentStatus] | None = None) -> set[int]:
    """The same gate for many students at once (batch senders): those whose data may leave, by their channel."""
    return {sid for sid, channel in channels(student_ids, at, standing).items() if channel != Channel.paper}


Spell = tuple[dt.date, dt.date | None]


def consent_spells(student_ids: list[int], at: dt.date | None = None) -> dict[int, list[Spell]]:
    """Each student's spells of consent up to `at`, oldest first: (first day, day it ended or None while it
    lasts). A later consent inside a spell does not restart it; a refusal or withdrawal ends it."""
    at = at or clock.today()
    spells: dict[int, list] = {sid: [] for sid in student_ids}
    if student_ids:
        for sid, decision, day in db.session.execute(select(Consent.student_id, Consent.decision, Consent.decided_on)
                                                     .where(Consent.student_id.in_(student_ids),
                                                            Consent.decided_on <= at)
                                                     .order_by(Consent.decided_on, Consent.id)):
            runs = spells[sid]
            open_now = bool(runs) and runs[-1][1] is None
            if decision == Decision.consent and not open_now:
                runs.append((day, None))
            elif decision != Decision.consent and open_now:
                runs[-1] = (runs[-1][0], day)
    return spells


def class_statuses(class_id: int, at: dt.date | None = None) -> list[tuple[Student, ConsentStatus]]:
    """Students enrolled in the class on the date, with their standing."""
    at = at or clock.today()
    students = db.session.scalars(select(Student).join(Enrolment, Enrolment.student_id == Student.id).where(
        Enrolment.class_unit_id == class_id, enrolled_between(at, at)).order_by(Student.surname, Student.name)).all()
    found = statuses([s.id for s in students], at)
    return [(s, found[s.id]) for s in students]


def paper_recipients(school_id: int, at: dt.date | None = None, class_id: int | None = None) -> list[Student]:
    """Current students of the school (or class) whose families get paper extracts (their channel is paper)."""
    query = select(Student).join(ClassUnit, ClassUnit.id == Student.class_unit_id).where(
        Student.school_id == school_id, Student.left_on.is_(None))
    if class_id:
        query = query.where(Student.class_unit_id == class_id)
    students = db.session.scalars(query.order_by(ClassUnit.grade, ClassUnit.letter, Student.surname)).all()
    found = channels([s.id for s in students], at)
    return [s for s in students if found[s.id] == Channel.paper]


def validate_contact(contact: ContactPoint) -> None:
    """E-mail and +7 phone formats, and the provenance document of every contact."""
    value = (contact.value or "").strip()
    if contact.kind == ContactKind.phone:
        value = re.sub(r"[\s()-]", "", value)
        if value.startswith("8") and len(value) == 11:
            value = "+7" + value[1:]
        if not PHONE.match(value):
            raise RuleViolation(_l("Write the phone as +7XXXXXXXXXX."), "value")
    elif contact.kind == ContactKind.email and not EMAIL.match(value):
        raise RuleViolation(_l("«%(value)s» is not an e-mail address.", value=value), "value")
    elif not value:
        raise RuleViolation(_l("The contact is empty."), "value")
    contact.value = value
    refuse_duplicate_contact(contact)
    if contact.provenance is None or not (contact.document_reference or "").strip():
        raise RuleViolation(_l("Say how the family gave the contact: the statement or e-document reference."),
                            "document_reference")


def refuse_duplicate_decision(consent: Consent) -> None:
    """One statement (the same decision, day and document of the same representative) is recorded once;
    the message names the record already there, so the registrar can open it instead of guessing."""
    document = (Consent.document_number == (consent.document_number or "").strip()) \
        if consent.document_kind == DocumentKind.paper else \
        (Consent.electronic_document_id == (consent.electronic_document_id or "").strip())
    same = db.session.scalar(select(Consent).where(
        Consent.student_id == consent.student.id, Consent.guardian_id == consent.guardian.id,
        Consent.decision == consent.decision, Consent.decided_on == consent.decided_on,
        Consent.document_kind == consent.document_kind, document, Consent.id != (consent.id or 0)).limit(1))
    if same is not None:
        raise RuleViolation(_l("This decision is already recorded: No. %(id)d of %(day)s, %(guardian)s, recorded by "
                               "%(who)s.", id=same.id, day=f"{same.decided_on:%d.%m.%Y}", guardian=same.guardian,
                               who=same.recorded_by), "decision")


def refuse_duplicate_contact(contact: ContactPoint) -> None:
    """A representative's contact is recorded once; the message names the record already there."""
    guardian_id = contact.guardian.id if contact.guardian is not None else contact.guardian_id
    same = db.session.scalar(select(ContactPoint).where(
        ContactPoint.guardian_id == guardian_id, ContactPoint.kind == contact.kind,
        ContactPoint.value == contact.value, ContactPoint.id != (contact.id or 0)).limit(1)) \
        if guardian_id is not None and contact.kind is not None else None
    if same is not None:
        raise RuleViolation(_l("This contact is already recorded: No. %(id)d, %(guardian)s, %(value)s (%(reference)s).",
                               id=same.id, guardian=same.guardian, value=same.value,
                               reference=same.document_reference), "value")


SEARCH_LIMIT = 20


def search_students(text: str, school_id: int | None, visible=None) -> list[Student]:
    """Current students whose surname starts with the text (as typed, or capitalised: SQLite lowers only
    Latin letters), sorted by surname and name; `visible` narrows them to the user's scope."""
    text = (text or "").strip()
    if not text:
        return []
    starts = {text, text.capitalize(), text.lower()}
    query = select(Student).where(Student.left_on.is_(None), or_(*(Student.surname.startswith(
        t, autoescape=True) for t in sorted(starts))))
    if school_id is not None:
        query = query.where(Student.school_id == school_id)
    if visible is not None:
        query = query.where(visible)
    return db.session.scalars(query.order_by(Student.surname, Student.name, Student.patronymic, Student.id)
                              .limit(SEARCH_LIMIT)).all()


def representatives(student_id: int) -> list[StudentGuardian]:
    """The student's legal representatives (the links, with relation), by surname."""
    return db.session.scalars(select(StudentGuardian).join(Guardian, Guardian.id == StudentGuardian.guardian_id)
                              .where(StudentGuardian.student_id == student_id)
                              .order_by(Guardian.surname, Guardian.name)).all()


def history(student_id: int) -> list[Consent]:
    """Every decision about the student, the newest first (the first one decides today)."""
    return db.session.scalars(select(Consent).where(Consent.student_id == student_id)
                              .order_by(Consent.decided_on.desc(), Consent.id.desc())).all()


def paper_reasons(student_ids: list[int], at: dt.date | None = None) -> dict[int, str]:
    """Why each family gets paper: no decision, a refusal or withdrawal (with its date), or paper chosen."""
    reasons = {}
    for sid, standing in statuses(student_ids, at).items():
        day = f"{standing.decided_on:%d.%m.%Y}" if standing.decided_on else ""
        reasons[sid] = {None: _l("no decision recorded"),
                        Decision.refusal: _l("refused on %(day)s", day=day),
                        Decision.withdrawal: _l("withdrew the consent on %(day)s", day=day),
                        Decision.consent: _l("chose paper delivery")}[standing.decision]
    return reasons
