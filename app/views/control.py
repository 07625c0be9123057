"""Контроль ведения журнала: the deputy's control reports as pages, CSV and PDF. The reports live in
`app.services.control`; the view reads the filters, asks the service and renders."""
from flask import abort, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import ClassUnit, Staff, Subject
from app.security import permissions as p
from app.security.scope import current_scope, visible_clause
from app.services.control.filters import ControlFilters, periods_of, read_filters
from app.services.control.reports import REPORTS, build, report_pdf
from app.services.errors import RuleViolation
from app.services.stats import NotFound
from app.views.csv_export import csv_response
from app.views.downloads import PDF, attachment


def _rows(model, f: ControlFilters, *where, order):
    query = select(model).where(model.school_id == f.period.school_id, *where).order_by(*order)
    clause = visible_clause(model, f.scope)
    return db.session.scalars(query if clause is None else query.where(clause)).all()


def choices(f: ControlFilters) -> dict:
    """What the filter form offers: the user's periods, and the classes, subjects and teachers they see."""
    return {"periods": periods_of(f.scope),
            "classes": [(c.id, c.name) for c in _rows(ClassUnit, f, ClassUnit.year_id == f.period.year_id,
                                                      order=(ClassUnit.grade, ClassUnit.letter))],
            "subjects": [(s.id, s.name) for s in _rows(Subject, f, order=(Subject.name,))],
            "teachers": [(s.id, s.short_name) for s in _rows(Staff, f, order=(Staff.surname, Staff.name))]}


def named(f: ControlFilters) -> dict:
    """The chosen class, subject and teacher by name (the PDF's and the file's heading)."""
    get = db.session.get
    return {"class": get(ClassUnit, f.class_id).name if f.class_id else "",
            "subject": get(Subject, f.subject_id).name if f.subject_id else "",
            "teacher": get(Staff, f.teacher_id).short_name if f.teacher_id else ""}


class ControlView(BaseView):
    """Контроль ведения журнала: накопляемость, своевременность, итоговые не по предложенной, посещаемость."""

    route_base = "/control"
    default_view = "index"
    resource = class_permission_name = p.RESOURCE_JOURNAL_CONTROL
    method_permission_name = {name: p.ACTION_READ for name in ("index", "accumulation", "timeliness", "finals",
                                                              "attendance", "csv", "pdf")}
    base_permissions = [p.CAN_READ]

    def _load(self):
        name = request.args.get("report", "")
        if name not in REPORTS:
            abort(404)
        args = request.args.copy()
        args.pop("report")
        f = read_filters(current_scope(), args)
        return name, f, build(name, f)

    def _error(self, err: RuleViolation):
        status = 404 if isinstance(err, NotFound) else 400
        return self.render_template("control/error.html", message=err.message), status

    def _page(self, name: str):
        try:
            f = read_filters(current_scope(), request.args)
            report = build(name, f)
        except RuleViolation as err:
            return self._error(err)
        return self.render_template("control/report.html", name=name, report=report, f=f, choices=choices(f),
                                    reports=REPORTS)

    @expose("/")
    @has_access
    def index(self):
        """The list of the reports."""
        return self.render_template("control/index.html", reports=REPORTS)

    @expose("/accumulation/")
    @has_access
    def accumulation(self):
        """Накопляемость отметок."""
        return self._page("accumulation")

    @expose("/timeliness/")
    @has_access
    def timeliness(self):
        """Своевременность заполнения."""
        return self._page("timeliness")

    @expose("/finals/")
    @has_access
    def finals(self):
        """Итоговые отметки не по предложенной."""
        return self._page("finals")

    @expose("/attendance/")
    @has_access
    def attendance(self):
        """Посещаемость."""
        return self._page("attendance")

    @expose("/export.csv")
    @has_access
    def csv(self):
        """One table (?table=…, the first by default) of a report (?report=…) as CSV."""
        try:
            _name, f, report = self._load()
            table = report.table(request.args.get("table") or report.tables[0].key)
        except RuleViolation as err:
            return self._error(err)
        except KeyError:
            return self._error(RuleViolation(_l("Unknown table.")))
        filename = f"{report.title} - {table.title} - {f.start:%d.%m.%Y}-{f.end:%d.%m.%Y}.csv"
        return csv_response(table.header(), table.cells(), filename)

    @expose("/export.pdf")
    @has_access
    def pdf(self):
        """A whole report (?report=…) as a PDF."""
        try:
            _name, f, report = self._load()
        except RuleViolation as err:
            return self._error(err)
        filename = f"{report.title} {f.start:%d.%m.%Y}-{f.end:%d.%m.%Y}.pdf"
        return attachment(report_pdf(report, f, named(f)), filename, PDF)
