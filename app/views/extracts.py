"""Paper extracts pages: the print form (PDF download), verification of a printed file by its number,
and the read-only print log. Rules live in app.services.extracts."""

from flask import current_app, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import ClassUnit, ExtractLog, ReportingPeriod, Student
from app.security import permissions as p
from app.security.scope import current_scope
from app.services import clock
from app.services.calendar import class_period
from app.services.consent import paper_recipients
from app.services.errors import RuleViolation
from app.services.extracts import make_order, print_order, printer_of, verify
from app.services.params import as_id, date_arg, id_arg
from app.views.base import SchoolModelView
from app.views.consent import READ_ONLY_ROUTES
from app.views.downloads import PDF, attachment
from app.views.list_csv import ListCsvMixin

SECTION_LABELS = {"timetable": _l("Timetable"), "changes": _l("Lesson changes"), "control": _l("Control works"),
                  "teachers": _l("Teachers of the class"), "holidays": _l("Holidays"), "homework": _l("Homework"),
                  "recommendations": _l("Recommendations")}


def file_name_of(logs) -> str:
    """«Выписка В-2026-000001.pdf», or «Выписки В-2026-000001–000030.pdf» for a batch."""
    first, last = logs[0].number, logs[-1].number
    if len(logs) == 1:
        name = _l("Extract %(number)s", number=first)
    else:
        name = _l("Extracts %(first)s–%(last)s", first=first, last=last.rsplit("-", 1)[-1])
    return f"{name}.pdf"


def _choices(printer):
    """Classes, students and periods the printer may choose from."""
    scope = printer.scope
    school = select(ClassUnit).where(ClassUnit.school_id == scope.school_id) if not scope.everything \
        else select(ClassUnit)
    classes = db.session.scalars(school.order_by(ClassUnit.grade, ClassUnit.letter)).all()
    if not (printer.any_student or printer.paper):
        classes = [c for c in classes if c.id in scope.homeroom_ids]
    if printer.any_student:
        students = [s for c in classes for s in db.session.scalars(select(Student).where(
            Student.class_unit_id == c.id).order_by(Student.surname, Student.name))]
    elif printer.paper:
        students = paper_recipients(scope.school_id, clock.today())
    else:
        students = [s for c in classes for s in db.session.scalars(select(Student).where(
            Student.class_unit_id == c.id).order_by(Student.surname, Student.name))]
    periods = db.session.scalars(select(ReportingPeriod).where(
        ReportingPeriod.school_id.in_(sorted({c.school_id for c in classes} or {scope.school_id or 0})))
        .order_by(ReportingPeriod.start, ReportingPeriod.kind)).all()
    return classes, students, periods


def current_periods(*class_lists) -> dict[int, int]:
    """Class id → the id of its current period of its own scheme (quarter, trimester or half-year)."""
    today, found = clock.today(), {}
    for cls in {c for classes in class_lists for c in classes}:
        period = class_period(cls.year_id, cls, today)
        if period is not None:
            found[cls.id] = period.id
    return found


def default_period(form, students, current: dict[int, int]) -> str:
    """The period the form shows chosen: the one posted, else the chosen student's or class's current
    period, else that of the first class offered."""
    if form.get("period_id"):
        return form["period_id"]
    student = next((s for s in students if str(s.id) == form.get("student_id")), None)
    class_id = student.class_unit_id if student is not None else as_id(form.get("class_id"))
    chosen = current.get(class_id) or next(iter(sorted(current.items())), (None, ""))[1]
    return str(chosen or "")


class ExtractsView(BaseView):
    """Выписки: print one student's, a class's or all paper recipients' extracts as one PDF."""

    route_base = "/extracts"
    default_view = "index"
    resource = class_permission_name = p.RESOURCE_EXTRACT
    method_permission_name = {"index": p.ACTION_READ, "print_pdf": p.ACTION_WRITE}
    base_permissions = [p.CAN_READ, p.CAN_WRITE]

    def _form(self, printer, message=None, status=200):
        classes, students, periods = _choices(printer)
        form = request.form if request.method == "POST" else request.args
        current = current_periods(classes, {s.class_unit for s in students if s.class_unit is not None})
        return self.render_template("extracts/index.html", classes=classes, students=students, periods=periods,
                                    sections=SECTION_LABELS, message=message, form=form, current=current,
                                    period_id=default_period(form, students, current),
                                    school_wide=printer.any_student or printer.paper), status

    @expose("/")
    @has_access
    def index(self):
        """The print form."""
        return self._form(printer_of(current_app.appbuilder.sm.current_user))

    @expose("/print", methods=["POST"])
    @has_access
    def print_pdf(self):
        """Check the choice, print and log, and send the PDF; a clear message and nothing logged otherwise.
        The log is committed only once the response holding the file is built."""
        printer = printer_of(current_app.appbuilder.sm.current_user)
        form = request.form
        target = form.get("target", "student")
        try:
            order = make_order(
                printer, period_id=id_arg(form, "period_id"),
                student_id=id_arg(form, "student_id") if target == "student" else None,
                class_id=id_arg(form, "class_id") if target == "class" else None,
                all_paper=target == "school", paper_only=bool(form.get("paper_only")),
                sections=[s for s in form.getlist("sections") if s], start=date_arg(form.get("start")),
                end=date_arg(form.get("end")))
            response = attachment(print_order(printer, order), file_name_of(order.logs), PDF)
            db.session.commit()
        except RuleViolation as err:
            db.session.rollback()
            return self._form(printer, err.message, 400)
        return response


class ExtractVerifyView(BaseView):
    """Is this file the extract printed under this number?"""

    route_base = "/extracts/verify"
    default_view = "index"
    resource = class_permission_name = p.RESOURCE_EXTRACT_LOG
    method_permission_name = {"index": p.ACTION_READ}
    base_permissions = [p.CAN_READ]

    @expose("/", methods=["GET", "POST"])
    @has_access
    def index(self):
        """The form, and the verdict for an uploaded file."""
        verdict = None
        if request.method == "POST":
            upload = request.files.get("file")
            scope = current_scope()
            verdict = verify(request.form.get("number", ""), upload.read() if upload else b"",
                             None if scope.everything else scope.school_id)
        return self.render_template("extracts/verify.html", verdict=verdict, number=request.form.get("number", ""))


class ExtractLogView(ListCsvMixin, SchoolModelView):
    """The print log, read-only: who printed which extract, when, and the file's hash."""

    model, resource = ExtractLog, p.RESOURCE_EXTRACT_LOG
    list_columns = ["number", "printed_at", "student", "class_unit", "period", "printed_by", "pages"]
    show_columns = ["number", "printed_at", "printed_by", "student", "class_unit", "period", "sections",
                    "date_from", "date_to", "batch_size", "first_page", "pages", "sha256"]
    search_columns = ["number", "printed_at", "printed_by", "student", "period"]
    include_route_methods = READ_ONLY_ROUTES
    base_order = ("id", "desc")
    label_columns = {"number": _l("Number"), "printed_at": _l("Printed at"), "printed_by": _l("Printed by"),
                     "sections": _l("Sections"), "date_from": _l("From"), "date_to": _l("To"),
                     "batch_size": _l("Extracts in the file"), "first_page": _l("First page"), "pages": _l("Pages"),
                     "sha256": _l("SHA-256 of the file")}
