"""Hardening (issue 8): security headers, cookie flags, the production start-up checks, the login rate
limit, the password policy and CSRF on every form and JSON endpoint outside the JWT REST API.

The rate limit and HTTPS are tested on an app built from ProductionConfig (as deployed): the shared
test app runs with RATELIMIT_ENABLED off so that no other test depends on how many logins came before.
"""
import re

import limits.storage.memory
import pytest
from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

import config
from app import create_app
from app.cli.school import ensure_admin
from app.extensions import db
from app.models import Student
from app.security.hardening import DEMO_SECRET_KEY, UnsafeConfiguration
from app.security.passwords import policy_problem
from tests.conftest import PASSWORD
from tests.journal_helpers import HTTP_TODAY, HTTP_WEEK, add_lessons, freeze_today, message, period_of, work_type

STRONG_KEY = "x" * 16 + "0123456789abcdef0123"
STRONG_AUDIT_KEY = "audit-" + "0123456789abcdef" * 2
HTTPS = "https://localhost"
REFERER = {"Referer": HTTPS + "/login/"}  # Flask-WTF checks it on HTTPS (WTF_CSRF_SSL_STRICT); browsers send it
GOOD_PASSWORD = "Весна2026тетрадь"


# --- headers and cookies -------------------------------------------------------------------------

def test_pages_carry_the_security_headers(client):
    response = client.get("/login/")
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    nonce = re.search(r"script-src 'self' 'nonce-([\w-]+)'", csp).group(1)
    assert "default-src 'self'" in csp and "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-eval" not in csp and "script-src 'self' 'unsafe-inline'" not in csp
    # every script tag of FAB's layout carries this request's nonce
    scripts = re.findall(r"<script\b[^>]*>", response.get_data(as_text=True))
    assert scripts and all(f'nonce="{nonce}"' in tag for tag in scripts)
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    # development and tests: plain http, no HSTS
    assert response.status_code == 200 and "Strict-Transport-Security" not in headers
    assert client.get("/login/", base_url=HTTPS).headers.get("Strict-Transport-Security") is None
    # a new nonce per response
    assert nonce not in client.get("/login/").headers["Content-Security-Policy"]


