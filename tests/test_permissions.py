"""Role × view table: every registered view and REST API, for every role, against ROLE_PERMISSIONS.

The endpoints are enumerated from the running app (app.appbuilder.baseviews), so a new view or API
is checked without touching this file, and one that no rule of the role table covers fails here.
"""
from dataclasses import dataclass

import pytest
from flask_appbuilder import ModelView
from flask_appbuilder.api import BaseApi, ModelRestApi
from flask_appbuilder.const import PERMISSION_PREFIX
from sqlalchemy import event, func, select
from werkzeug.routing import IntegerConverter

from app.extensions import db
from app.models import ClassUnit, CurriculumItem, Guardian, Student
from app.security.permissions import CAN_READ, CAN_WRITE
from app.security.roles import ROLE_ADMIN, ROLE_PERMISSIONS, ROLE_PUBLIC, SELF_SERVICE
from app.security.sync import menu_grants, sync_roles
from app.views import menu_resources
from tests.conftest import PASSWORD
from tests.security_helpers import bearer, changed_tables, granted, is_ours, may, role_names, snapshot

# Logins of the world that together hold every role (ClassTeacher always comes with Teacher);
# None is the anonymous visitor (role Public).
USERS = ["admin", "director", "registrar", "auditor", "teacher", "classteacher", None]
# Views of ours that anyone may open: they must declare no permission at all.
PUBLIC_VIEWS = {"HomeView", "AuthDBView"}  # the home page; sign-in and sign-out (FAB's, logout made a POST)


@dataclass(frozen=True)
class Endpoint:
    """One URL of the matrix and the permission it needs."""

    kind: str  # "ui" (browser session) or "api" (JWT)
    http: str
    url: str
    permission: str
    resource: str
    exact: bool = True  # False: a custom page whose allowed answer may be 200, 400, 404…

    def __str__(self) -> str:
        return f"{self.http} {self.url} ({self.permission} on {self.resource})"



def permission_of(view, method: str) -> str:
    """The permission FAB checks for one method of a view, e.g. list → can_read."""
    return PERMISSION_PREFIX + view.get_method_permission(method)


def is_protected(view, method: str) -> bool:
    """Whether the method is behind @has_access / @protect (it then carries a permission name)."""
    return hasattr(getattr(view, method, None), "_permission_name")


def has_route(app, view, method: str) -> bool:
    return f"{view.endpoint}.{method}" in app.view_functions


# What each method of our views and APIs must need: reading needs can_read, any change can_write.
READ_METHODS = {"list", "show", "download", "get", "get_list", "info"}
WRITE_METHODS = {"add", "edit", "delete", "action", "action_post", "post", "put"}
# FAB's ModelView checks these two itself, per action (see the actions in the coverage test).
SELF_CHECKED = {"action", "action_post"}


def intended(view, method: str) -> str:
    """The permission a method should need: fixed for ours, FAB's own names for FAB's views."""
    if not is_ours(view):
        return permission_of(view, method)
    return CAN_READ if method in READ_METHODS else CAN_WRITE


def custom_rules(app, view):
    """(rule, method) of the URLs of a view of ours that is neither a ModelView nor a ModelRestApi."""
    for rule in app.url_map.iter_rules():
        blueprint, _, method = rule.endpoint.partition(".")
        if blueprint == view.endpoint:
            yield rule, method


def _only_int_arguments(rule) -> bool:
    return all(isinstance(conv, IntegerConverter) for conv in rule._converters.values())


def endpoints(app, sample_pk: int) -> list[Endpoint]:
    """List and add pages of every ModelView (FAB's too), list and create of every entity API, and
    every URL of our other views and APIs (integer arguments filled with `sample_pk`)."""
    out = []
    for view in app.appbuilder.baseviews:
        resource = view.class_permission_name
        if isinstance(view, ModelView):
            for method, url in (("list", f"{view.route_base}/list/"), ("add", f"{view.route_base}/add")):
                if permission_of(view, method) in view.base_permissions and has_route(app, view, method):
                    out.append(Endpoint("ui", "GET", url, intended(view, method), resource))
        elif isinstance(view, ModelRestApi):
            for method, http in (("get_list", "GET"), ("post", "POST")):
                out.append(Endpoint("api", http, f"{view.route_base}/", intended(view, method), resource))
        elif is_ours(view) and view.base_permissions:
            kind = "api" if isinstance(view, BaseApi) else "ui"
            for rule, method in custom_rules(app, view):
                url = rule.build({arg: sample_pk for arg in rule.arguments}, append_unknown=False)[1]
                for http in sorted(rule.methods & {"GET", "POST", "PUT", "DELETE"}):
                    out.append(Endpoint(kind, http, url, permission_of(view, method), resource, exact=False))
    return out


