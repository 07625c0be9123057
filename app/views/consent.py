"""Views of the consent registry (guided form, append-only), contacts, delivery preferences, the
families' standing per class, the paper-recipient list, and the auditor's trail with CSV export."""
import datetime as dt
import json

from flask import abort, g, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.extensions import db
from app.models import (
    AuditEvent,
    ClassUnit,
    Consent,
    ContactKind,
    ContactPoint,
    Decision,
    DeliveryPreference,
    DocumentKind,
    Provenance,
    Student,
)
from app.security import permissions as p
from app.security.guard import guarded
from app.security.scope import current_scope, families_clause, visible_clause
from app.services import clock
from app.services.calendar import class_period
from app.services.consent import (
    STANDARD_TEXT,
    class_statuses,
    fill_standard_text,
    paper_reasons,
    paper_recipients,
    record_decision,
    representatives,
    search_students,
    status_of,
)
from app.services.consent import history as consent_history
from app.services.errors import RuleViolation
from app.services.extracts_data import SECTIONS
from app.services.params import id_arg
from app.services.stored_values import field_label, problem
from app.views.base import SchoolModelView
from app.views.csv_export import csv_response
from app.views.display import AUDIT_ACTIONS, machine_text, preload_references, row_fields, row_fields_text
from app.views.family_fields import blank_enum_field, guardian_field, student_field, student_label
from app.views.labels import LABELS, enum_label, table_label
from app.views.list_csv import ListCsvMixin

READ_ONLY_ROUTES = {"list", "show", "download"}
SYSTEM = _l("the system")  # the author of changes made by no signed-in user (the audit service's "system")


def _standard_field(name: str, label) -> TextAreaField:
    return TextAreaField(label, default=STANDARD_TEXT[name], validators=[DataRequired()])


def land_on_history():
    """Redirect to the saved family's history page (the list when the student is unknown)."""
    student_id = g.pop("family_landing", None)
    return redirect(url_for("ConsentPagesView.history", student_id=student_id) if student_id
                    else url_for("ConsentView.list"))


class ConsentView(ListCsvMixin, SchoolModelView):
    """Согласия: the registrar records decisions; nothing is ever edited or deleted."""

    model, resource = Consent, p.RESOURCE_CONSENT
    add_template = "consent/family_add.html"
    list_columns = ["decided_on", "student", "guardian", "decision", "document_kind", "recorded_by", "recorded_at"]
    add_columns = ["student", "guardian", "decision", "decided_on", "document_kind", "document_number",
                   "document_date", "electronic_document_id", "authority_basis", "purpose", "data_list",
                   "actions", "term", "withdrawal_procedure"]
    show_columns = add_columns + ["operator", "recorded_by", "recorded_at"]
    search_columns = ["student", "guardian", "decision", "decided_on", "recorded_by"]
    include_route_methods = READ_ONLY_ROUTES | {"add"}
    base_order = ("decided_on", "desc")
    formatters_columns = {**SchoolModelView.formatters_columns,  # noqa: RUF012
                          "decision": enum_label, "document_kind": enum_label}
    description_columns = {
        "authority_basis": _l("Empty: taken from the representation record"),
        "document_number": _l("For a paper statement: its number and date"),
        "electronic_document_id": _l("For an electronic document: its identifier"),
    }
    add_form_extra_fields = {name: _standard_field(name, label) for name, label in (
        ("purpose", _l("Purpose")), ("data_list", _l("Personal data")), ("actions", _l("Actions with the data")),
        ("term", _l("Term")), ("withdrawal_procedure", _l("How to withdraw")))}
    # Non-null columns FAB would make required: a paper statement has no e-document id, an electronic
    # document no number, and an empty basis is taken from the representation record (the service checks).
    add_form_extra_fields.update({
        "student": student_field(), "guardian": guardian_field(),
        "decision": blank_enum_field(_l("Decision"), Decision),
        "document_kind": blank_enum_field(_l("Kind of document"), DocumentKind),
        "document_number": StringField(LABELS["document_number"], validators=[Optional(), Length(max=100)]),
        "electronic_document_id": StringField(LABELS["electronic_document_id"],
                                              validators=[Optional(), Length(max=200)]),
        "authority_basis": StringField(LABELS["authority_basis"], validators=[Optional(), Length(max=300)]),
    })

    def pre_add(self, item):
        """Append the decision through the consent service."""
        from flask import current_app

        guarded(item, then=lambda c: record_decision(fill_standard_text(c),
                                                     current_app.appbuilder.sm.current_user.username))

    def post_add(self, item):
        g.family_landing = item.student.id

    def post_add_redirect(self):
        """After saving, the registrar sees the student's whole consent history."""
        return land_on_history()


