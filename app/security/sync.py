"""Sync roles and their permissions from the role table in code (idempotent)."""
from flask import current_app

from app.extensions import db
from app.security.permissions import MENU_ACCESS
from app.security.roles import ROLE_ADMIN, ROLE_PERMISSIONS


def menu_grants(grants: set[tuple[str, str]], menus: list[tuple[str, str | None, str]]) -> set[tuple[str, str]]:
    """Menu entries (and their categories) whose resource the role may read."""
    readable = {resource for perm, resource in grants if perm == "can_read"}
    out = set()
    for name, category, resource in menus:
        if resource in readable:
            out.add((MENU_ACCESS, name))
            if category:
                out.add((MENU_ACCESS, category))
    return out


def sync_roles(menus: list[tuple[str, str | None, str]]) -> dict[str, int]:
    """Create every role and set exactly its permissions; returns permissions per role."""
    appbuilder = current_app.appbuilder
    sm = appbuilder.sm
    for role_name in ROLE_PERMISSIONS:
        sm.find_role(role_name) or sm.add_role(role_name)
    appbuilder.add_permissions(update_perms=True)
    known = {(pv.permission.name, pv.view_menu.name): pv for pv in db.session.query(sm.permissionview_model)}
    counts = {}
    for role_name, grants in ROLE_PERMISSIONS.items():
        role = sm.find_role(role_name)
        wanted = grants | menu_grants(grants, menus)
        wanted_pvs = {known.get(grant) or sm.add_permission_view_menu(*grant) for grant in wanted}
        if role_name != ROLE_ADMIN:
            for pv in list(role.permissions):
                if pv not in wanted_pvs:
                    sm.del_permission_role(role, pv)
        # One commit per role: FAB's add_permission_role commits each grant and then reloads the role's
        # whole collection (700 grants cost ~3 s at every `school init`, i.e. every test worker's start).
        held = set(role.permissions)
        role.permissions.extend(pv for pv in wanted_pvs if pv not in held)
        db.session.commit()
        counts[role_name] = len(role.permissions)
    return counts