def expected_status(endpoint: Endpoint, username: str | None, grants) -> int | None:
    """200 (a POST with an empty body: 422, past the permission check), 403, 302 or 401.

    None: allowed on a custom page, whose answer depends on the request (anything but a refusal).
    """
    if may(grants, endpoint.permission, endpoint.resource):
        if not endpoint.exact:
            return None
        return 422 if endpoint.http == "POST" else 200
    if username is None:
        return 401 if endpoint.kind == "api" else 302
    return 403


def test_the_users_cover_every_role(world):
    held = set().union(*(role_names(u) for u in USERS if u))
    assert held | {ROLE_PUBLIC} == set(ROLE_PERMISSIONS)


def test_every_view_and_api_is_covered_by_the_role_table(app):
    """Each view or API of ours: every URL protected, every permission it declares in the role table."""
    ruled = set().union(*ROLE_PERMISSIONS.values())
    problems = []
    for view in app.appbuilder.baseviews:
        name = type(view).__name__
        if not is_ours(view):
            continue
        if not view.base_permissions:
            if name not in PUBLIC_VIEWS:
                problems.append(f"{name}: declares no permission, so anyone may open it")
            continue
        for permission in sorted(view.base_permissions):
            if (permission, view.class_permission_name) not in ruled:
                problems.append(f"{name}: ({permission}, {view.class_permission_name}) is in no role's rules")
        for method in sorted(READ_METHODS | WRITE_METHODS):
            if is_protected(view, method) and permission_of(view, method) != intended(view, method):
                problems.append(f"{name}.{method} needs {permission_of(view, method)}, not {intended(view, method)}")
        for rule, method in custom_rules(app, view):
            if not is_protected(view, method) and not (isinstance(view, ModelView) and method in SELF_CHECKED):
                problems.append(f"{name}: {rule.rule} is open to anyone (no @has_access / @protect)")
            if not isinstance(view, (ModelView, ModelRestApi)) and not _only_int_arguments(rule):
                problems.append(f"{name}: {rule.rule} has arguments the matrix cannot fill")
        for action in view.actions if isinstance(view, ModelView) else ():  # FAB checks these per action
            permission = view.get_action_permission_name(action)
            if (permission, view.class_permission_name) not in ruled:
                problems.append(f"{name} action {action}: ({permission}, {view.class_permission_name}) "
                                "is in no role's rules")
    assert not problems, "\n".join(problems)
    assert len(endpoints(app, 1)) >= 4 * 18, "the matrix lost endpoints"


def test_fab_security_permissions_are_admin_only(app):
    """Outside the self-service set (own profile, password, OpenAPI, menu), FAB's views are Admin's."""
    ours = {view.class_permission_name for view in app.appbuilder.baseviews if is_ours(view)}
    leaks = [
        (role, permission, resource)
        for role, grants in ROLE_PERMISSIONS.items() if role != ROLE_ADMIN
        for permission, resource in grants
        if resource not in ours and (permission, resource) not in SELF_SERVICE
    ]
    assert not leaks


@pytest.mark.parametrize("username", USERS, ids=lambda u: u or "anonymous")
def test_role_view_matrix(app, world, login_as, api_token, username):
    """Each endpoint answers as the role table says; every wrong (role, url) pair is listed."""
    if username is None:
        ui, api, grants = app.test_client(), app.test_client(), granted({ROLE_PUBLIC})
        headers = {}
    else:
        ui, api, grants = login_as(username), app.test_client(), granted(role_names(username))
        headers = bearer(api_token(username))
    before = snapshot()
    wrong = []
    checked = 0
    for endpoint in endpoints(app, world.classes["5А"].id):
        want = expected_status(endpoint, username, grants)
        if want is None and endpoint.http != "GET":
            continue  # an allowed write of a custom page: its own tests send a real body
        client = ui if endpoint.kind == "ui" else api
        kwargs = {"headers": headers} if endpoint.kind == "api" else {}
        if endpoint.http != "GET":
            kwargs["json"] = {}
        response = client.open(endpoint.url, method=endpoint.http, **kwargs)
        got = response.status_code
        to_login = got == 302 and "/login/" in response.headers.get("Location", "")
        if want is None:
            if got in (401, 403) or to_login:
                wrong.append(f"{username or 'anonymous'}: {endpoint} → {got}, expected no refusal")
        elif got != want or (want == 302 and not to_login):
            wrong.append(f"{username or 'anonymous'}: {endpoint} → {got}, expected {want}")
        checked += 1
    assert not wrong, f"{len(wrong)} of {checked} answers differ from the role table:\n" + "\n".join(wrong)
    assert changed_tables(before, snapshot()) == []


