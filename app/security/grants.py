"""The (permission, view) pairs that roles hold, read once per request.

FAB asks the database once per permission check, and every page checks one per navbar item (the journal
grid: 42 of its 61 statements). Here a request reads the grants of its set of roles in one statement (the
public role's by name in one more) and answers every further check from memory. A flush that changes a
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
    assoc_permissionview_role,
)
from sqlalchemy import event, select
from sqlalchemy.orm import Session

Grants = frozenset[tuple[str, str]]

_KEY = "school.grants"  # request.environ: lives exactly as long as the request, even in a reused app context
_CHANGED = "school.grants.changed"
_SECURITY_MODELS = (Role, PermissionView, Permission, ViewMenu)


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
