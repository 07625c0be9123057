"""CSV downloads for spreadsheets: «;»-separated, UTF-8 with BOM (Excel), and no cell that a
spreadsheet would run as a formula."""
import csv
import io

from flask import Response

from app.views.downloads import CSV, attachment

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    """Text that starts like a formula is prefixed with an apostrophe; numbers stay numbers."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def csv_response(header: list, rows, filename: str) -> Response:
    """The rows as a CSV attachment named `filename` (a Russian name is fine: see app.views.downloads)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return attachment("\ufeff" + out.getvalue(), filename, CSV)
