"""The roster file's columns, limits, value lists, and what an import returns."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from flask_babel import lazy_gettext as _l

from app.models import (
    Decision,
    Provenance,
)

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
