"""The base of every entity REST API: same permissions, scope and guard as the views.

Bad input answers 4xx and changes nothing (found by fuzzing the OpenAPI, tests/test_api_fuzz.py):
ids in URLs and bodies are positive integers within PostgreSQL's `integer`, related ids must name an
existing row (marshmallow-sqlalchemy would otherwise build a new related row from an unknown id),
numbers fit their columns, text has no NUL characters, and a constraint the database still refuses
is a 422, not FAB's 500.
"""
from flask import request
from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.api.convert import Model2SchemaConverter
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate
from marshmallow_sqlalchemy import field_for
from marshmallow_sqlalchemy.fields import Related
from sqlalchemy import Integer, Numeric, String, Text, inspect
from sqlalchemy.exc import DataError, ProgrammingError, SQLAlchemyError

from app.extensions import db
from app.security.filters import BAD_FILTER, SCOPE_FILTERS, ScopedInterface
from app.security.guard import check_delete, guarded
from app.security.permissions import API_METHOD_ACTIONS
from app.services.errors import RuleViolation
from app.services.params import INT_MAX, INT_MIN, NOT_AN_OBJECT, json_id
from app.views.labels import LABELS


class ExistingRelated(Related):
    """A many-to-one field written as the id of an existing row; an unknown or malformed id is a
    validation error (422) instead of a new related row built from it. The OpenAPI says integer."""

    def _deserialize(self, value, *args, **kwargs):
        pk = json_id(value)
        if pk is None:
            raise ValidationError(str(_l("Expected the id of a record: a whole number from 1 to %(max)s.",
                                         max=INT_MAX)))
        obj = self.session.get(self.related_model, pk)
        if obj is None:
            raise ValidationError(str(_l("No record with id %(id)s.", id=pk)))
        return obj


class NumberDecimal(fields.Decimal):
    """A Numeric column read and written as a JSON number, as the OpenAPI says (FAB's JSON answers
    marshmallow's Decimal as a string)."""

    def _serialize(self, value, attr, obj, **kwargs):
        value = super()._serialize(value, attr, obj, **kwargs)
        return None if value is None else float(value)


def _fits(bound: int):
    """|value| < bound, as a Numeric(p, s) column holds (a plain callable: apispec would print a Range
    on a Decimal field as strings)."""

    def check(value) -> bool:
        if value is not None and not -bound < value < bound:
            raise ValidationError(str(_l("The number must be between %(low)s and %(high)s.", low=-bound, high=bound)))
        return True

    return check


def _no_nul(value) -> bool:
    if isinstance(value, str) and "\x00" in value:
        raise ValidationError(str(_l("Text must not contain NUL characters.")))
    return True


class SchoolSchemaConverter(Model2SchemaConverter):
    """FAB's converter with the checks above on written fields, and optional relations shown as
    nullable in the OpenAPI (FAB's nested fields never allow null)."""

    def _column2relation(self, datamodel, column, nested=False, parent_schema_name=None):
        field = super()._column2relation(datamodel, column, nested=nested, parent_schema_name=parent_schema_name)
        if nested:
            field.allow_none = not field.required
        elif datamodel.is_relation_many_to_one(column.name):
            field = field_for(datamodel.obj, column.name, field_class=ExistingRelated,
                              metadata={"type": "integer", "minimum": 1, "maximum": INT_MAX})
            field.required = not datamodel.is_nullable(column.name)
        return field

    def _column2field(self, datamodel, column, nested=True, parent_schema_name=None):
        field = super()._column2field(datamodel, column, nested=nested, parent_schema_name=parent_schema_name)
        sql_column = datamodel.list_columns.get(column.name)
        kind = getattr(sql_column, "type", None)
        extra = []
        if isinstance(field, fields.Integer) and isinstance(kind, Integer):
            extra.append(validate.Range(INT_MIN, INT_MAX))
        elif isinstance(field, fields.Decimal) and isinstance(kind, Numeric):
            field = field_for(datamodel.obj, column.name, field_class=NumberDecimal)
            if kind.precision:
                extra.append(_fits(10 ** (kind.precision - (kind.scale or 0))))
        elif isinstance(field, fields.String) and isinstance(kind, (String, Text)):
            extra.append(_no_nul)
        if extra:
            field.validators = [*field.validators, *extra]
        return field


