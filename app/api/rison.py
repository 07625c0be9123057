"""FAB's `@rison` checks each request's `q` argument with `jsonschema.validate`, which first validates the
schema itself against the JSON Schema meta-schema: every REST GET paid that (~15 % of a small one's server
time). FAB's api module gets a stand-in for jsonschema whose `validate` checks each schema once per process
and keeps its validator; the errors raised are jsonschema's own, as before."""
import jsonschema
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for


class CheckedSchemas:
    """`jsonschema` as FAB's api module uses it, with one validator kept per schema."""

    ValidationError = jsonschema.ValidationError

    def __init__(self):
        self.validators: dict[int, tuple[dict, object]] = {}  # id(schema) → (schema, its validator)

    def __getattr__(self, name: str):
        return getattr(jsonschema, name)

    def validate(self, instance, schema, cls=None, *args, **kwargs) -> None:
        """jsonschema.validate, the schema checked at its first use only (FAB's schemas are constants)."""
        if cls is not None or args or kwargs:
            return jsonschema.validate(instance, schema, cls, *args, **kwargs)
        kept = self.validators.get(id(schema))
        if kept is None or kept[0] is not schema:
            kind = validator_for(schema)
            kind.check_schema(schema)
            kept = self.validators[id(schema)] = (schema, kind(schema))  # the schema kept: its id stays its own
        error = best_match(kept[1].iter_errors(instance))
        if error is not None:
            raise error
        return None


def install() -> None:
    """FAB's `@rison` validates through the kept validators."""
    import flask_appbuilder.api as fab_api

    if not isinstance(fab_api.jsonschema, CheckedSchemas):
        fab_api.jsonschema = CheckedSchemas()
