"""FAB's permission checks answered from one read per request (app/security/grants.py): the same decisions
as FAB's own uncached queries for every role, view and menu item; a fixed number of security statements per
page and REST call whatever the roles and the menu; a role the admin changes holds from the next request."""
import contextlib
import re

import pytest
from flask import current_app, g
from flask_appbuilder.security.sqla.manager import SecurityManager as FabSecurityManager
from flask_appbuilder.security.sqla.models import Group, Permission, PermissionView, Role, ViewMenu
from flask_login import current_user, login_user
from sqlalchemy import select

from app.extensions import db
from app.security.manager import SchoolSecurityManager
from app.security.permissions import CAN_READ, MENU_ACCESS, RESOURCE_STUDENT
from tests.journal_helpers import statements
from tests.security_helpers import bearer

LOGINS = ("admin", "director", "registrar", "auditor", "teacher", "classteacher", "teacher_b")
CACHED = ("load_user", "exist_permission_on_roles", "is_item_public", "get_public_role",
          "_get_user_permission_view_menus", "get_role_permissions")
_NAVBAR = re.compile(r'<ul class="nav navbar-nav">(.*?)</ul>\s*<ul class="nav navbar-nav navbar-right">', re.S)


@contextlib.contextmanager
def fab_uncached(monkeypatch):
    """FAB's own answers: its methods in place of the request-cached ones."""
    with monkeypatch.context() as patch:
        for name in CACHED:
            patch.setattr(SchoolSecurityManager, name, getattr(FabSecurityManager, name))
        yield


def every_pair() -> list[tuple[str, str]]:
    """Every (permission, view) pair FAB knows, and two it does not."""
    pairs = db.session.execute(select(Permission.name, ViewMenu.name).select_from(PermissionView)
                               .join(Permission).join(ViewMenu)).all()
    return sorted(tuple(p) for p in pairs) + [(CAN_READ, "NoSuchView"), ("no_such_permission", RESOURCE_STUDENT)]


def decisions(username: str | None, pairs) -> tuple[dict, set[str]]:
    """Every access decision and the menu names FAB's menu would show, for a login (None: not signed in)."""
    sm = current_app.appbuilder.sm
    with current_app.test_request_context("/"):
        if username:
            login_user(sm.find_user(username=username))
        g.user = current_user._get_current_object()  # as FAB's before_request
        answers = {pair: sm.has_access(*pair) for pair in pairs}
        return answers, sm.get_user_menu_access(current_app.appbuilder.menu.get_flat_name_list())


def security_statements(seen: list[str]) -> tuple[int, int]:
    """(statements reading permissions, statements reading users, roles or session epochs)."""
    grants = sum("ab_permission_view" in s for s in seen)
    users = sum(("ab_user" in s or "session_epoch" in s) and "ab_permission_view" not in s for s in seen)
    return grants, users


def navbar(page: str) -> str:
    """The menu part of FAB's navbar (the right part holds the user's name and the language)."""
    found = _NAVBAR.search(page)
    assert found, page[:2000]
    return found.group(1)


@pytest.fixture
def odd_roles(world):
    """The groups path and an empty role: teacher_b also holds the Registrar through a FAB group and a role
    without any permission."""
    sm = current_app.appbuilder.sm
    user = sm.find_user(username="teacher_b")
    db.session.add(Group(name="Регистраторы", roles=[sm.find_role("Registrar")], users=[user]))
    user.roles.append(Role(name="Пустая"))
    db.session.commit()


def test_every_decision_and_menu_is_fabs_for_every_role(world, odd_roles, monkeypatch):
    pairs = every_pair()
    for username in (None, *LOGINS):
        with statements() as seen:
            cached = decisions(username, pairs)
        assert security_statements(seen)[0] <= 1, (username, seen)
        with fab_uncached(monkeypatch):
            assert decisions(username, pairs) == cached, username
        assert any(cached[0].values()) or username is None
    assert decisions("teacher_b", pairs)[1] > decisions("teacher", pairs)[1]  # the group's role counts


def test_built_in_roles_are_answered_as_fab_does(world, odd_roles, monkeypatch):
    """FAB_ROLES (roles defined by patterns in the configuration, not in the database) are checked first."""
    monkeypatch.setattr(current_app.appbuilder.sm, "_builtin_roles", {
        "Registrar": [["Student.*", "can_.*"], ["Stud.*", "menu_access"]], "Public": [["Journal", "can_read"]]})
    pairs = every_pair() + [("can_write", "StudentSomething")]
    for username in (None, "registrar", "teacher_b", "teacher"):
        cached = decisions(username, pairs)
        with fab_uncached(monkeypatch):
            assert decisions(username, pairs) == cached, username
    assert decisions("registrar", pairs)[0][("can_write", "StudentSomething")]


