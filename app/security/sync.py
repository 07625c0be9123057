"""Sync roles and their permissions from the role table in code (idempotent), set-based in one transaction:
a handful of statements read what exists, bulk statements add what is missing and delete what is obsolete.
FAB's own `add_permissions(update_perms=True)` plus a per-role sync took ~3 000 statements and ~500 commits
(most of every `school init`, i.e. every deploy and every test worker's start); the result is the same
(tests/test_role_sync.py compares both on fresh databases)."""
from flask import current_app
from sqlalchemy import delete, insert, select

from app.extensions import db
from app.security import fab_permissions as fab
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


class _Security:
    """FAB's security tables as they are now, by name (re-read after an insert)."""

    def __init__(self, sm):
        self.role, self.permission = sm.role_model.__table__, sm.permission_model.__table__
        self.view, self.pv = sm.viewmenu_model.__table__, sm.permissionview_model.__table__
        self.grant = sm.role_model.permissions.property.secondary
        self.roles = self.names(self.role)
        self.permissions = self.names(self.permission)
        self.views = self.names(self.view)
        self.read_pvs()
        self.grants = {(role_id, pv_id): grant_id for grant_id, role_id, pv_id in db.session.execute(
            select(self.grant.c.id, self.grant.c.role_id, self.grant.c.permission_view_id))}

    @staticmethod
    def names(table) -> dict[str, int]:
        return {name: id_ for id_, name in db.session.execute(select(table.c.id, table.c.name))}

    def read_pvs(self) -> None:
        permission = {id_: name for name, id_ in self.permissions.items()}
        view = {id_: name for name, id_ in self.views.items()}
        self.pvs = {(permission[p], view[v]): id_ for id_, p, v in db.session.execute(
            select(self.pv.c.id, self.pv.c.permission_id, self.pv.c.view_menu_id))}

    def ensure(self, table, known: dict[str, int], wanted) -> dict[str, int]:
        """Rows of a name table for every wanted name (inserted in one statement if missing)."""
        missing = sorted(set(wanted) - known.keys())
        if not missing:
            return known
        db.session.execute(insert(table), [{"name": name} for name in missing])
        return self.names(table)

    def held(self) -> set[tuple[str, str]]:
        """Permission-views some role holds."""
        granted = {pv_id for _role_id, pv_id in self.grants}
        return {pair for pair, id_ in self.pvs.items() if id_ in granted}


def sync_roles(menus: list[tuple[str, str | None, str]]) -> dict[str, int]:
    """Create every role, FAB's permissions of the views and menus (the admin holds them all), and set each
    role's permissions to exactly the role table's (the admin keeps more); returns permissions per role."""
    appbuilder = current_app.appbuilder
    views, menu = fab.view_permissions(appbuilder), fab.menu_names(appbuilder)
    everything = fab.fab_pairs(views, menu)
    wanted = {role: grants | menu_grants(grants, menus) for role, grants in ROLE_PERMISSIONS.items()}
    admin = appbuilder.sm.auth_role_admin
    if admin not in appbuilder.sm.builtin_roles:
        wanted[admin] = wanted.get(admin, set()) | everything
    pairs = everything.union(*wanted.values())
    state = _Security(appbuilder.sm)
    _delete_obsolete(state, views, pairs)
    state.roles = state.ensure(state.role, state.roles, wanted)
    state.permissions = state.ensure(state.permission, state.permissions, {p for p, _v in pairs})
    state.views = state.ensure(state.view, state.views, {v for _p, v in pairs} | views.keys() | set(menu))
    missing = pairs - state.pvs.keys()
    if missing:
        db.session.execute(insert(state.pv), [
            {"permission_id": state.permissions[p], "view_menu_id": state.views[v]} for p, v in sorted(missing)])
        state.read_pvs()
    counts = _set_grants(state, wanted, keeps_more={ROLE_ADMIN, admin})
    db.session.commit()
    db.session.expire_all()  # ORM roles loaded before hold their old permission lists
    return counts


def _delete_obsolete(state: _Security, views: dict[str, set[str]], kept: set[tuple[str, str]]) -> None:
    """FAB's removal of a view's permissions it no longer exposes (see fab_permissions.obsolete_pairs)."""
    obsolete = fab.obsolete_pairs(set(state.pvs), state.held(), views, kept)
    if not obsolete:
        return
    db.session.execute(delete(state.pv).where(state.pv.c.id.in_([state.pvs.pop(pair) for pair in obsolete])))
    unused = {p for p, _v in obsolete} - {p for p, _v in state.pvs}
    if unused:
        db.session.execute(delete(state.permission).where(state.permission.c.name.in_(unused)))
        for name in unused:
            del state.permissions[name]


def _set_grants(state: _Security, wanted: dict[str, set], keeps_more: set[str]) -> dict[str, int]:
    """Each role holds exactly its wanted permission-views (those in `keeps_more` keep what else they hold)."""
    held: dict[int, set[int]] = {}
    for role_id, pv_id in state.grants:
        held.setdefault(role_id, set()).add(pv_id)
    counts, added, removed = {}, [], []
    for role, pairs in wanted.items():
        role_id = state.roles[role]
        want, has = {state.pvs[pair] for pair in pairs}, held.get(role_id, set())
        added += [{"role_id": role_id, "permission_view_id": pv} for pv in sorted(want - has)]
        if role not in keeps_more:
            removed += [state.grants[(role_id, pv)] for pv in has - want]
        counts[role] = len(want | has) if role in keeps_more else len(want)
    if removed:
        db.session.execute(delete(state.grant).where(state.grant.c.id.in_(removed)))
    if added:
        db.session.execute(insert(state.grant), added)
    return {role: counts[role] for role in ROLE_PERMISSIONS}
