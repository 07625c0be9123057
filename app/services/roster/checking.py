"""Checking roster rows against the school: every bad row with its line number and reason."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AcademicYear,
    ClassUnit,
    Consent,
    ContactKind,
    ContactPoint,
    Decision,
    Guardian,
    Provenance,
    School,
    Student,
    StudentGuardian,
)
from app.services import clock, structure
from app.services.consent import validate_contact
from app.services.errors import RuleViolation
from app.services.roster.columns import (
    BY_KEY,
    CLASS_NAME,
    DAY_ISO,
    DAY_RU,
    DECISION_WORDS,
    DECISIONS,
    GUARDIAN_KEYS,
    LOOKALIKES,
    PARENT_BASIS,
    PARENTS,
    PROVENANCES,
    RELATIONS,
    STUDENT_KEYS,
    Problem,
    Row,
)
from app.services.roster.reading import (
    _norm,
)


def parse_day(value) -> dt.date | None:
    """A date from a cell: a date, ДД.ММ.ГГГГ or ГГГГ-ММ-ДД (a midnight time is ignored); None if bad."""
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip()
    text = re.sub(r"\s+0{1,2}:00(:00)?$", "", text)
    try:
        if m := DAY_RU.match(text):
            return dt.date(int(m[3]), int(m[2]), int(m[1]))
        if m := DAY_ISO.match(text):
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None
    return None


def _max_length(key: str) -> int | None:
    model_column = {
        "file_number": Student.file_number, "surname": Student.surname, "name": Student.name,
        "patronymic": Student.patronymic, "g_surname": Guardian.surname, "g_name": Guardian.name,
        "g_patronymic": Guardian.patronymic, "authority_basis": StudentGuardian.authority_basis,
        "email": ContactPoint.value, "document_reference": ContactPoint.document_reference,
        "statement": Consent.document_number,
    }.get(key)
    return model_column.property.columns[0].type.length if model_column is not None else None


@dataclass
class _Entry:
    """A row, checked and normalised."""

    line: int
    file_number: str
    class_unit: ClassUnit
    surname: str
    name: str
    patronymic: str
    birth_date: dt.date
    enrolled_on: dt.date | None
    guardian: tuple[str, str, str] | None = None
    relation: str = ""
    authority_basis: str = ""
    contacts: list[tuple[ContactKind, str]] = field(default_factory=list)
    provenance: Provenance | None = None
    document_reference: str = ""
    decision: Decision | None = None
    decided_on: dt.date | None = None
    statement: str = ""


class _Checker:
    """Builds the entries of the rows and the problems of the bad ones."""

    def __init__(self, school: School, year: AcademicYear):
        self.school, self.year, self.today = school, year, clock.today()
        self.classes = {(c.grade, c.letter.upper()): c for c in db.session.scalars(
            select(ClassUnit).where(ClassUnit.school_id == school.id, ClassUnit.year_id == year.id))}
        self.students: dict[str, Student] = {}  # by file number
        self.people: dict[tuple, list[Student]] = {}  # by name and birth date
        for s in db.session.scalars(select(Student).where(Student.school_id == school.id)):
            if s.file_number:
                self.students[s.file_number] = s
            self.people.setdefault(self._person(s.surname, s.name, s.patronymic, s.birth_date), []).append(s)
        self.problems: list[Problem] = []
        self.entries: list[_Entry] = []
        self.first_line: dict[str, tuple[int, Row]] = {}
        self.keys: dict[tuple, int] = {}

    @staticmethod
    def _person(surname, name, patronymic, birth_date) -> tuple:
        return _norm(surname or ""), _norm(name or ""), _norm(patronymic or ""), birth_date

    def bad(self, row: Row, reason) -> None:
        self.problems.append(Problem(row.line, str(reason)))

    def run(self, rows: list[Row]) -> None:
        for row in rows:
            before = len(self.problems)
            entry = self._entry(row)
            if entry is not None and len(self.problems) == before:
                self.entries.append(entry)

    def _required(self, row: Row, *keys: str) -> bool:
        ok = True
        for key in keys:
            if not row.text(key):
                self.bad(row, _l("«%(column)s» is required.", column=BY_KEY[key].header))
                ok = False
        return ok

    def _day(self, row: Row, key: str) -> dt.date | None:
        value = row.values.get(key)
        if value in (None, ""):
            return None
        day = parse_day(value)
        if day is None:
            self.bad(row, _l("«%(value)s» in «%(column)s» is not a date: write DD.MM.YYYY or YYYY-MM-DD.",
                             value=row.text(key), column=BY_KEY[key].header))
        return day

    def _class(self, row: Row) -> ClassUnit | None:
        text = row.text("class_name").replace(" ", "")
        match = CLASS_NAME.match(text)
        if not match:
            self.bad(row, _l("«%(value)s» is not a class: write the grade and the letter, e.g. «5А».", value=text))
            return None
        grade, letter = int(match[1]), match[2].upper()
        found = self.classes.get((grade, letter)) or self.classes.get((grade, letter.translate(LOOKALIKES)))
        if found is None:
            self.bad(row, _l("Unknown class «%(name)s» in the academic year %(year)s.", name=f"{grade}{letter}",
                             year=self.year.name))
        return found

    def _entry(self, row: Row) -> _Entry | None:
        for key in BY_KEY:
            limit = _max_length(key)
            if limit and len(row.text(key)) > limit:
                self.bad(row, _l("«%(column)s» is longer than %(max)d characters.", column=BY_KEY[key].header,
                                 max=limit))
        present = self._required(row, "class_name", "file_number", "surname", "name", "birth_date")
        cls = self._class(row) if row.text("class_name") else None
        birth_date, enrolled_on = self._day(row, "birth_date"), self._day(row, "enrolled_on")
        file_number = row.text("file_number")
        self._consistent(row, file_number)
        guardian = self._guardian(row)
        if not present or cls is None or birth_date is None:
            return None
        if enrolled_on is not None and enrolled_on > self.year.end:
            self.bad(row, _l("The enrolment date %(day)s is after the end of the academic year %(year)s.",
                             day=enrolled_on.strftime("%d.%m.%Y"), year=self.year.name))
        entry = _Entry(row.line, file_number, cls, row.text("surname"), row.text("name"), row.text("patronymic"),
                       birth_date, enrolled_on)
        self._student_rules(row, entry)
        if guardian is not None:
            self._fill_guardian(row, entry, guardian)
        return entry

    def _consistent(self, row: Row, file_number: str) -> None:
        """A student's lines agree; a student and representative pair appears once."""
        if not file_number:
            return
        first = self.first_line.setdefault(file_number, (row.line, row))
        if first[0] != row.line:
            for key in STUDENT_KEYS:
                mine, theirs = row.values.get(key, ""), first[1].values.get(key, "")
                if key.endswith(("_date", "_on")):
                    mine, theirs = parse_day(mine) or mine, parse_day(theirs) or theirs
                elif isinstance(mine, str) and isinstance(theirs, str):
                    mine, theirs = _norm(mine), _norm(theirs)
                if mine != theirs:
                    self.bad(row, _l("Student %(key)s: «%(column)s» differs from line %(line)d.", key=file_number,
                                     column=BY_KEY[key].header, line=first[0]))
        key = (file_number, _norm(row.text("g_surname")), _norm(row.text("g_name")),
               _norm(row.text("g_patronymic")))
        earlier = self.keys.setdefault(key, row.line)
        if earlier != row.line:
            self.bad(row, _l("Duplicate of line %(line)d: the same personal file number %(key)s and the same "
                             "legal representative.", line=earlier, key=file_number))

    def _student_rules(self, row: Row, entry: _Entry) -> None:
        existing = self.students.get(entry.file_number)
        if existing is None:
            twins = self.people.get(self._person(entry.surname, entry.name, entry.patronymic, entry.birth_date), [])
            if twins:
                other = twins[0]
                self.bad(row, _l("%(student)s, born %(day)s, is already in the school with the personal file "
                                 "number «%(key)s»: correct the number in the file or on the student's card.",
                                 student=other.full_name, day=other.birth_date.strftime("%d.%m.%Y"),
                                 key=other.file_number or "—"))
        elif existing.left_on is not None:
            self.bad(row, _l("%(student)s left the school on %(day)s: re-admit the student on the student's card "
                             "first.", student=existing.full_name, day=existing.left_on.strftime("%d.%m.%Y")))
        enrolled_on = entry.enrolled_on or (existing.enrolled_on if existing else self.year.start)
        probe = Student(school_id=self.school.id, file_number=entry.file_number, surname=entry.surname,
                        name=entry.name, patronymic=entry.patronymic, birth_date=entry.birth_date,
                        enrolled_on=enrolled_on)
        if existing is not None:
            probe.id = existing.id
        try:
            structure.validate(probe)
        except RuleViolation as err:
            self.bad(row, err.message)

    def _guardian(self, row: Row) -> tuple[str, str, str] | None:
        used = [k for k in GUARDIAN_KEYS if row.text(k)]
        if not used:
            return None
        if not (row.text("g_surname") and row.text("g_name")):
            self.bad(row, _l("Fill in the legal representative's surname and name (columns «%(surname)s» and "
                             "«%(name)s»).", surname=BY_KEY["g_surname"].header, name=BY_KEY["g_name"].header))
            return None
        return row.text("g_surname"), row.text("g_name"), row.text("g_patronymic")

    def _fill_guardian(self, row: Row, entry: _Entry, guardian: tuple[str, str, str]) -> None:
        entry.guardian = guardian
        relation = _norm(row.text("relation"))
        canonical = {_norm(r): r for r in RELATIONS}
        if not relation:
            self.bad(row, _l("«%(column)s» is required.", column=BY_KEY["relation"].header))
        elif relation not in canonical:
            self.bad(row, _l("Unknown value «%(value)s» in «%(column)s»: one of %(allowed)s.",
                             value=row.text("relation"), column=BY_KEY["relation"].header,
                             allowed=", ".join(RELATIONS)))
        else:
            entry.relation = canonical[relation]
            entry.authority_basis = row.text("authority_basis")
            if not entry.authority_basis and entry.relation in PARENTS:
                entry.authority_basis = PARENT_BASIS
            if not entry.authority_basis:
                self.bad(row, _l("«%(column)s» is required for %(relation)s: the act of the guardianship "
                                 "authority, the court decision or the contract.",
                                 column=BY_KEY["authority_basis"].header, relation=entry.relation))
        self._contacts(row, entry)
        self._decision(row, entry)

    def _contacts(self, row: Row, entry: _Entry) -> None:
        source = _norm(row.text("provenance"))
        if source:
            entry.provenance = PROVENANCES.get(source)
            if entry.provenance is None:
                self.bad(row, _l("Unknown source «%(value)s» in «%(column)s»: «заявление» or «электронный "
                                 "документ».", value=row.text("provenance"), column=BY_KEY["provenance"].header))
        entry.document_reference = row.text("document_reference")
        for key, kind in (("phone", ContactKind.phone), ("email", ContactKind.email)):
            value = row.text(key)
            if not value:
                continue
            if kind == ContactKind.phone and re.fullmatch(r"7\d{10}", value):
                value = "+" + value  # a phone typed as a number in Excel loses its «+»
            # Provenance and reference are checked once per row below; here the value's format.
            probe = ContactPoint(kind=kind, value=value, provenance=Provenance.written_statement,
                                 document_reference="-")
            try:
                validate_contact(probe)
            except RuleViolation as err:
                reason = err.message[:1].lower() + err.message[1:]
                self.bad(row, _l("Column «%(column)s»: %(reason)s", column=BY_KEY[key].header, reason=reason))
                continue
            entry.contacts.append((kind, probe.value))
        if row.text("phone") or row.text("email"):
            for key in ("provenance", "document_reference"):
                if not row.text(key):
                    self.bad(row, _l("«%(column)s» is required when a phone or an e-mail is given.",
                                     column=BY_KEY[key].header))

    def _decision(self, row: Row, entry: _Entry) -> None:
        text = _norm(row.text("decision"))
        if not text:
            if row.text("decided_on") or row.text("statement"):
                self.bad(row, _l("«%(column)s» is empty, but its date or statement number is given.",
                                 column=BY_KEY["decision"].header))
            return
        entry.decision = DECISIONS.get(text)
        if entry.decision is None:
            self.bad(row, _l("Unknown decision «%(value)s»: «согласие», «отказ» or an empty cell (a withdrawal "
                             "is recorded in the consent registry).", value=row.text("decision")))
        entry.decided_on = self._day(row, "decided_on")
        if not row.text("decided_on"):
            self.bad(row, _l("«%(column)s» is required.", column=BY_KEY["decided_on"].header))
        elif entry.decided_on is not None and entry.decided_on > self.today:
            self.bad(row, _l("The decision date %(day)s is in the future.",
                             day=entry.decided_on.strftime("%d.%m.%Y")))
        entry.statement = row.text("statement")
        if not entry.statement:
            self.bad(row, _l("«%(column)s» is required with a decision: the statement number or the e-document "
                             "identifier.", column=BY_KEY["statement"].header))
        existing = self.students.get(entry.file_number)
        if existing is None or entry.decision is None or entry.decided_on is None:
            return
        guardian = _linked_guardian(existing, entry.guardian)
        latest = _latest_decision(existing, guardian) if guardian else None
        if latest is not None and latest.decision != entry.decision and latest.decided_on > entry.decided_on:
            self.bad(row, _l("A later decision of this legal representative (%(decision)s, %(day)s) is already "
                             "recorded: record newer decisions in the consent registry.",
                             decision=DECISION_WORDS[latest.decision], day=latest.decided_on.strftime("%d.%m.%Y")))


