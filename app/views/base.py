"""The base of every data view: permissions by resource, row-level scope, guarded writes."""
import re

from flask import abort, current_app, flash, jsonify, redirect, render_template, request
from flask_appbuilder import ModelView
from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.fieldwidgets import DatePickerWidget
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from wtforms import DateField, SelectField
from wtforms.fields.core import UnboundField
from wtforms.validators import DataRequired, Optional
from wtforms.widgets import html_params

from app.extensions import db
from app.models import School
from app.security.filters import SCOPE_FILTERS, ScopedInterface
from app.security.guard import check_delete, guarded
from app.security.permissions import VIEW_METHOD_ACTIONS
from app.security.scope import current_scope, is_visible, visible_clause
from app.services.errors import RuleViolation
from app.services.params import INT_MAX, as_id, id_arg
from app.views.display import formatted
from app.views.labels import LABELS, enum_label


def int_arg(name: str, source=None) -> int:
    """The id given as parameter `name` of the request (or of a form or JSON body); a clear error otherwise."""
    return id_arg(request.args if source is None else source, name, required=True)



class SchoolModelView(ModelView):
    """A ModelView whose rows, related choices and writes all follow the user's scope.

    Subclasses set `model` and `resource`; permissions are `can_read`/`can_write` on the resource.
    """

    model = None
    resource = None
    method_permission_name = VIEW_METHOD_ACTIONS
    base_filters = SCOPE_FILTERS
    page_size = 50
    add_title = _l("Add a record")
    edit_title = _l("Edit the record")
    show_title = _l("Record")
    enum_exclude: dict = {}
    formatters_columns = {c: enum_label for c in ("kind", "period_kind", "lesson_type", "status", "code")}

    def __init__(self, **kwargs):
        self.datamodel = ScopedInterface(self.model)
        self.class_permission_name = self.resource
        self.label_columns = {**LABELS, **(self.label_columns or {})}
        self._scope_related_choices()
        self._optional_school_field()
        self._translated_enum_fields()
        super().__init__(**kwargs)
        self._readable_values()
        self._school_form_fields()

    def _translated_enum_fields(self) -> None:
        """Enum columns get a select with translated names (FAB's enum field shows raw values)."""
        for cols, attr in ((self.add_columns, "add_form_extra_fields"), (self.edit_columns, "edit_form_extra_fields")):
            extra = dict(getattr(self, attr) or {})
            for col in cols or []:
                if col not in extra and self.datamodel.is_enum(col):
                    enum_class = self.datamodel.list_columns[col].type.enum_class
                    extra[col] = enum_field(self.label_columns.get(col, col), enum_class,
                                            exclude=self.enum_exclude.get(col, ()))
            setattr(self, attr, extra)

    def _readable_values(self) -> None:
        """Every listed and shown column reads as the school writes it (dates, Да/Нет, enum names, no None)."""
        own = dict(self.formatters_columns or {})
        columns = {*(self.list_columns or []), *(self.show_columns or []), *own}
        self.formatters_columns = {col: formatted(own.get(col), self._enum_class(col)) for col in columns}

    def _enum_class(self, col: str):
        """The enum of an enum column (FAB hands formatters its stored value, not the member)."""
        column = self.datamodel.list_columns.get(col)
        return getattr(getattr(column, "type", None), "enum_class", None) if self.datamodel.is_enum(col) else None

    def _school_form_fields(self) -> None:
        """An optional picker's empty choice reads «— не выбрано —» (FAB showed its value, `__None`); a date
        field shows and reads дд.мм.гггг (and still reads YYYY-MM-DD, as typed by scripts and older tests)."""
        for form in (self.add_form, self.edit_form):
            for name in dir(form):
                field = getattr(form, name, None)
                if not isinstance(field, UnboundField):
                    continue
                if field.kwargs.get("allow_blank") and not field.kwargs.get("blank_text"):
                    field.kwargs["blank_text"] = NOT_CHOSEN
                if field.field_class is DateField:
                    field.kwargs.update(format=DATE_FORMATS, widget=SchoolDatePicker())

    def _optional_school_field(self) -> None:
        """The school defaults to the user's own; only the deployment admin needs to choose."""
        if "school" not in (self.add_columns or []):
            return
        field = QuerySelectField(
            LABELS["school"], query_func=visible_schools, get_pk_func=lambda s: s.id, allow_blank=True,
            blank_text=_l("— your school —"), validators=[Optional()],
        )
        self.add_form_extra_fields = {"school": field, **(self.add_form_extra_fields or {})}
        self.edit_form_extra_fields = {"school": field, **(self.edit_form_extra_fields or {})}

    def _scope_related_choices(self) -> None:
        """Offer in add/edit/search forms only the related rows the user may see."""
        for cols, attr in ((self.add_columns or self.edit_columns, "add_form_query_rel_fields"),
                           (self.edit_columns or self.add_columns, "edit_form_query_rel_fields")):
            rel = dict(getattr(self, attr) or {})
            for col in cols or []:
                if self.datamodel.is_relation(col):
                    rel.setdefault(col, SCOPE_FILTERS)
            setattr(self, attr, rel)
        # The list's search form offers related rows too (every relation is searchable by default).
        search = dict(self.search_form_query_rel_fields or {})
        for col in self.datamodel.get_columns_list():
            if self.datamodel.is_relation(col):
                search.setdefault(col, SCOPE_FILTERS)
        self.search_form_query_rel_fields = search

    def _add(self):
        """FAB's add, except that a broken rule re-shows the form with what was typed and the message."""
        if request.method != "POST":
            return super()._add()
        form = self.add_form.refresh()
        if not form.validate():
            return self._get_add_widget(form=form)
        self.process_form(form, True)
        item = self.datamodel.obj()
        try:
            form.populate_obj(item)
            self.pre_add(item)
        except RuleViolation as err:
            flash(err.message, "danger")
            return self._get_add_widget(form=form)
        try:
            self.datamodel.add(item)
        except (RuleViolation, SQLAlchemyError) as err:
            db.session.rollback()
            flash(getattr(err, "message", None) or str(SAVE_FAILED), "danger")
            return self._get_add_widget(form=form)
        self.post_add(item)
        flash(str(self.add_row_message), "success")
        return None

    def pre_add(self, item):
        """Refuse rows outside the user's school, links to hidden rows and rule violations."""
        guarded(item)

    def pre_update(self, item):
        """The same guard as for adding."""
        guarded(item)

    def pre_delete(self, item):
        """Only the deployment admin deletes a school (FAB flashes the refusal)."""
        check_delete(item)

    def visible_only(self, items):
        """Actions receive rows by id without base filters: keep only the visible ones."""
        scope = current_scope()
        items = items if isinstance(items, list) else [items]
        return [i for i in items if i is not None and is_visible(i, scope)]

    def back_with(self, message, category: str = "success"):
        """Flash a message and return to the list."""
        flash(str(message), category)
        return redirect(self.get_redirect())


