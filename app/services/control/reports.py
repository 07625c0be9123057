"""The control reports by name, and their PDF (one layout for all: the title, the filters, the tables)."""
from flask import render_template
from flask_babel import lazy_gettext as _l

from app.services import clock, pdf
from app.services.control import Report
from app.services.control.accumulation import accumulation
from app.services.control.attendance import attendance
from app.services.control.filters import ControlFilters
from app.services.control.overrides import overrides
from app.services.control.timeliness import timeliness

# name in the URL → (builder, menu label); the order is the menu's.
REPORTS = {
    "accumulation": (accumulation, _l("Accumulation of marks")),
    "timeliness": (timeliness, _l("Timeliness of filling the journal")),
    "finals": (overrides, _l("Finals that differ from the proposal")),
    "attendance": (attendance, _l("Attendance")),
}


def build(name: str, f: ControlFilters) -> Report:
    """The report `name` (KeyError when there is none) for the filters."""
    return REPORTS[name][0](f)


def report_pdf(report: Report, f: ControlFilters, names: dict) -> bytes:
    """The report as a landscape A4 PDF with the school's name and the filters it was built for."""
    html = render_template("control/report_pdf.html", report=report, f=f, names=names,
                           printed_on=clock.today(), fonts=pdf.font_css(), orientation="landscape")
    return pdf.html_to_pdf(html)
