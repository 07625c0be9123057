"""Views of the consent registry (guided form, append-only), contacts, delivery preferences, the
families' standing per class, the paper-recipient list, and the auditor's trail with CSV export."""
import datetime as dt
import json

from flask import abort, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.extensions import db
from app.models import AuditEvent, ClassUnit, Consent, ContactPoint, DeliveryPreference, Student
from app.security import permissions as p
from app.security.guard import guarded
from app.security.scope import current_scope, families_clause, visible_clause
from app.services import clock
from app.services.consent import STANDARD_TEXT, class_statuses, fill_standard_text, paper_recipients, record_decision
from app.services.params import id_arg
from app.views.base import SchoolModelView
from app.views.csv_export import csv_response
from app.views.display import AUDIT_ACTIONS, machine_text, row_fields, row_fields_text
from app.views.labels import LABELS, enum_label, table_label
from app.views.list_csv import ListCsvMixin

READ_ONLY_ROUTES = {"list", "show", "download"}
SYSTEM = _l("the system")  # the author of changes made by no signed-in user (the audit service's "system")


def _standard_field(name: str, label) -> TextAreaField:
    return TextAreaField(label, default=STANDARD_TEXT[name], validators=[DataRequired()])


class ConsentView(ListCsvMixin, SchoolModelView):
    """Согласия: the registrar records decisions; nothing is ever edited or deleted."""

    model, resource = Consent, p.RESOURCE_CONSENT
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


class ContactPointView(SchoolModelView):
    model, resource = ContactPoint, p.RESOURCE_CONTACT
    list_columns = ["guardian", "kind", "value", "provenance", "document_reference", "active"]
    add_columns = edit_columns = show_columns = ["guardian", "kind", "value", "provenance", "document_reference",
                                                 "active"]
    search_columns = ["guardian", "kind", "value", "provenance"]
    formatters_columns = {**SchoolModelView.formatters_columns,  # noqa: RUF012
                          "provenance": enum_label, "kind": enum_label}
    label_columns = {"value": _l("Contact")}  # noqa: RUF012
    description_columns = {"value": _l("Phone as +7XXXXXXXXXX"),
                           "document_reference": _l("Number and date of the statement, or the e-document id")}


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
    method_permission_name = {"status": p.ACTION_READ, "paper": p.ACTION_READ, "history_csv": p.ACTION_READ}
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
        return self.render_template("consent/paper.html", students=students, classes=classes, class_id=class_id)

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
        header = ["id", "обучающийся", "класс", "законный представитель", "решение", "дата решения", "документ",
                  "номер", "дата документа", "эл. документ", "основание полномочий", "записал", "записано"]
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
        if request.args.get("username"):
            query = query.where(AuditEvent.username == request.args["username"])
        if request.args.get("entity"):
            query = query.where(AuditEvent.entity == request.args["entity"])
        if _day("from"):
            query = query.where(AuditEvent.at >= dt.datetime.combine(_day("from"), dt.time.min))
        if _day("to"):
            query = query.where(AuditEvent.at <= dt.datetime.combine(_day("to"), dt.time.max))
        rows = [[e.id, e.at.isoformat(), e.username, e.entity, e.entity_id, e.action, _json(e.before), _json(e.after),
                 e.hash] for e in db.session.scalars(query)]
        return csv_response(["id", "когда", "кто", "сущность", "запись", "действие", "до", "после", "хеш"], rows,
                            str(_l("Audit trail")) + ".csv")
