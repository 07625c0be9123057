"""The (permission, view) pairs that roles hold, read once per request.

FAB asks the database once per permission check, and every page checks one per navbar item (the journal
grid: 42 of its 61 statements). Here a signed-in request reads the grants of the user's roles (own and their
groups') and of the public role inside the one statement that reads the user (`user_columns`, used by
app/security/sessions.user_and_epoch); an anonymous request reads the public role's by name in one; every
further check is answered from memory. A flush that changes a
role, a permission or a view (FAB's role pages, the role sync, a test) forgets what was read, and so does
a rollback after such a flush: the next check reads the database again, as FAB would.

Outside a request (CLI, jobs) nothing is kept: the callers fall back to FAB's own queries.
"""
from itertools import chain

from flask import has_request_context, request
from flask_appbuilder.security.sqla.models import (
    Permission,
    PermissionView,
    Role,
    ViewMenu,
    assoc_group_role,
    assoc_permissionview_role,
    assoc_user_group,
    assoc_user_role,
)
from sqlalchemy import String, cast, event, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import aggregate_strings

Grants = frozenset[tuple[str, str]]

_KEY = "school.grants"  # request.environ: lives exactly as long as the request, even in a reused app context
_CHANGED = "school.grants.changed"
_BY_ROLE = "by role"  # in the cache: {role id: its pairs} of the roles read with the user
_SECURITY_MODELS = (Role, PermissionView, Permission, ViewMenu)
_FIELD, _LINE = "\t", "\n"  # names of permissions and views hold neither


def _cache() -> dict | None:
    return request.environ.setdefault(_KEY, {}) if has_request_context() else None


def _pairs(session: Session, *where) -> Grants:
    rows = session.execute(
        select(Permission.name, ViewMenu.name)
        .select_from(PermissionView)
        .join(Permission, PermissionView.permission_id == Permission.id)
        .join(ViewMenu, PermissionView.view_menu_id == ViewMenu.id)
        .join(assoc_permissionview_role, assoc_permissionview_role.c.permission_view_id == PermissionView.id)
        .where(*where)
    )
    return frozenset((permission, view) for permission, view in rows)


def of_roles(session: Session, role_ids) -> Grants | None:
    """Every pair any of these roles holds; None outside a request (ask FAB)."""
    cache = _cache()
    if cache is None:
        return None
    key = frozenset(role_ids)
    by_role = cache.get(_BY_ROLE, {})
    if key not in cache and key <= by_role.keys():
        cache[key] = frozenset().union(*(by_role[role_id] for role_id in key))
    if key not in cache:
        cache[key] = _pairs(session, assoc_permissionview_role.c.role_id.in_(sorted(key))) if key else frozenset()
    return cache[key]


def public(session: Session, role_name: str) -> tuple[int | None, Grants] | None:
    """The public role's id (None: no such role) and every pair it holds, in one statement; None outside a
    request (ask FAB). Its grants are also those of the role set {its id}."""
    cache = _cache()
    if cache is None:
        return None
    key = ("public", role_name)
    if key not in cache:
        rows = session.execute(
            select(Role.id, Permission.name, ViewMenu.name)
            .outerjoin(assoc_permissionview_role, assoc_permissionview_role.c.role_id == Role.id)
            .outerjoin(PermissionView, PermissionView.id == assoc_permissionview_role.c.permission_view_id)
            .outerjoin(Permission, PermissionView.permission_id == Permission.id)
            .outerjoin(ViewMenu, PermissionView.view_menu_id == ViewMenu.id)
            .where(Role.name == role_name)
        ).all()
        role_id = rows[0][0] if rows else None
        pairs = frozenset((permission, view) for _id, permission, view in rows if permission and view)
        cache[key] = (role_id, pairs)
        if role_id is not None:
            cache.setdefault(frozenset([role_id]), pairs)
    return cache[key]


def user_columns(user_id, public_role) -> tuple:
    """Two columns for the statement that reads the user: the public role's id, and every grant of the
    user's roles (own and their groups') and of the public role as `role id TAB permission TAB view` lines.
    Neither depends on the statement's rows, so each is computed once per statement. The arguments are
    values or bound parameters."""
    public_id = select(Role.id).where(Role.name == public_role).scalar_subquery()
    role_id = assoc_permissionview_role.c.role_id
    own = select(assoc_user_role.c.role_id).where(assoc_user_role.c.user_id == user_id)
    of_groups = (select(assoc_group_role.c.role_id)
                 .join(assoc_user_group, assoc_user_group.c.group_id == assoc_group_role.c.group_id)
                 .where(assoc_user_group.c.user_id == user_id))
    line = cast(role_id, String) + _FIELD + Permission.name + _FIELD + ViewMenu.name
    lines = (select(aggregate_strings(line, _LINE))
             .select_from(PermissionView)
             .join(Permission, PermissionView.permission_id == Permission.id)
             .join(ViewMenu, PermissionView.view_menu_id == ViewMenu.id)
             .join(assoc_permissionview_role, assoc_permissionview_role.c.permission_view_id == PermissionView.id)
             .where(or_(role_id.in_(own), role_id.in_(of_groups), role_id == public_id)))
    return public_id, lines.scalar_subquery()


def remember(public_role: str, public_id: int | None, role_ids, lines: str | None) -> None:
    """Keep what `user_columns` read: the grants of each of `role_ids` (the user's roles, read in the same
    statement: a role without a line holds nothing) and the public role's, for this request."""
    cache = _cache()
    if cache is None:
        return
    by_role: dict[int, set] = {role_id: set() for role_id in role_ids}
    if public_id is not None:
        by_role.setdefault(public_id, set())
    for found in (lines or "").split(_LINE):
        if found:
            role_id, permission, view = found.split(_FIELD)
            by_role.setdefault(int(role_id), set()).add((permission, view))
    kept = cache.setdefault(_BY_ROLE, {})
    kept.update((role_id, frozenset(pairs)) for role_id, pairs in by_role.items())
    pairs = kept[public_id] if public_id is not None else frozenset()
    cache.setdefault(("public", public_role), (public_id, pairs))


def public_unread(role_name: str) -> bool:
    """Whether this request has yet to read the public role's grants (False outside a request)."""
    cache = _cache()
    return cache is not None and ("public", role_name) not in cache


def forget() -> None:
    """Drop what this request read (the next check reads the database)."""
    if has_request_context():
        request.environ.pop(_KEY, None)


@event.listens_for(Session, "after_flush")
def _forget_changed_roles(session: Session, _flush_context) -> None:
    """Roles or permissions written in this request: the grants read before no longer hold."""
    if has_request_context() and any(
            isinstance(o, _SECURITY_MODELS) for o in chain(session.new, session.dirty, session.deleted)):
        forget()
        request.environ[_CHANGED] = True


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back_roles(_session: Session) -> None:
    """Grants read after such a flush may hold what was rolled back."""
    if has_request_context() and request.environ.pop(_CHANGED, False):
        forget()
