"""The roster import page: upload a CSV/XLSX of students, representatives, contacts and consent
decisions; check without saving, or import all or nothing; download the template."""
import io

from flask import current_app, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models import School
from app.security import permissions as p
from app.security.scope import current_scope
from app.services import roster
from app.services.errors import RuleViolation
from app.views.downloads import CSV, XLSX, attachment

TEMPLATE_NAME = _l("Roster template")


class RosterView(BaseView):
    """/roster/: the upload form and its result (bad rows or counts), and the templates."""

    route_base = "/roster"
    default_view = "page"
    class_permission_name = p.RESOURCE_ROSTER_IMPORT
    method_permission_name = {"page": p.ACTION_READ, "template_xlsx": p.ACTION_READ,
                              "template_csv": p.ACTION_READ, "upload": p.ACTION_WRITE}
    base_permissions = [p.CAN_READ, p.CAN_WRITE]

    def _school(self) -> School | None:
        school_id = current_scope().school_id
        return db.session.get(School, school_id) if school_id else None

    def _render(self, school: School | None, status: int = 200, **context):
        years = roster.school_years(school) if school else []
        chosen = context.pop("year", None)
        if chosen is None and school is not None:
            try:
                chosen = roster.find_year(school)
            except RuleViolation:
                chosen = years[0] if years else None
        return self.render_template("roster/import.html", school=school, years=years, chosen=chosen,
                                    columns=roster.COLUMNS, count_keys=roster.COUNT_KEYS,
                                    count_labels=roster.COUNT_LABELS, **context), status

    @expose("/")
    @has_access
    def page(self):
        """The upload form and the template links."""
        return self._render(self._school())

    @expose("/upload", methods=["POST"])
    @has_access
    def upload(self):
        """Check (dry run) or import the uploaded file; nothing is saved if any row is bad."""
        school = self._school()
        if school is None:
            return self._render(None, 400)
        year = next((y for y in roster.school_years(school) if y.id == request.form.get("year_id", type=int)), None)
        dry_run = bool(request.form.get("dry_run"))
        upload = request.files.get("file")
        if year is None:
            return self._render(school, 400, error=_l("Choose the academic year."), dry_run=dry_run)
        if upload is None or not upload.filename:
            return self._render(school, 400, year=year, error=_l("Choose a CSV or XLSX file."), dry_run=dry_run)
        try:
            rows = roster.parse(io.BytesIO(upload.read()), upload.filename)
        except roster.RosterFormatError as err:
            return self._render(school, 400, year=year, error=err.message, dry_run=dry_run)
        if not rows:
            return self._render(school, 400, year=year, dry_run=dry_run,
                                error=_l("The file has no student rows, only the header."))
        user = current_app.appbuilder.sm.current_user
        result = roster.run_import(rows, school, year, user.username, user.id, dry_run=dry_run)
        return self._render(school, 200 if result.ok else 422, year=year, result=result, filename=upload.filename,
                            dry_run=dry_run, row_count=len(rows),
                            bad_lines=len({problem.line for problem in result.problems}))

    @expose("/template.xlsx")
    @has_access
    def template_xlsx(self):
        """The empty roster template (Excel)."""
        return attachment(roster.template_xlsx(), f"{TEMPLATE_NAME}.xlsx", XLSX)

    @expose("/template.csv")
    @has_access
    def template_csv(self):
        """The empty roster template (CSV, UTF-8, `;`)."""
        return attachment(roster.template_csv(), f"{TEMPLATE_NAME}.csv", CSV)