def _linked_guardian(student: Student, fio: tuple[str, str, str]) -> Guardian | None:
    """The student's representative with this surname, name and patronymic."""
    wanted = tuple(_norm(p) for p in fio)
    for guardian in db.session.scalars(select(Guardian).join(StudentGuardian).where(
            StudentGuardian.student_id == student.id).order_by(Guardian.id)):
        if (_norm(guardian.surname), _norm(guardian.name), _norm(guardian.patronymic or "")) == wanted:
            return guardian
    return None


def _latest_decision(student: Student, guardian: Guardian) -> Consent | None:
    return db.session.scalar(select(Consent).where(Consent.student_id == student.id,
                                                   Consent.guardian_id == guardian.id)
                             .order_by(Consent.decided_on.desc(), Consent.id.desc()).limit(1))


def _prepare(rows: list[Row], school: School, year: AcademicYear) -> tuple[list[_Entry], list[Problem]]:
    checker = _Checker(school, year)
    with db.session.no_autoflush:
        checker.run(rows)
    return checker.entries, sorted(checker.problems, key=lambda p: p.line)


def check(rows: list[Row], school: School, year: AcademicYear) -> list[Problem]:
    """Every problem of every bad row, as (line, reason), in line order; empty if the file is good."""
    return _prepare(rows, school, year)[1]