def refuse_unknown_actions() -> None:
    """An unknown action name, or a row that does not exist, is a 404. FAB's ModelView.action and
    action_post look the action up without checking that it exists, so `POST /<view>/action/<name>/<pk>`
    (or `action=<name>` to action_post) with a name the view lacks raised AttributeError, a 500, for
    anyone, on every model view, before any permission check (found by tests/test_tampering.py); and an
    action hands the row it did not find to its function (a 500, found by tests/test_route_fuzz.py)."""

    @current_app.before_request
    def _unknown_action():
        blueprint, _, method = (request.endpoint or "").partition(".")
        if method not in ("action", "action_post"):
            return
        view = next((v for v in current_app.appbuilder.baseviews
                     if isinstance(v, ModelView) and v.endpoint == blueprint), None)
        name = (request.view_args or {}).get("name") if method == "action" else request.form.get("action")
        if view is not None and name not in view.actions:
            abort(404)
        if view is not None and method == "action":  # FAB's actions take the row as found: None was a 500
            pk = as_id((request.view_args or {}).get("pk"))
            if pk is None or view.datamodel.get(pk) is None:
                abort(404)


def refuse_impossible_ids() -> None:
    """On the pages (FAB's user and role screens and its password reset's `?pk=` too), a pk no row can have
    is a 404 before FAB hands it to the database (an overflow or type error, a 500), and so is FAB's file
    download (no model has file columns; without UPLOAD_FOLDER it was a 500). The REST API answers its
    own JSON 404s."""

    @current_app.before_request
    def _impossible_id():
        if request.path.startswith("/api/"):
            return
        pk = (request.view_args or {}).get("pk", request.args.get("pk"))  # FAB's reset password: ?pk=
        if (request.endpoint or "").endswith(".download") or (pk is not None and as_id(pk) is None):
            abort(404)


