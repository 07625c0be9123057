"""Roster import (SPEC §8 `school import`): students, legal representatives, their contacts and,
optionally, consent decisions from a CSV or XLSX file.

`parse(file)` reads the rows, `check(rows, school, year)` lists every bad row with its line number
and reason, `apply(...)` saves everything in one transaction or nothing at all. Rows are matched by
stable keys, so importing the same file twice changes nothing:

- a student by school + «Номер личного дела» (file number);
- a legal representative by the student + surname, name and patronymic (a sibling's representative
  with the same name and one of the same contacts is the same person);
- a contact by representative + kind + value;
- a consent decision is appended only if it differs from that representative's latest one.

One student may take several lines, one per legal representative; the student's columns must then
agree. No Flask request is used here: the CLI and the upload page both call `run_import`.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.models import (
    AcademicYear,
    ClassUnit,
    Consent,
    ContactKind,
    ContactPoint,
    Decision,
    DocumentKind,
    Guardian,
    Provenance,
    School,
    Student,
    StudentGuardian,
)
from app.services import clock, structure
from app.services.audit import acting_as
from app.services.consent import record_decision, validate_contact
from app.services.errors import RuleViolation
from app.services.students import sync_enrolment

MAX_ROWS = 20_000
MAX_BYTES = 10 * 1024 * 1024
FORMATS = (".csv", ".xlsx")
SHEET = "Ученики"  # the data sheet of an XLSX roster (otherwise the first sheet)


@dataclass(frozen=True)
class Column:
    """One column of the roster file: internal key, Russian header, whether required, a hint."""

    key: str
    header: str
    required: bool = False
    hint: str = ""
    example: str = ""
    width: int = 16


COLUMNS = [
    Column("class_name", "Класс", True, "Класс текущего (или указанного) учебного года: цифра и буква", "5А", 8),
    Column("file_number", "Номер личного дела", True,
           "Постоянный ключ ученика в школе: по нему повторный импорт находит ученика", "2026-0001", 20),
    Column("surname", "Фамилия", True, "", "Иванов", 18),
    Column("name", "Имя", True, "", "Иван", 14),
    Column("patronymic", "Отчество", False, "Если есть", "Петрович", 18),
    Column("birth_date", "Дата рождения", True, "ДД.ММ.ГГГГ или ГГГГ-ММ-ДД", "15.03.2015", 14),
    Column("enrolled_on", "Дата зачисления", False,
           "Дата зачисления в школу; пусто — начало учебного года (у нового ученика)", "01.09.2022", 14),
    Column("g_surname", "Представитель: фамилия", False,
           "Законный представитель; для второго представителя — ещё одна строка с тем же учеником",
           "Иванова", 20),
    Column("g_name", "Представитель: имя", False, "", "Мария", 16),
    Column("g_patronymic", "Представитель: отчество", False, "", "Сергеевна", 20),
    Column("relation", "Кем приходится", False, "мать, отец, усыновитель, опекун, попечитель, приёмный родитель",
           "мать", 14),
    Column("authority_basis", "Основание полномочий", False,
           "Для родителей по умолчанию — свидетельство о рождении; для опекуна, попечителя, усыновителя и "
           "приёмного родителя обязательно (акт органа опеки, решение суда, договор)",
           "свидетельство о рождении ребёнка", 30),
    Column("phone", "Телефон", False, "+7XXXXXXXXXX или 8XXXXXXXXXX", "+79161234567", 16),
    Column("email", "E-mail", False, "", "ivanova@example.ru", 24),
    Column("provenance", "Источник контактов", False,
           "заявление | электронный документ; обязателен, если указан телефон или e-mail. Им же определяется "
           "вид документа о согласии", "заявление", 20),
    Column("document_reference", "Реквизиты документа", False,
           "Номер и дата заявления или идентификатор электронного документа, откуда взяты контакты",
           "Заявление № 15 от 01.09.2026", 28),
    Column("decision", "Решение о согласии", False,
           "согласие | отказ | пусто; отзыв согласия оформляется в реестре согласий", "согласие", 16),
    Column("decided_on", "Дата решения", False, "Обязательна, если указано решение", "01.09.2026", 14),
    Column("statement", "Номер заявления", False,
           "Номер заявления о согласии (или идентификатор электронного документа); обязателен при решении",
           "15-ПД", 16),
]
BY_KEY = {c.key: c for c in COLUMNS}
HEADER_ALIASES = {"email": "email", "e-mail": "email", "эл. почта": "email", "электронная почта": "email",
                  "№ личного дела": "file_number"}
STUDENT_KEYS = ("class_name", "surname", "name", "patronymic", "birth_date", "enrolled_on")
GUARDIAN_KEYS = ("g_surname", "g_name", "g_patronymic", "relation", "authority_basis", "phone", "email",
                 "provenance", "document_reference", "decision", "decided_on", "statement")

PARENTS = ("мать", "отец")
RELATIONS = (*PARENTS, "усыновитель", "опекун", "попечитель", "приёмный родитель")
PARENT_BASIS = "свидетельство о рождении ребёнка"
PROVENANCES = {"заявление": Provenance.written_statement, "письменное заявление": Provenance.written_statement,
               "электронный документ": Provenance.electronic_document,
               "эл. документ": Provenance.electronic_document}
DECISIONS = {"согласие": Decision.consent, "отказ": Decision.refusal}
DECISION_WORDS = {Decision.consent: "согласие", Decision.refusal: "отказ", Decision.withdrawal: "отзыв согласия"}
# Latin letters that look like Cyrillic ones, typed by mistake in class names («5A»).
LOOKALIKES = str.maketrans("ABEKMHOPCTXY", "АВЕКМНОРСТХУ")
CLASS_NAME = re.compile(r"^(\d{1,2})\s*[-‐–]?\s*([^\W\d_]{1,4})$")
DAY_RU = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
DAY_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")

COUNT_KEYS = ("rows", "students_created", "students_updated", "students_moved", "guardians_created",
              "links_created", "links_updated", "contacts_created", "contacts_updated", "consents_created")
COUNT_LABELS = {
    "rows": _l("rows in the file"),
    "students_created": _l("students added"),
    "students_updated": _l("students updated"),
    "students_moved": _l("students moved to another class"),
    "guardians_created": _l("legal representatives added"),
    "links_created": _l("representation links added"),
    "links_updated": _l("representation links updated"),
    "contacts_created": _l("contacts added"),
    "contacts_updated": _l("contacts updated"),
    "consents_created": _l("consent decisions recorded"),
}


class RosterFormatError(ValueError):
    """The file as a whole cannot be read: missing, unknown format, wrong headers."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = str(message)


