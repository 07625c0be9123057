"""The set-based role sync (`school init`) against its oracle: FAB's own `add_permissions(update_perms=True)`
followed by the role table's grants, as the sync was done before. Both run from the same state of FAB's
security tables (emptied, or drifted by hand) inside the test's rolled-back transaction; permissions, view
menus, permission-views and every role's grants must come out the same by name."""
from sqlalchemy import event

from app.extensions import db
from app.security.roles import ROLE_ADMIN, ROLE_PERMISSIONS
from app.security.sync import menu_grants, sync_roles
from app.views import menu_resources
from tests.journal_helpers import statements, the_apps


def _empty_security_tables(app) -> None:
    sm = app.appbuilder.sm
    grant = sm.role_model.permissions.property.secondary
    for table in (grant, sm.permissionview_model.__table__, sm.permission_model.__table__,
                  sm.viewmenu_model.__table__, sm.role_model.__table__):
        db.session.execute(table.delete())
    db.session.commit()


def _fab_then_role_table(app) -> None:
    """The oracle: FAB's own permission sync (hundreds of commits), then each role set to the role table."""
    sm = app.appbuilder.sm
    for role_name in ROLE_PERMISSIONS:
        sm.find_role(role_name) or sm.add_role(role_name)
    app.appbuilder.add_permissions(update_perms=True)
    known = {(pv.permission.name, pv.view_menu.name): pv for pv in db.session.query(sm.permissionview_model)}
    for role_name, grants in ROLE_PERMISSIONS.items():
        role = sm.find_role(role_name)
        wanted = {known.get(g) or sm.add_permission_view_menu(*g)
                  for g in grants | menu_grants(grants, menu_resources())}
        if role_name != ROLE_ADMIN:
            role.permissions = [pv for pv in role.permissions if pv in wanted]
        role.permissions.extend(pv for pv in wanted if pv not in set(role.permissions))
        db.session.commit()


def _by_name(app) -> dict:
    sm = app.appbuilder.sm
    db.session.expire_all()
    return {
        "permissions": {p.name for p in db.session.query(sm.permission_model)},
        "view menus": {v.name for v in db.session.query(sm.viewmenu_model)},
        "permission-views": {(pv.permission.name, pv.view_menu.name)
                             for pv in db.session.query(sm.permissionview_model)},
        "roles": {r.name: {(pv.permission.name, pv.view_menu.name) for pv in r.permissions}
                  for r in db.session.query(sm.role_model)},
    }


def _drift(app) -> None:
    """A database an older release and hands in the Roles UI left behind."""
    sm = app.appbuilder.sm
    sync_roles(menu_resources())
    sm.add_permission_view_menu("can_gone", "Student")  # no longer exposed, held by nobody: FAB deletes it
    teacher, admin = sm.find_role("Teacher"), sm.find_role(ROLE_ADMIN)
    sm.add_permission_role(teacher, sm.add_permission_view_menu("can_old", "Mark"))  # held: FAB keeps it
    sm.add_permission_role(teacher, sm.find_permission_view_menu("can_write", "Student"))  # not the teacher's
    sm.del_permission_role(admin, sm.find_permission_view_menu("can_read", "Subject"))
    sm.add_permission_role(admin, sm.add_permission_view_menu("can_older", "Mark"))  # the admin keeps it
    sm.add_permission_role(sm.add_role("Custom"), sm.find_permission_view_menu("can_read", "Subject"))
    sm.add_permission_view_menu("can_read", "Ghost")  # not a registered view: FAB leaves it
    for pv in sm.find_permissions_view_menu(sm.find_view_menu("Holiday")):  # a view FAB meets as new
        for role in db.session.query(sm.role_model):
            sm.del_permission_role(role, pv)
        db.session.delete(pv)
    db.session.commit()


def test_a_fresh_database_gets_what_fab_and_the_role_table_gave(app):
    _empty_security_tables(app)
    _fab_then_role_table(app)
    expected = _by_name(app)
    _empty_security_tables(app)
    counts = sync_roles(menu_resources())
    assert _by_name(app) == expected
    assert counts == {role: len(expected["roles"][role]) for role in ROLE_PERMISSIONS}
    assert len(expected["permission-views"]) > 150 and len(expected["roles"]["Teacher"]) > 50


def test_a_drifted_database_ends_as_fab_and_the_role_table_leave_it(app):
    """Obsolete permissions held by nobody go (with a permission no view uses any more), held ones stay;
    the admin gets back what it lost, a role outside the table is left alone, hand grants are taken back."""
    _empty_security_tables(app)
    _drift(app)
    _fab_then_role_table(app)
    expected = _by_name(app)
    assert ("can_gone", "Student") not in expected["permission-views"] and "can_gone" not in expected["permissions"]
    assert ("can_old", "Mark") in expected["permission-views"] and ("can_read", "Ghost") in expected[
        "permission-views"]
    assert expected["roles"]["Custom"] == {("can_read", "Subject")}
    assert {("can_older", "Mark"), ("can_read", "Subject")} <= expected["roles"][ROLE_ADMIN]
    _empty_security_tables(app)
    _drift(app)
    sync_roles(menu_resources())
    assert _by_name(app) == expected


def test_a_second_sync_changes_nothing_in_five_statements_and_one_commit(app):
    sync_roles(menu_resources())
    before = _by_name(app)
    commits = []
    event.listen(db.session(), "after_commit", lambda _session: commits.append(1))
    with statements() as seen:
        sync_roles(menu_resources())
    assert len(the_apps(seen)) <= 5, the_apps(seen)
    assert all(s.lstrip().upper().startswith("SELECT") for s in the_apps(seen)), the_apps(seen)
    assert len(commits) == 1
    assert _by_name(app) == before