_LIST_NUMBERS = re.compile(r"(page|psize)_.")


def refuse_bad_list_arguments() -> None:
    """A FAB list's page number and page size (`page_<View>`, `psize_<View>`) are whole numbers and its
    order (`_oc_<View>`) one of its sortable columns: FAB reads the numbers with int() before anything
    else (a word was a ValueError, a huge number an overflow) and hands the order to the database as
    SQL text: each was a 500 on every list (found by tests/test_route_fuzz.py)."""

    @current_app.before_request
    def _list_numbers():
        if request.path.startswith("/api/"):
            return
        for key in request.args:
            value = request.args.get(key, "").strip()
            if _LIST_NUMBERS.match(key) and not (value.isdigit() and len(value) <= 10 and int(value) <= INT_MAX):
                raise RuleViolation(_l("The page number and the page size must be whole numbers from 0 to "
                                       "%(max)s.", max=INT_MAX), key)
            if key.startswith("_oc_") and value not in _order_columns(key[4:]):
                raise RuleViolation(_l("The list cannot be sorted by «%(column)s».", column=value[:40]), key)


def _order_columns(view_name: str) -> list[str]:
    """The sortable columns of the list view of that class name (any value when there is none: FAB
    ignores the argument then)."""
    for view in current_app.appbuilder.baseviews:
        if type(view).__name__ == view_name and hasattr(view, "order_columns"):
            return view.order_columns
    return _ANY


class _Anything(list):
    def __contains__(self, _item) -> bool:
        return True


_ANY = _Anything()


def answer_rule_violations() -> None:
    """A broken rule that no view caught (a list filter whose value does not suit its column, read deep
    inside FAB's list) is a 400 with its message: JSON for the API and JSON requests, a page otherwise.
    The request's unsaved changes are dropped."""

    @current_app.errorhandler(RuleViolation)
    def _bad_request(err: RuleViolation):
        db.session.rollback()
        if request.path.startswith("/api/") or request.is_json:
            return jsonify(message=err.message), 400
        appbuilder = current_app.appbuilder
        return render_template("bad_request.html", message=err.message, appbuilder=appbuilder,
                               base_template=appbuilder.base_template), 400


NOT_CHOSEN = _l("— not chosen —")
DATE_FORMATS = ["%d.%m.%Y", "%Y-%m-%d"]  # the first is how a form shows a date


class SchoolDatePicker(DatePickerWidget):
    """FAB's date picker, showing the field's value in its format (FAB's wrote the date as ISO)."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("name", field.name)
        params = html_params(type="text", value=field._value(), **kwargs).replace(
            'type="text"', 'type="text" data-format="dd.MM.yyyy"', 1)
        return Markup(self.data_template.replace(' data-format="yyyy-MM-dd"', "") % {"text": params})


SAVE_FAILED = _l("The record could not be saved: it conflicts with another one. Check the fields and try again.")


def visible_schools():
    """Schools the current user may put rows in."""
    query = select(School).order_by(School.short_name)
    clause = visible_clause(School, current_scope())
    return db.session.scalars(query if clause is None else query.where(clause)).all()


def enum_field(label, enum_class, exclude=()) -> SelectField:
    """A required select of an enum's members with their translated names."""
    members = [m for m in enum_class if m not in exclude]
    return SelectField(label, choices=[(m.value, enum_label(m)) for m in members],
                       coerce=lambda v: enum_class(v) if v else None, validators=[DataRequired()])


def pin_form_columns(appbuilder) -> None:
    """Give every plain form view (FAB's reset-password and user-info forms included) its field list
    up front. FAB otherwise takes it from the first form it builds, CSRF field and all, and a form built
    later without CSRF (tests, or CSRF switched off) fails to render."""
    from flask_appbuilder.baseviews import BaseFormView
    from wtforms.fields.core import UnboundField

    for view in appbuilder.baseviews:
        if isinstance(view, BaseFormView) and view.form is not None and not view.form_columns \
                and not view.form_fieldsets:
            fields = [(f.creation_counter, name) for name in dir(view.form)
                      if isinstance(f := getattr(view.form, name, None), UnboundField)]
            view.form_columns = [name for _, name in sorted(fields)]