class SchoolModelApi(ModelRestApi):
    """ModelRestApi with the row-level scope; rule violations answer 422 with the message."""

    method_permission_name = API_METHOD_ACTIONS
    model2schemaconverter = SchoolSchemaConverter
    base_filters = SCOPE_FILTERS
    allow_browser_login = True
    after_guard = None

    def pre_add(self, item):
        """Guard the row as the views do."""
        guarded(item, then=self.after_guard)

    def pre_update(self, item):
        """Guard the row as the views do."""
        guarded(item, then=self.after_guard)

    def post_headless(self):
        """Create; a broken rule is a 422 with its message, nothing saved."""
        try:
            return super().post_headless()
        except RuleViolation as err:
            return self.response_422(message=err.message)
        except SQLAlchemyError as err:  # FAB's `add` re-raises these (edit and delete answer 422)
            db.session.rollback()
            return self.response_422(message=refused_by_database(err))

    def put_headless(self, pk):
        """Update; a broken rule is a 422 with its message, nothing saved. A body that is no JSON object
        is a 400 (FAB's merge of the item read it as a dict: a 500, found by tests/test_route_fuzz.py)."""
        if request.is_json and not isinstance(request.get_json(silent=True), dict):
            return self.response_400(message=str(NOT_AN_OBJECT))
        try:
            return super().put_headless(pk)
        except RuleViolation as err:
            return self.response_422(message=err.message)

    def get_list_headless(self, **kwargs):
        """List; a `page` that is no page is a 400 (below 0 PostgreSQL refuses the OFFSET: a 500), and so
        is a filter FAB cannot apply to its column (a number for a text filter, a number beyond the
        column: FAB hands them to Python or the database as they are, a 500)."""
        bad = _bad_page(self, kwargs.get("rison", {}).get("page"))
        if bad:
            return bad
        try:
            return super().get_list_headless(**kwargs)
        except (RuleViolation, TypeError, OverflowError, DataError, ProgrammingError):
            db.session.rollback()
            return self.response_400(message=str(BAD_FILTER))

    def info_headless(self, **kwargs):
        """_info; the same for the pages of the related fields' choices."""
        rison = kwargs.get("rison", {})
        for key in ("add_columns", "edit_columns"):
            for col_args in (rison.get(key) or {}).values():
                bad = _bad_page(self, col_args.get("page") if isinstance(col_args, dict) else None)
                if bad:
                    return bad
        return super().info_headless(**kwargs)

    def _get_field_info(self, field, filter_rel_field, page=None, page_size=None):
        """`_info` of a field. FAB translates an empty description with gettext(""), which answers the
        catalogue's header: blank it; our relation field keeps FAB's type name for clients."""
        info = super()._get_field_info(field, filter_rel_field, page=page, page_size=page_size)
        if not self.description_columns.get(field.name):
            info["description"] = ""
        if isinstance(field, ExistingRelated):
            info["type"] = Related.__name__
        elif isinstance(field, NumberDecimal):
            info["type"] = fields.Decimal.__name__
        return info

    def pre_delete(self, item):
        """Only the deployment admin deletes a school."""
        check_delete(item)

    def delete_headless(self, pk):
        """Delete; a refused deletion is a 422 with its message, nothing removed."""
        try:
            return super().delete_headless(pk)
        except RuleViolation as err:
            return self.response_422(message=err.message)


def _bad_page(api: ModelRestApi, page):
    """The 400 of a page number outside 0…INT_MAX (None when absent or fine)."""
    if page is None or (isinstance(page, int) and not isinstance(page, bool) and 0 <= page <= INT_MAX):
        return None
    message = _l("The parameter page must be a whole number from 0 to %(max)s.", max=INT_MAX)
    return api.response_400(message=str(message))


def refused_by_database(err: SQLAlchemyError) -> str:
    """The message of a write the database refused (a constraint the rules did not catch first)."""
    return str(_l("The database refused the record: %(reason)s", reason=str(getattr(err, "orig", err)).split("\n")[0]))


def make_api(model, resource: str, name: str, columns: list[str], after_guard=None) -> type:
    """Build the API class of one entity: relation columns are read as `rel.id` and written as ids."""
    mapper = inspect(model)
    relations = {r.key for r in mapper.relationships}
    shown = ["id"] + [f"{c}.id" if c in relations else c for c in columns]
    attrs = {
        "datamodel": ScopedInterface(model),
        "resource_name": name,
        "class_permission_name": resource,
        "list_columns": shown,
        "show_columns": shown,
        "add_columns": columns,
        "edit_columns": columns,
        "label_columns": {k: v for k, v in LABELS.items() if k in columns},
        # `_info` lists the choices of related fields: only rows the user may see.
        "add_query_rel_fields": {c: SCOPE_FILTERS for c in columns if c in relations},
        "edit_query_rel_fields": {c: SCOPE_FILTERS for c in columns if c in relations},
        "after_guard": staticmethod(after_guard) if after_guard else None,
        "__doc__": f"REST API of {model.__name__}.",
    }
    return type(f"{model.__name__}Api", (SchoolModelApi,), attrs)
