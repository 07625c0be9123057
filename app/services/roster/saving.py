"""Saving checked roster rows in one transaction, or nothing at all; the dry run."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.models import (
    AcademicYear,
    Consent,
    ContactKind,
    ContactPoint,
    DocumentKind,
    Guardian,
    Provenance,
    School,
    Student,
    StudentGuardian,
)
from app.services import clock, structure
from app.services.audit import acting_as
from app.services.consent import record_decision
from app.services.errors import RuleViolation
from app.services.roster.checking import (
    _Entry,
    _latest_decision,
    _linked_guardian,
    _prepare,
)
from app.services.roster.columns import (
    COUNT_KEYS,
    ImportResult,
    Problem,
    RosterRejected,
    Row,
)
from app.services.roster.reading import (
    _norm,
)
from app.services.students import sync_enrolment


def _set(obj, **values) -> bool:
    """Assign only the values that differ; whether anything changed."""
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


class _Writer:
    """Saves the entries. Every row passes the school's rules (structure.validate, the consent
    service); lookups of rows created by this import are answered from memory, not the database."""

    def __init__(self, school: School, year: AcademicYear, actor: str):
        self.school, self.year, self.actor = school, year, actor
        self.today = clock.today()
        self.counts = dict.fromkeys(COUNT_KEYS, 0)
        self.students = {s.file_number: s for s in db.session.scalars(
            select(Student).where(Student.school_id == school.id, Student.file_number.is_not(None)))}
        self.contacts = {(c.guardian_id, c.kind, c.value): c for c in db.session.scalars(
            select(ContactPoint).where(ContactPoint.school_id == school.id))}
        self.holders: dict[tuple[ContactKind, str], list[int]] = {}  # contact → guardian ids
        for guardian_id, kind, value in self.contacts:
            self.holders.setdefault((kind, value), []).append(guardian_id)
        self.new_students: set[int] = set()  # ids of students created by this import
        self.new_guardians: set[int] = set()
        self.seen_students: set[int] = set()
        self.seen_contacts: set[int] = set()  # a contact on several lines (siblings) is set by the first

    def _valid(self, item) -> None:
        """The school's rules, as guard.check_write applies them for a whole-school scope: the row is
        of the import's school, its links of the same school (structure checks both)."""
        item.school = self.school
        structure.validate(item)

    def save(self, entry: _Entry) -> None:
        student = self._student(entry)
        if entry.guardian is None:
            return
        guardian = self._guardian(student, entry)
        self._link(student, guardian, entry)
        for kind, value in entry.contacts:
            self._contact(guardian, kind, value, entry)
        if entry.decision is not None:
            self._consent(student, guardian, entry)

    def _student(self, entry: _Entry) -> Student:
        student = self.students.get(entry.file_number)
        if student is not None and student.id in self.seen_students:
            return student
        if student is None:
            student = Student(file_number=entry.file_number, surname=entry.surname, name=entry.name,
                              patronymic=entry.patronymic, birth_date=entry.birth_date,
                              enrolled_on=entry.enrolled_on or self.year.start, class_unit=entry.class_unit)
            self._valid(student)
            db.session.add(student)
            db.session.flush()
            self.students[entry.file_number] = student
            self.new_students.add(student.id)
            self.counts["students_created"] += 1
        else:
            changed = _set(student, surname=entry.surname, name=entry.name, patronymic=entry.patronymic,
                           birth_date=entry.birth_date)
            if entry.enrolled_on is not None:
                changed = _set(student, enrolled_on=entry.enrolled_on) or changed
            if student.class_unit_id != entry.class_unit.id:
                student.class_unit = entry.class_unit
                self.counts["students_moved"] += 1
            elif changed:
                self.counts["students_updated"] += 1
            if changed or student in db.session.dirty:
                self._valid(student)
                db.session.flush()
        sync_enrolment(student, self.today)
        self.seen_students.add(student.id)
        return student

    def _guardian(self, student: Student, entry: _Entry) -> Guardian:
        guardian = None if student.id in self.new_students else _linked_guardian(student, entry.guardian)
        if guardian is None and entry.contacts:
            guardian = self._same_person(entry)
        if guardian is None:
            surname, name, patronymic = entry.guardian
            guardian = Guardian(surname=surname, name=name, patronymic=patronymic)
            self._valid(guardian)
            db.session.add(guardian)
            db.session.flush()
            self.new_guardians.add(guardian.id)
            self.counts["guardians_created"] += 1
        return guardian

    def _same_person(self, entry: _Entry) -> Guardian | None:
        """A sibling's representative: the same name and one of the same contacts."""
        wanted = tuple(_norm(p) for p in entry.guardian)
        for kind, value in entry.contacts:
            for guardian_id in self.holders.get((kind, value), []):
                guardian = db.session.get(Guardian, guardian_id)
                if (_norm(guardian.surname), _norm(guardian.name), _norm(guardian.patronymic or "")) == wanted:
                    return guardian
        return None

    def _link(self, student: Student, guardian: Guardian, entry: _Entry) -> None:
        link = None
        if student.id not in self.new_students and guardian.id not in self.new_guardians:
            link = db.session.scalar(select(StudentGuardian).where(StudentGuardian.student_id == student.id,
                                                                   StudentGuardian.guardian_id == guardian.id))
        if link is None:
            link = StudentGuardian(student=student, guardian=guardian, relation=entry.relation,
                                   authority_basis=entry.authority_basis)
            self._valid(link)
            db.session.add(link)
            self.counts["links_created"] += 1
        elif _set(link, relation=entry.relation, authority_basis=entry.authority_basis):
            self._valid(link)
            self.counts["links_updated"] += 1

    def _contact(self, guardian: Guardian, kind: ContactKind, value: str, entry: _Entry) -> None:
        key = (guardian.id, kind, value)
        contact = self.contacts.get(key)
        if contact is not None and id(contact) in self.seen_contacts:
            return
        if contact is None:
            contact = ContactPoint(guardian=guardian, kind=kind, value=value, provenance=entry.provenance,
                                   document_reference=entry.document_reference, active=True)
            self._valid(contact)
            db.session.add(contact)
            self.contacts[key] = contact
            self.holders.setdefault((kind, value), []).append(guardian.id)
            self.counts["contacts_created"] += 1
        elif _set(contact, provenance=entry.provenance, document_reference=entry.document_reference):
            self._valid(contact)
            self.counts["contacts_updated"] += 1
        self.seen_contacts.add(id(contact))

    def _consent(self, student: Student, guardian: Guardian, entry: _Entry) -> None:
        if student.id not in self.new_students and guardian.id not in self.new_guardians:
            latest = _latest_decision(student, guardian)
            if latest is not None and latest.decision == entry.decision:
                return
        electronic = entry.provenance == Provenance.electronic_document
        consent = Consent(
            school=self.school, student=student, guardian=guardian, decision=entry.decision,
            decided_on=entry.decided_on, authority_basis=entry.authority_basis,
            document_kind=DocumentKind.electronic if electronic else DocumentKind.paper,
            document_number="" if electronic else entry.statement,
            document_date=None if electronic else entry.decided_on,
            electronic_document_id=entry.statement if electronic else "",
        )
        record_decision(consent, self.actor)
        self.counts["consents_created"] += 1