class Problem(NamedTuple):
    """A bad row: its line number in the file (the header is line 1) and the reason."""

    line: int
    reason: str


class RosterRejected(ValueError):
    """The import was refused; nothing was saved."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{p.line}: {p.reason}" for p in problems))
        self.problems = problems


@dataclass
class Row:
    """One line of the file: its number and the cells by column key (str, or date from XLSX)."""

    line: int
    values: dict[str, object]

    def text(self, key: str) -> str:
        value = self.values.get(key)
        return value.strftime("%d.%m.%Y") if isinstance(value, dt.date) else str(value or "").strip()


@dataclass
class ImportResult:
    """What an import did (or, with dry_run, would do): the bad rows, or the counts."""

    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


# ---------------------------------------------------------------------------------------------
# Reading the file


def _norm(text: str) -> str:
    """Comparison form of a name or header: single spaces, case-folded, ё as е."""
    return " ".join(str(text).split()).casefold().replace("ё", "е")


def _cell(value) -> object:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1251")  # what Russian Excel writes by «Сохранить как CSV»


def _csv_records(data: bytes) -> Iterable[tuple[int, list]]:
    text = _decode(data)
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((";", ",", "\t"), key=first.count) if first else ";"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        previous = 0
        for record in reader:
            yield previous + 1, record  # the physical line where the record starts
            previous = reader.line_num
    except csv.Error as err:
        raise RosterFormatError(_l("The file cannot be read as %(kind)s: %(error)s", kind="CSV", error=err)) from None


def _xlsx_records(data: bytes) -> Iterable[tuple[int, list]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as err:  # noqa: BLE001 - a broken file raises zip, XML or key errors
        raise RosterFormatError(_l("The file cannot be read as %(kind)s: %(error)s", kind="XLSX",
                                   error=err)) from None
    try:
        sheet = book[SHEET] if SHEET in book.sheetnames else book.worksheets[0]
        for number, record in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(record)
    finally:
        book.close()


def _header_key(text: str) -> str | None:
    wanted = _norm(text)
    for column in COLUMNS:
        if _norm(column.header) == wanted:
            return column.key
    return HEADER_ALIASES.get(wanted)


def _rows(records: Iterable[tuple[int, list]]) -> list[Row]:
    keys: list[str | None] | None = None
    rows: list[Row] = []
    for number, record in records:
        cells = [_cell(v) for v in record]
        if not any(c != "" for c in cells):
            continue
        if keys is None:
            keys = _read_header(cells)
            continue
        values = {key: cell for key, cell in zip(keys, cells) if key is not None}
        if any(v != "" for v in values.values()):
            rows.append(Row(number, values))
            if len(rows) > MAX_ROWS:
                raise RosterFormatError(_l("The file has more than %(max)d rows: split it into several files.",
                                           max=MAX_ROWS))
    if keys is None:
        raise RosterFormatError(_l("The file is empty: the first line must hold the column headers of the "
                                   "template."))
    return rows


def _read_header(cells: list) -> list[str | None]:
    keys: list[str | None] = []
    unknown, seen = [], set()
    for cell in cells:
        text = str(cell).strip()
        key = _header_key(text) if text else None
        if text and key is None:
            unknown.append(f"«{text}»")
        if key in seen:
            raise RosterFormatError(_l("The column «%(column)s» appears twice.", column=BY_KEY[key].header))
        if key:
            seen.add(key)
        keys.append(key)
    if unknown:
        raise RosterFormatError(_l("Unknown columns: %(columns)s. Use the headers of the template.",
                                   columns=", ".join(unknown)))
    missing = [f"«{c.header}»" for c in COLUMNS if c.required and c.key not in seen]
    if missing:
        raise RosterFormatError(_l("Required columns are missing: %(columns)s.", columns=", ".join(missing)))
    return keys


def parse(source, filename: str | None = None) -> list[Row]:
    """Rows of a CSV (UTF-8 with or without BOM, `;` or `,`) or XLSX file; `source` is a path or a
    binary file object (then `filename` names the format). Raises RosterFormatError."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        filename = filename or path.name
        if not path.is_file():
            raise RosterFormatError(_l("File «%(name)s» not found.", name=str(source)))
        data = path.read_bytes()
    else:
        filename = filename or getattr(source, "filename", None) or getattr(source, "name", None)
        data = source.read()
    suffix = Path(filename or "").suffix.lower()
    if suffix not in FORMATS:
        raise RosterFormatError(_l("Unknown file format «%(name)s»: a CSV or XLSX file is expected.",
                                   name=filename or "?"))
    if len(data) > MAX_BYTES:
        raise RosterFormatError(_l("The file is larger than %(max)d MB.", max=MAX_BYTES // (1024 * 1024)))
    return _rows(_csv_records(data) if suffix == ".csv" else _xlsx_records(data))


# ---------------------------------------------------------------------------------------------
# The template


def template_xlsx() -> bytes:
    """The empty roster template: headers, input hints, lists of allowed values, and a sheet of notes."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append([c.header for c in COLUMNS])
    sheet.freeze_panes = "A2"
    for n, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(n)
        cell = sheet.cell(row=1, column=n)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if column.required:
            cell.fill = PatternFill("solid", fgColor="FFF2CC")
        sheet.column_dimensions[letter].width = column.width
        if column.key in ("file_number", "phone", "statement", "class_name"):
            sheet.column_dimensions[letter].number_format = "@"
    lists = {"relation": RELATIONS, "provenance": ("заявление", "электронный документ"),
             "decision": tuple(DECISIONS)}
    for key, allowed in lists.items():
        letter = get_column_letter([c.key for c in COLUMNS].index(key) + 1)
        check = DataValidation(type="list", formula1='"' + ",".join(allowed) + '"', allow_blank=True)
        sheet.add_data_validation(check)
        check.add(f"{letter}2:{letter}{MAX_ROWS}")
    notes = book.create_sheet("Пояснения")
    notes.append(["Столбец", "Обязательный", "Что писать", "Пример"])
    for column in COLUMNS:
        notes.append([column.header, "да" if column.required else "", column.hint, column.example])
    notes.append([])
    notes.append(["Одна строка — один ученик и один законный представитель. Второй представитель того же "
                  "ученика — ещё одна строка с теми же данными ученика."])
    notes.append(["Повторный импорт того же файла ничего не меняет: ученики находятся по номеру личного дела."])
    for n, width in enumerate((26, 14, 90, 30), start=1):
        notes.column_dimensions[get_column_letter(n)].width = width
    for cell in notes[1]:
        cell.font = Font(bold=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template_csv() -> bytes:
    """The empty template as CSV (UTF-8 with BOM, `;`), as Excel opens it."""
    out = io.StringIO()
    csv.writer(out, delimiter=";").writerow([c.header for c in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# ---------------------------------------------------------------------------------------------
# Checking


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


# ---------------------------------------------------------------------------------------------
# Saving


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


# ---------------------------------------------------------------------------------------------
# The school and year of an import


def find_school(short_name: str | None) -> School:
    """The school by short name; without one, the only school of the deployment."""
    if short_name:
        school = db.session.scalar(select(School).where(School.short_name == short_name))
        if school is None:
            raise RuleViolation(_l("School «%(name)s» not found.", name=short_name))
        return school
    schools = db.session.scalars(select(School).order_by(School.short_name).limit(2)).all()
    if not schools:
        raise RuleViolation(_l("There is no school in the database yet."))
    if len(schools) > 1:
        names = ", ".join(db.session.scalars(select(School.short_name).order_by(School.short_name)))
        raise RuleViolation(_l("There are several schools (%(names)s): choose one with --school.", names=names))
    return schools[0]


def school_years(school: School) -> list[AcademicYear]:
    """The school's academic years, latest first."""
    return db.session.scalars(select(AcademicYear).where(AcademicYear.school_id == school.id)
                              .order_by(AcademicYear.start.desc())).all()


def find_year(school: School, name: str | None = None) -> AcademicYear:
    """The school's academic year by name; without one, the year containing today."""
    years = school_years(school)
    if name:
        found = next((y for y in years if y.name == name), None)
        if found is None:
            raise RuleViolation(_l("The school has no academic year «%(name)s»; it has: %(names)s.", name=name,
                                   names=", ".join(y.name for y in years) or "—"))
        return found
    today = clock.today()
    found = next((y for y in years if y.contains(today)), None)
    if found is None:
        raise RuleViolation(_l("No academic year of the school contains today (%(day)s): choose one.",
                               day=today.strftime("%d.%m.%Y")))
    return found