def test_fab_security_views_are_admin_only(login_as):
    """Users, roles and permissions: 403 for every school role, open to the deployment admin."""
    wrong = []
    for username in ("director", "registrar", "auditor", "teacher", "classteacher", "director_b", "admin"):
        client = login_as(username)
        for url in ("/users/list/", "/roles/list/", "/users/add", "/roles/add", "/permissions/list/"):
            status, want = client.get(url).status_code, 200 if username == "admin" else 403
            if status != want:
                wrong.append(f"{username}: GET {url} → {status}, expected {want}")
    assert not wrong, "\n".join(wrong)


def _write_attempts(world):
    """(what, UI request, API request) of every kind of write; each would change a row if allowed."""
    a5, student, guardian = world.classes["5А"], world.students["Алексеев"], world.guardians["Алексеева"]
    new_class = {"year": world.year_a.id, "grade": 7, "letter": "Г", "period_kind": "quarter"}
    new_student = {"surname": "Новиков", "name": "Пётр", "patronymic": "", "birth_date": "2015-02-01",
                   "class_unit": a5.id, "enrolled_on": "2026-09-01"}
    return [
        ("add class", ("POST", "/classunitview/add", new_class),
         ("POST", "/api/v1/classunit/", {**new_class, "school": world.school_a.id})),
        ("add student", ("POST", "/studentview/add", new_student),
         ("POST", "/api/v1/student/", {**new_student, "school": world.school_a.id})),
        ("edit class", ("POST", f"/classunitview/edit/{a5.id}", {**new_class, "grade": 6, "letter": "Ж"}),
         ("PUT", f"/api/v1/classunit/{a5.id}", {"letter": "Ж"})),
        ("edit guardian", ("POST", f"/guardianview/edit/{guardian.id}", {"surname": "Изменённая", "name": "Мария"}),
         ("PUT", f"/api/v1/guardian/{guardian.id}", {"surname": "Изменённая"})),
        ("delete student", ("POST", f"/studentview/delete/{student.id}", {}),
         ("DELETE", f"/api/v1/student/{student.id}", None)),
        ("delete guardian", ("POST", f"/guardianview/delete/{guardian.id}", {}),
         ("DELETE", f"/api/v1/guardian/{guardian.id}", None)),
    ]


def test_auditor_cannot_write_anything(app, world, login_as, api_token):
    """Every write of the UI and the API is 403 for the auditor, and no row changes."""
    ui, api, headers = login_as("auditor"), app.test_client(), bearer(api_token("auditor"))
    before = snapshot()
    wrong = []
    for what, (ui_http, ui_url, form), (api_http, api_url, body) in _write_attempts(world):
        got = ui.open(ui_url, method=ui_http, data=form).status_code
        if got != 403:
            wrong.append(f"UI {what}: {ui_http} {ui_url} → {got}")
        got = api.open(api_url, method=api_http, json=body, headers=headers).status_code
        if got != 403:
            wrong.append(f"API {what}: {api_http} {api_url} → {got}")
    for view in app.appbuilder.baseviews:  # every model's edit and delete, UI and API, where routed
        if not is_ours(view):
            continue
        if isinstance(view, ModelView):
            attempts = [(ui, "POST", f"{view.route_base}/{m}/1", {"data": {}}) for m in ("edit", "delete")
                        if has_route(app, view, m)]
        elif isinstance(view, ModelRestApi):
            attempts = [(api, http, f"{view.route_base}/1", {"headers": headers, "json": {}})
                        for http, m in (("PUT", "put"), ("DELETE", "delete")) if has_route(app, view, m)]
        else:
            continue
        for client, http, url, kwargs in attempts:
            got = client.open(url, method=http, **kwargs).status_code
            if got != 403:
                wrong.append(f"{http} {url} → {got}")
    # The bulk action (fill the curriculum) is refused with a message instead of a 403.
    response = ui.post("/classunitview/action_post", data={"action": "fill_curriculum",
                                                           "rowid": [str(world.classes["5А"].id)]})
    assert response.status_code == 302
    assert not wrong, "\n".join(wrong)
    assert changed_tables(before, snapshot()) == []
    assert db.session.scalar(select(func.count()).select_from(CurriculumItem)) == 0