def apply(rows: list[Row], school: School, year: AcademicYear, actor: str, actor_id: int | None = None,
          dry_run: bool = False) -> dict[str, int]:
    """Save the rows in one transaction and return the counts; with dry_run, roll back after counting.

    Raises RosterRejected (after rolling back) if any row is bad: nothing is saved then. The session's
    pending changes are part of the transaction, so call this with a clean session.
    """
    entries, problems = _prepare(rows, school, year)
    if problems:
        raise RosterRejected(problems)
    line = 0
    try:
        with acting_as(actor, actor_id):
            writer = _Writer(school, year, actor)
            for entry in entries:
                line = entry.line
                writer.save(entry)
            line = 0
            db.session.flush()
    except RuleViolation as err:
        db.session.rollback()
        raise RosterRejected([Problem(line, err.message)]) from err
    except SQLAlchemyError as err:
        db.session.rollback()
        raise RosterRejected([Problem(line, str(_l("The database refused the row: %(error)s",
                                                   error=str(getattr(err, "orig", err)).splitlines()[0])))]) from err
    except BaseException:
        db.session.rollback()
        raise
    counts = {**writer.counts, "rows": len(rows)}
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    return counts


def run_import(rows: list[Row], school: School, year: AcademicYear, actor: str, actor_id: int | None = None,
               dry_run: bool = False) -> ImportResult:
    """Check, then save all or nothing (or, with dry_run, only count); the bad rows or the counts."""
    try:
        return ImportResult(counts=apply(rows, school, year, actor, actor_id, dry_run), dry_run=dry_run)
    except RosterRejected as rejected:
        return ImportResult(problems=rejected.problems, dry_run=dry_run)
