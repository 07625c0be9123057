"""Import of a timetable: a CSV/XLSX table (one row per weekly lesson: class or group, subject,
teacher, weekday, lesson number, room, valid from/to) or the XML export of aSc Timetables, turned into
the same rows. All or nothing: every row is checked — the teaching assignment exists, the day is a
school day, the bell slot exists, the dates are inside the year, no clash with the timetable or with
another row — and a bad one is «строка N: причина»; a dry run checks and saves nothing."""
import csv
import datetime as dt
import io
import xml.etree.ElementTree as ET  # noqa: N817 - aSc's export is a plain XML file the school chose to upload
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import AcademicYear, BellSlot, School, TeachingAssignment, TimetableEntry
from app.services.errors import RuleViolation
from app.services.roster.checking import parse_day
from app.services.roster.columns import RosterFormatError
from app.services.roster.reading import _csv_records, _norm, _xlsx_records
from app.services.timetable_clashes import describe, entry_clashes

COLUMNS = [("target", "Класс или группа"), ("subject", "Предмет"), ("teacher", "Учитель"),
           ("weekday", "День недели"), ("slot", "Урок"), ("room", "Кабинет"), ("valid_from", "Действует с"),
           ("valid_to", "Действует по")]
REQUIRED = ("target", "subject", "weekday", "slot")
DAYS = {"пн": 0, "понедельник": 0, "вт": 1, "вторник": 1, "ср": 2, "среда": 2, "чт": 3, "четверг": 3,
        "пт": 4, "пятница": 4, "сб": 5, "суббота": 5, **{str(n): n - 1 for n in range(1, 7)}}
EXAMPLE = ["5А", "Математика", "Иванова Мария Петровна", "пн", "1", "12", "", ""]
MAX_BYTES = 5 * 1024 * 1024


class TimetableRejected(ValueError):
    """The import was refused; nothing was saved. `problems`: (line, reason)."""

    def __init__(self, problems: list[tuple[int, str]]):
        super().__init__("; ".join(f"строка {n}: {why}" for n, why in problems))
        self.problems = problems


@dataclass
class Outcome:
    """What an import created (or, in a dry run, would create)."""

    created: int = 0
    dry_run: bool = False
    entries: list = field(default_factory=list)


# --- reading ------------------------------------------------------------------------------------------