class ContactPointView(SchoolModelView):
    """Contacts of legal representatives; added from the student, so the family is the right one."""

    model, resource = ContactPoint, p.RESOURCE_CONTACT
    add_template = "consent/family_add.html"
    list_columns = ["guardian", "kind", "value", "provenance", "document_reference", "active"]
    edit_columns = show_columns = ["guardian", "kind", "value", "provenance", "document_reference", "active"]
    add_columns = ["student", "guardian", "kind", "value", "provenance", "document_reference", "active"]
    add_form_extra_fields = {  # noqa: RUF012
        "student": student_field(), "guardian": guardian_field(),
        "kind": blank_enum_field(_l("Kind"), ContactKind),
        "provenance": blank_enum_field(_l("Provenance"), Provenance)}
    search_columns = ["guardian", "kind", "value", "provenance"]
    formatters_columns = {**SchoolModelView.formatters_columns,  # noqa: RUF012
                          "provenance": enum_label, "kind": enum_label}
    label_columns = {"value": _l("Contact")}  # noqa: RUF012
    description_columns = {"value": _l("Phone as +7XXXXXXXXXX"),
                           "document_reference": _l("Number and date of the statement, or the e-document id")}


    def post_add(self, item):
        g.family_landing = getattr(item, "student", None) and item.student.id

    def post_add_redirect(self):
        """After saving, the registrar sees the student's family: decisions and contacts."""
        return land_on_history()


class DeliveryPreferenceView(SchoolModelView):
    model, resource = DeliveryPreference, p.RESOURCE_DELIVERY
    list_columns = ["student", "channel", "contact"]
    add_columns = edit_columns = show_columns = ["student", "channel", "contact"]
    search_columns = ["student", "channel"]
    formatters_columns = {**SchoolModelView.formatters_columns, "channel": enum_label}  # noqa: RUF012


class AuditEventView(ListCsvMixin, SchoolModelView):
    """The audit trail, read-only, with filters by who, entity and time."""

    model, resource = AuditEvent, p.RESOURCE_AUDIT
    list_columns = ["at", "username", "entity", "entity_id", "action"]
    show_columns = ["at", "username", "entity", "entity_id", "action", "before", "after", "prev_hash", "hash"]
    csv_columns = show_columns
    csv_formatters = {"before": lambda e: row_fields_text(e.entity, e.before),  # noqa: RUF012
                      "after": lambda e: row_fields_text(e.entity, e.after)}

    def csv_preload(self, items) -> list:
        """The rows the events' before and after name, one query per table, not one per event."""
        return preload_references([(e.entity, values) for e in items for values in (e.before, e.after)])
    search_columns = ["at", "username", "entity", "entity_id", "action"]
    include_route_methods = READ_ONLY_ROUTES
    base_order = ("id", "desc")
    label_columns = {"at": _l("When"), "username": _l("Who"), "entity": _l("Entity"), "entity_id": _l("Row"),
                     "action": _l("Action"), "before": _l("Before"), "after": _l("After")}
    formatters_columns = {"entity": table_label, "action": lambda v: AUDIT_ACTIONS.get(v, v),  # noqa: RUF012
                          "username": lambda v: SYSTEM if v == "system" else v,
                          "prev_hash": machine_text, "hash": machine_text}

    def _get_show_widget(self, pk, item, widgets=None, actions=None, show_fieldsets=None):
        """Before and after read as the row's fields with their labels, related rows by name."""
        widgets = super()._get_show_widget(pk, item, widgets, actions, show_fieldsets)
        values = widgets["show"].template_args["value_columns"]
        for i, col in enumerate(self.show_columns):
            if col in ("before", "after"):
                values[i] = row_fields(item.entity, getattr(item, col))
        return widgets