def test_every_navbar_and_menu_api_is_fabs(world, odd_roles, login_as, client, monkeypatch):
    clients = {username: login_as(username) for username in LOGINS}
    shown = {username: (navbar(c.get("/").get_data(as_text=True)), c.get("/api/v1/menu/").get_json())
             for username, c in clients.items()}
    shown[None] = (navbar(client.get("/login/").get_data(as_text=True)), None)
    with fab_uncached(monkeypatch):
        for username, c in clients.items():
            assert navbar(c.get("/").get_data(as_text=True)) == shown[username][0], username
            assert c.get("/api/v1/menu/").get_json() == shown[username][1], username
        assert navbar(client.get("/login/").get_data(as_text=True)) == shown[None][0]
    assert shown["admin"][0].count("<li") > shown["director"][0].count("<li") > shown["teacher"][0].count("<li") > 3


def test_a_request_reads_permissions_once_whatever_its_roles_and_menu(world, login_as, client, api_token):
    sm = current_app.appbuilder.sm
    every_role = sm.find_user(username="teacher_b")
    every_role.roles = [r for r in sm.get_all_roles() if r.name not in ("Admin", "Public")]
    db.session.commit()
    pages = {}
    for username in ("teacher", "teacher_b"):
        c = login_as(username)
        for url in ("/studentview/list/", "/"):
            with statements() as seen:
                pages[username, url] = c.get(url).get_data(as_text=True)
            assert security_statements(seen) == (1, 0), (username, url, seen)  # the user read with the grants
    assert navbar(pages["teacher_b", "/"]).count("<li") > navbar(pages["teacher", "/"]).count("<li")
    with statements() as seen:
        assert client.get("/login/").status_code == 200
    assert security_statements(seen) == (1, 0), seen
    token = api_token("teacher")
    with statements() as seen:  # FAB's @protect asks the public role first: read with the token's user
        assert client.get("/api/v1/student/", headers=bearer(token)).status_code == 200
    assert security_statements(seen) == (1, 0), seen


def _student_grants(role: Role) -> list[PermissionView]:
    return [pv for pv in role.permissions
            if (pv.permission.name, pv.view_menu.name) in {(CAN_READ, RESOURCE_STUDENT), (MENU_ACCESS, "Students")}]


def test_a_role_the_admin_changes_holds_from_the_next_request(world, login_as, api_token, client):
    teacher, admin = login_as("teacher"), login_as("admin")
    token = api_token("teacher")
    assert teacher.get("/studentview/list/").status_code == 200
    assert "/studentview/list/" in navbar(teacher.get("/").get_data(as_text=True))
    role = current_app.appbuilder.sm.find_role("Teacher")
    kept = [pv.id for pv in role.permissions if pv not in _student_grants(role)]
    assert len(kept) == len(role.permissions) - 2
    response = admin.post(f"/roles/edit/{role.id}", data={"name": "Teacher", "permissions": kept})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert teacher.get("/studentview/list/").status_code == 403
    assert "/studentview/list/" not in navbar(teacher.get("/").get_data(as_text=True))
    assert client.get("/api/v1/student/", headers=bearer(token)).status_code == 403


def test_a_change_within_the_request_is_seen_by_its_next_check(world):
    sm = current_app.appbuilder.sm
    role = sm.find_role("Teacher")
    student_read = next(pv for pv in _student_grants(role) if pv.permission.name == CAN_READ)
    with current_app.test_request_context("/"):
        login_user(sm.find_user(username="teacher"))
        g.user = current_user._get_current_object()
        assert sm.has_access(CAN_READ, RESOURCE_STUDENT)
        role.permissions.remove(student_read)
        db.session.flush()
        assert not sm.has_access(CAN_READ, RESOURCE_STUDENT)
        db.session.rollback()
        assert sm.has_access(CAN_READ, RESOURCE_STUDENT)
        sm.del_permission_role(sm.find_role("Teacher"), student_read)  # FAB's own path, which commits
        assert not sm.has_access(CAN_READ, RESOURCE_STUDENT)
