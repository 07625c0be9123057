"""Guards every write: the row stays in the user's school, links only to visible rows, obeys the rules.

Base filters hide rows from list/show/edit/delete; add forms and API posts are closed here, the
same way for the UI and the REST API.
"""
from flask_appbuilder import Model
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, inspect, select

from app.extensions import db
from app.models import School
from app.security.scope import Scope, current_scope, is_visible
from app.services import freeze, structure, timetable_clashes
from app.services.authorship import check_authorship
from app.services.errors import RuleViolation
from app.services.stored_values import check_row


def _check_links(item, scope: Scope) -> None:
    for rel in inspect(type(item)).relationships:
        if rel.direction.name == "ONETOMANY":
            continue
        value = getattr(item, rel.key)
        for obj in value if rel.uselist else [value]:
            if obj is not None and hasattr(obj, "id") and obj.id is not None and not is_visible(obj, scope):
                # Named by the id the user gave, never by the row's text: a body naming a hidden row
                # must not tell whose it is (a student's or a teacher's name of another class or school).
                raise RuleViolation(_l("«%(obj)s» is not available to you.", obj=f"#{obj.id}"), rel.key)


def _school_of_links(item) -> int | None:
    """The school of the first related school-owned row (lets the admin skip the school field)."""
    for rel in inspect(type(item)).relationships:
        value = getattr(item, rel.key) if not rel.uselist else None
        if rel.key != "school" and getattr(value, "school_id", None):
            return value.school_id
    return None


def check_write(item, scope: Scope | None = None) -> None:
    """Raise RuleViolation unless the scope may save this row as it now stands."""
    with db.session.no_autoflush:
        changed_only = inspect(item).persistent
        check_row(item, changed_only, lengths=False)  # the rules below compare typed values…
        scope = scope or current_scope()
        if isinstance(item, School):
            if not scope.everything and (item.id is None or item.id != scope.school_id):
                raise RuleViolation(_l("Only the deployment administrator adds schools."))
        elif hasattr(item, "school_id"):
            if getattr(item, "school", None) is not None:
                item.school_id = item.school.id
            if item.school_id is None and scope.everything:
                item.school_id = _school_of_links(item)
            if not scope.everything:
                if item.school_id is None:
                    item.school_id = scope.school_id
                    item.school = db.session.get(School, scope.school_id)
                if item.school_id != scope.school_id:
                    raise RuleViolation(_l("The record belongs to another school."), "school")
            if item.school_id is None:
                raise RuleViolation(_l("Choose the school."), "school")
        _check_links(item, scope)
        check_authorship(item, scope)
        structure.validate(item)
        check_row(item, changed_only)  # …and tell a wrong letter better than a length would
        freeze.refuse_frozen(db.session, [item])
        timetable_clashes.refuse_clashes_of(db.session, item)


def check_delete(item, scope: Scope | None = None) -> None:
    """Raise RuleViolation unless the scope may delete this row: a school only the deployment admin.

    (Rows outside the scope never get here: the base filters answer 404 first.)
    """
    scope = scope or current_scope()
    if isinstance(item, School) and not scope.everything:
        raise RuleViolation(_l("The record is not available to you."))
    check_authorship(item, scope, deleting=True)
    freeze.refuse_frozen(db.session, [item], deleted=[item])
    used = _references(item)
    if used:
        from app.views.labels import table_label  # the menu's names (app.views imports this module)

        raise RuleViolation(_l("The record is still used (%(uses)s): delete or change those rows first.",
                               uses=", ".join(f"{table_label(name)}: {count}" for name, count in used)))


def _references(item) -> list[tuple[str, int]]:
    """Tables whose rows still point at `item` and would be left pointing at nothing: foreign keys the
    database does not follow (no ON DELETE CASCADE/SET NULL) and the ORM does not delete along.
    PostgreSQL refuses such a delete with a raw error; SQLite (no foreign key enforcement) deleted the
    row and left the others orphaned, and pages and APIs reading them then failed (found by
    tests/test_api_fuzz.py)."""
    mapper = inspect(type(item))
    along = {col for rel in mapper.relationships if rel.cascade.delete for col in rel.remote_side}
    along |= {col for rel in mapper.relationships if rel.secondary is not None for col in rel.secondary.columns}
    found = []
    for table in Model.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table is not mapper.local_table or fk.parent in along or fk.parent is fk.column \
                    or (fk.ondelete or "").upper() in FOLLOWED_BY_DATABASE:
                continue
            value = getattr(item, mapper.get_property_by_column(fk.column).key)
            count = db.session.scalar(select(func.count()).select_from(table).where(fk.parent == value))
            if count:
                found.append((table.name, count))
    return found


FOLLOWED_BY_DATABASE = {"CASCADE", "SET NULL", "SET DEFAULT"}


def guarded(item, scope: Scope | None = None, then=None) -> None:
    """check_write (and then `then(item)`), undoing the unsaved changes if either fails."""
    try:
        check_write(item, scope)
        if then is not None:
            then(item)
    except RuleViolation:
        db.session.rollback()
        raise