def _json(value) -> str:
    """A row's values as JSON (not Python's repr), empty when absent."""
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _day(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(request.args[name]) if request.args.get(name) else None
    except ValueError:
        return None


class ConsentPagesView(BaseView):
    """Families' standing per class, the paper-recipient list, and the CSV exports of the registry."""

    route_base = "/consent"
    class_permission_name = p.RESOURCE_CONSENT
    method_permission_name = {"status": p.ACTION_READ, "paper": p.ACTION_READ, "history_csv": p.ACTION_READ,
                              "students": p.ACTION_READ, "guardians": p.ACTION_READ, "history": p.ACTION_READ}
    base_permissions = [p.CAN_READ, p.CAN_WRITE]  # shared with ConsentView: keep both on sync

    def _classes(self):
        """The classes whose families the user reads (a class teacher: their own class only)."""
        query = select(ClassUnit).order_by(ClassUnit.grade, ClassUnit.letter)
        scope = current_scope()
        clause = visible_clause(ClassUnit, scope)
        if clause is not None and not scope.reads_school:
            clause = clause & ClassUnit.id.in_(sorted(scope.homeroom_ids))
        return db.session.scalars(query if clause is None else query.where(clause)).all()

    def _chosen(self, classes):
        """The class of `class_id` among `classes` (404 for any other), else None."""
        class_id = id_arg(request.args, "class_id")  # a bad one is a 400 with the message
        chosen = next((c for c in classes if c.id == class_id), None)
        if class_id is not None and chosen is None:
            abort(404)
        return chosen

    @expose("/status")
    @has_access
    def status(self):
        """Each student of a class: consented (electronic) or paper recipient, at a date."""
        classes = self._classes()
        chosen = self._chosen(classes) or (classes[0] if classes else None)
        at = _day("at") or clock.today()
        rows = class_statuses(chosen.id, at) if chosen else []
        return self.render_template("consent/status.html", classes=classes, chosen=chosen, rows=rows, at=at,
                                    enum_label=enum_label)

    @expose("/paper")
    @has_access
    def paper(self):
        """Students whose families get paper extracts (refused, withdrew, or no decision)."""
        scope, classes = current_scope(), self._classes()
        chosen = self._chosen(classes)
        class_id = chosen.id if chosen else None
        school_id = scope.school_id or (chosen.school_id if chosen else None)
        students = paper_recipients(school_id, clock.today(), class_id) if school_id else []
        clause = families_clause(scope)
        if clause is not None and students:
            shown = set(db.session.scalars(select(Student.id).where(clause, Student.id.in_([s.id for s in students]))))
            students = [s for s in students if s.id in shown]
        today, periods = clock.today(), {}
        for cls in {s.class_unit for s in students if s.class_unit is not None}:
            periods[cls.id] = class_period(cls.year_id, cls, today)
        return self.render_template("consent/paper.html", students=students, classes=classes, class_id=class_id,
                                    reasons=paper_reasons([s.id for s in students], today), sections=SECTIONS,
                                    periods={s.id: periods.get(s.class_unit_id) for s in students})

    @expose("/students")
    @has_access
    def students(self):
        """JSON for the forms' student picker: current students whose surname starts with `q`."""
        scope = current_scope()
        found = search_students(request.args.get("q", ""), None if scope.everything else scope.school_id,
                                families_clause(scope))
        return jsonify({"results": [{"id": s.id, "text": student_label(s)} for s in found]})

    @expose("/guardians")
    @has_access
    def guardians(self):
        """JSON for the forms' representative picker: the legal representatives of `student_id` only."""
        student = self._student(id_arg(request.args, "student_id", required=True))
        return jsonify({"results": [{"id": link.guardian_id, "text": f"{link.guardian.full_name} ({link.relation})"}
                                    for link in representatives(student.id)]})

    @expose("/history/<int:student_id>")
    @has_access
    def history(self, student_id: int):
        """A student's family: every decision (newest first, the first one decides), representatives and
        their contacts."""
        student = self._student(student_id)
        links = representatives(student.id)
        contacts = db.session.scalars(select(ContactPoint).where(ContactPoint.guardian_id.in_(
            [link.guardian_id for link in links] or [0])).order_by(ContactPoint.guardian_id, ContactPoint.id)).all()
        return self.render_template("consent/history.html", student=student, decisions=consent_history(student.id),
                                    links=links, contacts=contacts, standing=status_of(student.id),
                                    enum_label=enum_label, student_label=student_label)

    def _student(self, student_id: int | None) -> Student:
        """The student whose family the user reads; 404 for any other."""
        clause = families_clause(current_scope())
        query = select(Student).where(Student.id == (student_id or 0))
        student = db.session.scalar(query if clause is None else query.where(clause))
        if student is None:
            abort(404)
        return student

    @expose("/history.csv")
    @has_access
    def history_csv(self):
        """The whole consent history (superseded decisions included) as CSV."""
        query = select(Consent).order_by(Consent.decided_on, Consent.id)
        clause = visible_clause(Consent, current_scope())
        rows = [[c.id, c.student.full_name, c.student.class_unit or "", c.guardian.full_name, c.decision.value,
                 c.decided_on.isoformat(), c.document_kind.value, c.document_number,
                 c.document_date.isoformat() if c.document_date else "", c.electronic_document_id,
                 c.authority_basis, c.recorded_by, c.recorded_at.isoformat() if c.recorded_at else ""]
                for c in db.session.scalars(query if clause is None else query.where(clause))]
        header = [_("Consent CSV: id"), _("Consent CSV: student"),
                  _("Consent CSV: class"), _("Consent CSV: legal representative"),
                  _("Consent CSV: decision"), _("Consent CSV: date of decision"),
                  _("Consent CSV: document"), _("Consent CSV: number"),
                  _("Consent CSV: date of document"), _("Consent CSV: electronic document"),
                  _("Consent CSV: basis of authority"), _("Consent CSV: recorded by"),
                  _("Consent CSV: recorded at")]
        return csv_response(header, rows, str(_l("Consent history")) + ".csv")


class AuditExportView(BaseView):
    """CSV of the audit trail, filtered by ?username=&entity=&from=&to= (dates YYYY-MM-DD)."""

    route_base = "/audit"
    class_permission_name = p.RESOURCE_AUDIT
    method_permission_name = {"export_csv": p.ACTION_READ}
    base_permissions = [p.CAN_READ]

    @expose("/export.csv")
    @has_access
    def export_csv(self):
        """The filtered trail as CSV."""
        query = select(AuditEvent).order_by(AuditEvent.id)
        clause = visible_clause(AuditEvent, current_scope())
        if clause is not None:
            query = query.where(clause)
        for name, column in (("username", AuditEvent.username), ("entity", AuditEvent.entity)):
            if request.args.get(name):
                refused = problem(column.type, request.args[name], lengths=False)  # NUL: PostgreSQL's 500
                if refused:
                    raise RuleViolation(refused(field_label(name)), name)
                query = query.where(column == request.args[name])
        if _day("from"):
            query = query.where(AuditEvent.at >= dt.datetime.combine(_day("from"), dt.time.min))
        if _day("to"):
            query = query.where(AuditEvent.at <= dt.datetime.combine(_day("to"), dt.time.max))
        rows = [[e.id, e.at.isoformat(), e.username, e.entity, e.entity_id, e.action, _json(e.before), _json(e.after),
                 e.hash] for e in db.session.scalars(query)]
        return csv_response(["id", "когда", "кто", "сущность", "запись", "действие", "до", "после", "хеш"], rows,
                            str(_l("Audit trail")) + ".csv")
