"""Reading a roster file (CSV or XLSX) into rows, and the empty template to fill in."""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from pathlib import Path

from flask_babel import lazy_gettext as _l

from app.services.roster.columns import (
    BY_KEY,
    COLUMNS,
    DECISIONS,
    FORMATS,
    HEADER_ALIASES,
    MAX_BYTES,
    MAX_ROWS,
    RELATIONS,
    SHEET,
    RosterFormatError,
    Row,
)

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
