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
from app.services.roster.checking import check, parse_day
from app.services.roster.columns import (
    COLUMNS,
    COUNT_KEYS,
    COUNT_LABELS,
    FORMATS,
    MAX_BYTES,
    MAX_ROWS,
    ImportResult,
    Problem,
    RosterFormatError,
    RosterRejected,
    Row,
)
from app.services.roster.reading import parse, template_csv, template_xlsx
from app.services.roster.saving import apply, run_import
from app.services.roster.school_year import find_school, find_year, school_years

__all__ = ["COLUMNS", "COUNT_KEYS", "COUNT_LABELS", "FORMATS", "MAX_BYTES", "MAX_ROWS", "ImportResult", "Problem",
           "Row", "RosterFormatError", "RosterRejected", "apply", "check", "find_school", "find_year", "parse",
           "parse_day", "run_import", "school_years", "template_csv", "template_xlsx"]