def test_session_cookie_is_http_only_and_same_site(app, world):
    client = app.test_client()
    response = client.post("/login/", data={"username": "teacher", "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert app.config["REMEMBER_COOKIE_HTTPONLY"] and app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"


# --- production settings -------------------------------------------------------------------------

@pytest.mark.parametrize("key", [None, "", DEMO_SECRET_KEY, "short-key"])
def test_production_refuses_to_start_without_a_real_secret_key(monkeypatch, key):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(config.ProductionConfig, "SECRET_KEY", key)
    with pytest.raises(UnsafeConfiguration, match="SECRET_KEY"):
        create_app("config.ProductionConfig")


def test_production_refuses_debug(monkeypatch):
    monkeypatch.setattr(config.ProductionConfig, "SECRET_KEY", STRONG_KEY)
    monkeypatch.setattr(config.ProductionConfig, "AUDIT_KEY", STRONG_AUDIT_KEY)
    assert config.ProductionConfig.DEBUG is False
    with pytest.raises(UnsafeConfiguration, match="DEBUG"):
        create_app("config.ProductionConfig", {"DEBUG": True})


@pytest.fixture(scope="module")
def prod_app(database_url):
    """The app as deployed with APP_CONFIG=config.ProductionConfig (limiter on, memory storage)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(config.ProductionConfig, "SECRET_KEY", STRONG_KEY)
        mp.setattr(config.ProductionConfig, "AUDIT_KEY", STRONG_AUDIT_KEY)
        app = create_app("config.ProductionConfig", {"SQLALCHEMY_DATABASE_URI": database_url})
    return app


class Clock:
    """A settable clock for the limiter's in-memory counters (a new window without sleeping)."""

    def __init__(self):
        import time

        self.now = time.time()

    def time(self) -> float:
        return self.now


@pytest.fixture
def prod(prod_app, app, world, monkeypatch):
    """The production app with fresh login counters and a settable limiter clock; `world` exists."""
    clock = Clock()
    monkeypatch.setattr(limits.storage.memory, "time", clock)
    prod_app.appbuilder.sm.limiter.reset()
    saved = dict(prod_app.config)
    yield prod_app, clock
    prod_app.config.clear()
    prod_app.config.update(saved)


def csrf_token(client) -> str:
    page = client.get("/login/", base_url=HTTPS).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_production_is_https_only_without_debug(prod):
    app, _clock = prod
    assert app.debug is False and app.config["SECRET_KEY"] == STRONG_KEY
    client = app.test_client()
    plain = client.get("/login/")
    assert plain.status_code == 302 and plain.headers["Location"].startswith("https://")
    secure = client.get("/login/", base_url=HTTPS)
    assert secure.status_code == 200
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    response = client.post("/login/", base_url=HTTPS, headers=REFERER, data={
        "username": "teacher", "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


# --- login rate limit ----------------------------------------------------------------------------

def test_the_eleventh_failed_login_gets_429_until_the_window_passes(prod):
    app, clock = prod
    assert app.config["LOGIN_RATE_LIMIT"] == "10 per 5 minutes"
    client = app.test_client()
    token = csrf_token(client)

    def form_login(password):
        return client.post("/login/", base_url=HTTPS, headers=REFERER, data={
            "username": "teacher", "password": password, "csrf_token": token})

    for _ in range(10):
        assert form_login("wrong").status_code == 302  # back to the login page with FAB's message
    refused = form_login("wrong")
    assert refused.status_code == 429
    text = message("Too many failed sign-in attempts from your address. Wait a few minutes and try again.")
    assert text in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) > 0
    # the right password is refused too while the window lasts, and the API login shares the counter
    assert form_login(PASSWORD).status_code == 429
    api = client.post("/api/v1/security/login", base_url=HTTPS, json={
        "username": "teacher", "password": PASSWORD, "provider": "db", "refresh": False})
    assert api.status_code == 429 and api.json == {"message": text}

    clock.now += 5 * 60 + 1  # a new window
    signed_in = form_login(PASSWORD)
    assert signed_in.status_code == 302 and "/login" not in signed_in.headers["Location"]


def test_api_login_is_limited_and_only_failures_count(prod):
    app, clock = prod
    app.config["LOGIN_RATE_LIMIT"] = "2 per minute"  # read on every request
    client = app.test_client()

    def api_login(password):
        return client.post("/api/v1/security/login", base_url=HTTPS, json={
            "username": "teacher", "password": password, "provider": "db", "refresh": False})

    assert [api_login(PASSWORD).status_code for _ in range(4)] == [200] * 4  # a staff room signing in
    assert [api_login("wrong").status_code for _ in range(3)] == [401, 401, 429]
    assert api_login(PASSWORD).status_code == 429
    clock.now += 61
    assert api_login(PASSWORD).status_code == 200


def test_the_shared_test_app_has_no_limiter(app):
    assert app.config["RATELIMIT_ENABLED"] is False


# --- password policy -----------------------------------------------------------------------------

@pytest.mark.parametrize(("password", "username", "problem"), [
    ("Ab1", "", "The password must be at least %(n)d characters long."),
    ("abcdefghijkl", "", "The password must contain both letters and digits."),
    ("1234567890123", "", "The password must contain both letters and digits."),
    ("ivanova2026x", "ivanova", "The password must not contain the user name."),
    ("Qwerty123456", "", "This password is too easy to guess: choose another one."),
    ("password2026!", "", "This password is too easy to guess: choose another one."),
    ("aaaaaaa11111", "", "This password is too easy to guess: choose another one."),
    (GOOD_PASSWORD, "teacher", None),
    ("moon-river-42b", "teacher", None),
])
def test_password_policy(app, password, username, problem):
    with app.test_request_context():
        expected = None if problem is None else message(problem, n=10)
        assert policy_problem(password, username) == expected


def test_weak_password_is_refused_when_adding_a_user_in_the_ui(login_as):
    admin = login_as("admin")
    role = db.session.scalar(select(User).where(User.username == "teacher")).roles[0]

    def add(password):
        return admin.post("/users/add", data={
            "first_name": "Ольга", "last_name": "Новикова", "username": "novikova", "active": "y",
            "email": "novikova@school.local", "roles": [str(role.id)], "password": password,
            "conf_password": password})

    refused = add("novikova2026")
    assert refused.status_code == 200
    assert message("The password must not contain the user name.") in refused.get_data(as_text=True)
    assert add("short1").status_code == 200
    assert db.session.scalar(select(User).where(User.username == "novikova")) is None
    assert add(GOOD_PASSWORD).status_code == 302
    assert db.session.scalar(select(User).where(User.username == "novikova")) is not None


@pytest.mark.usefixtures("isolated")
def test_weak_password_is_refused_when_resetting_one(app, login_as):
    teacher = login_as("teacher")
    refused = teacher.post("/resetmypassword/form", data={"password": "teacher2026x", "conf_password": "teacher2026x"})
    assert message("The password must not contain the user name.") in refused.get_data(as_text=True)
    assert teacher.post("/resetmypassword/form", data={
        "password": GOOD_PASSWORD, "conf_password": GOOD_PASSWORD}).status_code == 302
    assert app.test_client().post("/login/", data={"username": "teacher", "password": GOOD_PASSWORD}).status_code == 302

    admin = login_as("admin")
    director = db.session.scalar(select(User).where(User.username == "director"))
    refused = admin.post(f"/resetpassword/form?pk={director.id}", data={
        "password": "director12345", "conf_password": "director12345"})
    assert message("The password must not contain the user name.") in refused.get_data(as_text=True)


def test_the_cli_and_the_demo_keep_their_passwords(app):
    """`school init` and `school demo` write passwords directly: the demo's short `demo` still works."""
    assert ensure_admin("admin2", "demo") is True
    db.session.commit()
    assert app.test_client().post("/login/", data={"username": "admin2", "password": "demo"}).status_code == 302


@pytest.mark.parametrize("args, fragment", [
    (["school", "init", "--admin", "chief"], "--password"),
    (["school", "init", "--admin", "chief", "--password", "demo"],
     "The password must be at least %(n)d characters long."),
    (["school", "init", "--admin", "chief", "--password", "chief2026school"],
     "The password must not contain the user name."),
    (["school", "demo"], "рабочей конфигурации"),
])
def test_production_cli_refuses_known_passwords_and_changes_nothing(prod_app, app, world, args, fragment):
    """In production a new admin needs a password the policy accepts, and the demo (whose passwords
    everyone knows) is not loaded. (The CLI runs in the innermost app context: the production app's.)"""
    before = snapshot()
    with prod_app.app_context():
        result = prod_app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 2, result.output
    assert (message(fragment, n=10) if "." in fragment else fragment) in result.output
    assert snapshot() == before
    assert db.session.scalar(select(User).where(User.username == "chief")) is None


def test_production_init_creates_the_admin_with_a_strong_password(prod_app, app, world):
    runner = prod_app.test_cli_runner()
    with prod_app.app_context():
        result = runner.invoke(args=["school", "init", "--admin", "chief", "--password", "Kestrel-2026-north"])
        assert result.exit_code == 0, result.output
        # Once there, a re-run (an upgrade) needs no password.
        assert runner.invoke(args=["school", "init", "--admin", "chief"]).exit_code == 0
    assert db.session.scalar(select(User).where(User.username == "chief")) is not None


# --- CSRF ----------------------------------------------------------------------------------------

def snapshot() -> dict:
    """Every row of every table (what a refused request must leave untouched)."""
    db.session.expire_all()
    with db.engine.connect() as conn:
        return {t.name: sorted(map(repr, conn.execute(select(t)).all())) for t in Model.metadata.sorted_tables}


def post_endpoints(app) -> list:
    """Every POST route outside the JWT REST API (/api/ is CSRF-exempt: it takes bearer tokens)."""
    return sorted((r for r in app.url_map.iter_rules() if "POST" in r.methods and not r.rule.startswith("/api/")),
                  key=lambda r: r.rule)


def concrete_url(app, rule, ids: dict) -> str:
    """The rule with real ids of existing rows (the view's own model for <pk>)."""
    view_name = rule.endpoint.split(".")[0]
    view = next((v for v in app.appbuilder.baseviews if type(v).__name__ == view_name), None)
    values = {}
    for arg in rule.arguments:
        if arg == "pk":
            model = getattr(getattr(view, "datamodel", None), "obj", None)
            values[arg] = (db.session.scalar(select(model.id).limit(1)) if model is not None else None) or 1
        elif arg == "name":
            values[arg] = next(iter(getattr(view, "actions", {}) or {}), "muldelete")
        else:
            values[arg] = ids.get(arg, 1)
    url = rule.rule
    for arg, value in values.items():
        url = re.sub(rf"<(?:\w+:)?{arg}>", str(value), url)
    return url


@pytest.fixture
def journal_rows(app, world):
    freeze_today(app, HTTP_TODAY)
    lesson = add_lessons(world, *HTTP_WEEK[:1], topic="Дроби")[0]
    return {"lesson": lesson, "kid": world.students["Алексеев"], "work_type": work_type(world)}


def test_every_post_without_the_csrf_token_is_refused_and_changes_nothing(app, world, login_as, journal_rows):
    admin = login_as("admin")
    app.config["WTF_CSRF_ENABLED"] = True
    lesson, kid = journal_rows["lesson"], journal_rows["kid"]
    ids = {"lesson_id": lesson.id, "period_id": period_of(world.year_a, 2).id}
    endpoints = post_endpoints(app)
    rules = {r.rule for r in endpoints}
    # our own POST endpoints are all there (a new one is covered without editing this test)
    assert {"/journal/cell", "/journal/lesson/<id:lesson_id>", "/finals/save", "/finals/propose", "/finals/defer",
            "/finals/close/<id:period_id>", "/exchange/retry", "/extracts/print", "/roster/upload",
            "/extracts/verify/", "/login/", "/users/add", "/resetmypassword/form"} <= rules
    mark = {"lesson_id": lesson.id, "student_id": kid.id, "kind": "mark",
            "work_type_id": journal_rows["work_type"].id, "value": 5}
    before = snapshot()
    for rule in endpoints:
        url = concrete_url(app, rule, ids)
        if rule.endpoint.startswith("JournalView."):
            response = admin.post(url, json=mark if "cell" in url else {"topic": "Взлом"})
        else:
            response = admin.post(url, data={"rowid": [str(kid.id)], "action": "muldelete", "name": "Взлом",
                                             "surname": "Взлом", "topic": "Взлом", "username": "hacker"})
        assert response.status_code == 400, f"{url}: {response.status_code}"
        assert b"CSRF" in response.data, url
    assert snapshot() == before


def test_json_save_with_the_csrf_header_passes(app, world, login_as, journal_rows):
    """The control: the same JSON save with the page's token in X-CSRFToken goes through."""
    teacher = login_as("teacher")
    app.config["WTF_CSRF_ENABLED"] = True
    page = teacher.get("/lessonview/add").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    mark = {"lesson_id": journal_rows["lesson"].id, "student_id": journal_rows["kid"].id, "kind": "mark",
            "work_type_id": journal_rows["work_type"].id, "value": 5}
    assert teacher.post("/journal/cell", json=mark).status_code == 400
    assert teacher.post("/journal/cell", json=mark, headers={"X-CSRFToken": token}).status_code == 200


def test_get_never_mutates(app, world, login_as):
    """FAB refuses deletes and actions over GET while CSRF protection is installed."""
    admin = login_as("admin")
    kid = world.students["Борисов"]
    admin.get(f"/studentview/delete/{kid.id}")
    db.session.expire_all()
    assert db.session.get(Student, kid.id) is not None
    assert not app.config.get("FAB_ALLOW_GET_UNSAFE_MUTATIONS")


def test_rest_api_with_jwt_needs_no_csrf_token(app, world):
    """FAB exempts its API blueprints: a bearer token is not sent by browsers on their own."""
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    login = client.post("/api/v1/security/login", json={
        "username": "teacher", "password": PASSWORD, "provider": "db", "refresh": False})
    assert login.status_code == 200
    token = login.json["access_token"]
    assert client.get("/api/v1/lesson/", headers={"Authorization": f"Bearer {token}"}).status_code == 200