def read_table(data: bytes, filename: str) -> list[tuple[int, dict]]:
    """(line, values by column key) of a CSV or XLSX file with the template's header."""
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if suffix == "xml":
        return read_asc_xml(data)
    if suffix not in ("csv", "xlsx"):
        raise RosterFormatError(_l("Unknown file format «%(name)s»: a CSV, XLSX or aSc XML file is expected.",
                                   name=filename))
    if len(data) > MAX_BYTES:
        raise RosterFormatError(_l("The file is larger than %(max)d MB.", max=MAX_BYTES // (1024 * 1024)))
    records = _csv_records(data) if suffix == "csv" else _xlsx_records(data)
    keys, rows = None, []
    by_header = {_norm(header): key for key, header in COLUMNS}
    for line, record in records:
        cells = ["" if v is None else (v if isinstance(v, dt.date) else " ".join(str(v).split())) for v in record]
        if not any(c != "" for c in cells):
            continue
        if keys is None:
            keys = [by_header.get(_norm(c)) for c in cells]
            missing = [header for key, header in COLUMNS if key in REQUIRED and key not in keys]
            if missing:
                raise RosterFormatError(_l("The header lacks the columns: %(columns)s.", columns=", ".join(missing)))
            continue
        rows.append((line, {k: c for k, c in zip(keys, cells, strict=False) if k}))
    return rows


def read_asc_xml(data: bytes) -> list[tuple[int, dict]]:
    """Rows from aSc Timetables' XML export: each <card> (a lesson placed on a day and period) of a
    <lesson> (classes, groups, subject, teachers) becomes a row; its «line» is the card's number."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise RosterFormatError(_l("The file cannot be read as %(kind)s: %(error)s", kind="XML", error=err)) from None

    def names(tag: str) -> dict[str, dict]:
        return {e.get("id"): dict(e.attrib) for e in root.iter(tag)}

    subjects, teachers, rooms = names("subject"), names("teacher"), names("classroom")
    classes, groups, lessons = names("class"), names("group"), names("lesson")
    rows = []
    for number, card in enumerate(root.iter("card"), start=1):
        lesson = lessons.get(card.get("lessonid"), {})
        days = card.get("days", "")
        room_ids = (card.get("classroomids") or lesson.get("classroomids") or "").split(",")
        teacher = teachers.get((lesson.get("teacherids") or "").split(",")[0], {})
        for target in _asc_targets(lesson, classes, groups):
            rows.append((number, {
                "target": target, "subject": subjects.get(lesson.get("subjectid"), {}).get("name", ""),
                "teacher": teacher.get("name", ""), "weekday": str(days.find("1") + 1) if "1" in days else "",
                "slot": card.get("period", ""), "room": rooms.get(room_ids[0], {}).get("short", "")
                or rooms.get(room_ids[0], {}).get("name", "")}))
    return rows


def _asc_targets(lesson: dict, classes: dict, groups: dict) -> list[str]:
    """«5А» for a whole class, «5А 1 группа» for a group of it (aSc names groups inside a class)."""
    out = []
    for group_id in (lesson.get("groupids") or "").split(","):
        group = groups.get(group_id)
        if group is None:
            continue
        cls = classes.get(group.get("classid"), {}).get("name", "")
        out.append(cls if group.get("entireclass") == "1" else f"{cls} {group.get('name', '')}")
    if not out:
        out = [classes.get(c, {}).get("name", "") for c in (lesson.get("classids") or "").split(",") if c]
    return out or [""]


def template_csv() -> bytes:
    """The empty template with one example row (UTF-8 with BOM, «;», as Russian Excel opens it)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow([header for _key, header in COLUMNS])
    writer.writerow(EXAMPLE)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# --- checking and saving -------------------------------------------------------------------------------

class _Lookup:
    """The year's assignments by (target, subject), teachers by name, bell slots by number."""

    def __init__(self, school: School, year: AcademicYear):
        self.school, self.year = school, year
        self.assignments: dict[tuple[str, str], list[TeachingAssignment]] = {}
        for a in db.session.scalars(select(TeachingAssignment).where(TeachingAssignment.year_id == year.id)):
            target = a.plan.student if a.plan is not None else a.target
            self.assignments.setdefault((_norm(str(target)), _norm(a.subject.name)), []).append(a)
        self.slots = {s.number: s for s in db.session.scalars(select(BellSlot).where(
            BellSlot.school_id == school.id))}

    def assignment(self, values: dict) -> TeachingAssignment:
        found = self.assignments.get((_norm(values.get("target", "")), _norm(values.get("subject", ""))), [])
        teacher = _norm(values.get("teacher", ""))
        if teacher:
            found = [a for a in found if teacher in {_norm(str(a.teacher)), _norm(a.teacher.surname),
                                                     _norm(a.teacher.short_name)}]
        if len(found) != 1:
            raise RuleViolation(_l("no teaching assignment «%(subject)s» for «%(target)s»%(teacher)s in %(year)s",
                                   subject=values.get("subject", ""), target=values.get("target", ""),
                                   teacher=f" ({values['teacher']})" if values.get("teacher") else "",
                                   year=self.year.name))
        return found[0]

    def entry(self, values: dict) -> TimetableEntry:
        for key, header in COLUMNS:
            if key in REQUIRED and not str(values.get(key, "")).strip():
                raise RuleViolation(_l("the column «%(column)s» is empty", column=header))
        assignment = self.assignment(values)
        weekday = DAYS.get(_norm(values["weekday"]))
        if weekday is None or weekday >= self.school.study_days_per_week:
            raise RuleViolation(_l("«%(day)s» is not a school day (пн…пт, or 1–%(n)d)", day=values["weekday"],
                                   n=self.school.study_days_per_week))
        slot = self.slots.get(int(values["slot"])) if str(values["slot"]).isdigit() else None
        if slot is None:
            raise RuleViolation(_l("there is no lesson number «%(slot)s» in the bell schedule", slot=values["slot"]))
        start, end = (self._day(values, "valid_from", self.year.start), self._day(values, "valid_to", self.year.end))
        if not (self.year.start <= start <= end <= self.year.end):
            raise RuleViolation(_l("the dates must be inside the year %(year)s, the first before the last",
                                   year=self.year.name))
        room = str(values.get("room") or "").strip()
        if len(room) > 20:
            raise RuleViolation(_l("the room is longer than 20 characters"))
        return TimetableEntry(school_id=self.school.id, assignment=assignment, weekday=weekday, bell_slot=slot,
                              room=room, valid_from=start, valid_to=end)

    @staticmethod
    def _day(values: dict, key: str, default: dt.date) -> dt.date:
        raw = values.get(key)
        if raw in (None, ""):
            return default
        day = parse_day(raw)
        if day is None:
            raise RuleViolation(_l("«%(value)s» is not a date (ДД.ММ.ГГГГ)", value=raw))
        return day


def import_timetable(rows: list[tuple[int, dict]], school: School, year: AcademicYear,
                     dry_run: bool = False) -> Outcome:
    """Check every row, then save all of them (or, in a dry run, none). Raises TimetableRejected with
    every bad row; callers commit."""
    if not rows:
        raise TimetableRejected([(1, str(_l("the file has no rows below the header")))])
    lookup, problems, entries = _Lookup(school, year), [], []
    for line, values in rows:
        try:
            entries.append((line, lookup.entry(values)))
        except RuleViolation as err:
            problems.append((line, err.message))
    with db.session.no_autoflush:
        for entry, clash in entry_clashes(db.session, [e for _line, e in entries]):
            line = next(n for n, e in entries if e is entry)
            problems.append((line, describe(db.session, clash)))
    if problems:
        raise TimetableRejected(sorted(problems))
    if dry_run:
        return Outcome(len(entries), True)
    db.session.add_all(e for _line, e in entries)
    db.session.flush()
    return Outcome(len(entries), False, [e for _line, e in entries])