def test_the_same_writes_succeed_for_the_director(app, world, login_as, api_token):
    """Control for the auditor test: the payloads are valid, so a 403 there is the permission."""
    ui, api, headers = login_as("director"), app.test_client(), bearer(api_token("director"))
    attempts = {what: (u, a) for what, u, a in _write_attempts(world)}
    http, url, form = attempts["add class"][0]
    assert ui.open(url, method=http, data=form).status_code == 302
    http, url, body = attempts["add student"][1]
    assert api.open(url, method=http, json=body, headers=headers).status_code == 201
    http, url, body = attempts["edit guardian"][1]
    assert api.open(url, method=http, json=body, headers=headers).status_code == 200
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ClassUnit).where(ClassUnit.letter == "Г")) == 1
    assert db.session.scalar(select(func.count()).select_from(Student).where(Student.surname == "Новиков")) == 1
    assert db.session.get(Guardian, world.guardians["Алексеева"].id).surname == "Изменённая"
    response = ui.post("/classunitview/action_post", data={"action": "fill_curriculum",
                                                           "rowid": [str(world.classes["5А"].id)]})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(CurriculumItem)) > 0


def _role_permissions() -> dict[str, set[tuple[str, str]]]:
    from flask import current_app

    db.session.expire_all()
    sm = current_app.appbuilder.sm
    return {
        name: {(pv.permission.name, pv.view_menu.name) for pv in sm.find_role(name).permissions}
        for name in ROLE_PERMISSIONS
    }


@pytest.mark.commits  # `school init` inspects the engine itself (Inspector needs a real connection)
def test_school_init_rerun_keeps_every_role_permission_set(runner, world):
    """`school init` is idempotent, and non-admin roles hold exactly the role table (plus menus)."""
    before = _role_permissions()
    for role, grants in ROLE_PERMISSIONS.items():
        wanted = grants | menu_grants(grants, menu_resources())
        if role == ROLE_ADMIN:
            assert wanted <= before[role]
        else:
            assert before[role] == wanted, role
    result = runner.invoke(args=["school", "init", "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    assert "уже есть" in result.output  # the admin of the world is kept, not re-created
    assert _role_permissions() == before


def test_the_role_sync_gives_a_role_what_it_lacks_in_one_commit(app, world):
    """`school init` (every deploy, every test worker's start) restores a role's grants in one commit for all
    the roles (app.security.sync): FAB's add_permission_role committed each of ~700 grants and reloaded the
    role's list each time, and FAB's add_permissions committed each permission of each view."""
    teacher = app.appbuilder.sm.find_role("Teacher")
    held = set(teacher.permissions)
    teacher.permissions = []
    db.session.commit()
    commits = []
    event.listen(db.session(), "after_commit", lambda _session: commits.append(1))
    sync_roles(menu_resources())
    assert set(app.appbuilder.sm.find_role("Teacher").permissions) == held and len(held) > 50
    assert len(commits) == 1, f"{len(commits)} commits"


@pytest.mark.commits  # `school init` inspects the engine itself (Inspector needs a real connection)
def test_school_init_removes_a_permission_granted_by_hand(app, runner, world):
    """A permission added outside the role table (e.g. in the Roles UI) is taken away by the sync."""
    sm = app.appbuilder.sm
    teacher = sm.find_role("Teacher")
    extra = sm.find_permission_view_menu("can_write", "Student")
    assert extra is not None and extra not in teacher.permissions
    sm.add_permission_role(teacher, extra)
    try:
        assert ("can_write", "Student") in _role_permissions()["Teacher"]
        result = runner.invoke(args=["school", "init", "--password", PASSWORD])
        assert result.exit_code == 0, result.output
        assert ("can_write", "Student") not in _role_permissions()["Teacher"]
    finally:
        teacher = sm.find_role("Teacher")
        if extra in teacher.permissions:
            sm.del_permission_role(teacher, extra)
