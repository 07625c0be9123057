"""Sessions and tokens end when they should (issue 15, point 2): logout (a POST with the CSRF token), a
password change (own, by the admin, by any other path) and a deactivation end every session cookie,
access JWT and refresh token of the user; the refresh token lives a day; the REST API takes the session
cookie only with the CSRF token."""
import re

import pytest
import requests
from flask_appbuilder.security.sqla.models import User
from flask_jwt_extended import decode_token
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import Recommendation, SessionEpoch
from tests.conftest import PASSWORD
from tests.journal_helpers import message
from tests.security_helpers import bearer

NEW_PASSWORD = "Весна2026тетрадь"
PAGE, API = "/journal/", "/api/v1/classunit/"


def user(username: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def tokens(app, username: str = "teacher", password: str = PASSWORD) -> dict:
    response = app.test_client().post("/api/v1/security/login", json={
        "username": username, "password": password, "provider": "db", "refresh": True})
    assert response.status_code == 200, response.json
    return response.json


def cookie_of(client) -> str:
    return client.get_cookie("session").value


def with_cookie(app, value: str):
    """A new client presenting a copied session cookie (what a thief or a shared computer keeps)."""
    client = app.test_client()
    client.set_cookie("session", value)
    return client


def signed_in(client) -> bool:
    """The page answers the user (200) or sends them to the login (302)."""
    response = client.get(PAGE)
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200 and "/login/" not in response.headers.get("Location", "")


def state(app, clients: dict, jwt: dict) -> dict:
    """What still works: each session on a page and on the API, the access JWT, the refresh token."""
    out = {name: (signed_in(c), c.get(API).status_code) for name, c in clients.items()}
    out["access"] = app.test_client().get(API, headers=bearer(jwt["access_token"])).status_code
    out["refresh"] = app.test_client().post("/api/v1/security/refresh",
                                            headers=bearer(jwt["refresh_token"])).status_code
    return out


def all_work(names) -> dict:
    return {**{n: (True, 200) for n in names}, "access": 200, "refresh": 200}


def all_ended(names) -> dict:
    return {**{n: (False, 401) for n in names}, "access": 401, "refresh": 401}


def csrf_of(client) -> str:
    page = client.get("/logout/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


# --- logout --------------------------------------------------------------------------------------

def test_logout_ends_every_session_and_token_of_the_user(app, world, login_as):
    laptop, phone = login_as("teacher"), login_as("teacher")
    other = login_as("teacher_b")
    jwt = tokens(app)
    copied = cookie_of(laptop)
    clients = {"laptop": laptop, "phone": phone, "copied": with_cookie(app, copied)}
    assert state(app, clients, jwt) == all_work(clients)

    response = laptop.post("/logout/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/")
    assert state(app, clients, jwt) == all_ended(clients)
    assert laptop.get(PAGE).headers["Location"].startswith("/login/")
    assert signed_in(other)  # another user's session goes on
    # A new sign-in works and is not ended by the old logout.
    assert signed_in(login_as("teacher"))
    assert state(app, {}, tokens(app)) == all_work([])


def test_get_logout_only_asks(app, world, login_as, client):
    teacher = login_as("teacher")
    page = teacher.get("/logout/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.search(r'<form method="post" action="/logout/">', html) and 'name="csrf_token"' in html
    assert message("Signing out ends every session of your account, on every device, and its API tokens.") in html
    assert signed_in(teacher)  # nothing ended
    assert db.session.scalar(select(func.count()).select_from(SessionEpoch)) == 0
    assert client.get("/logout/").headers["Location"].startswith("/login/")  # anonymous: to the login


def test_the_navbar_logs_out_with_a_post_form(login_as):
    html = login_as("teacher").get(PAGE).get_data(as_text=True)
    assert 'href="/logout/"' not in html
    form = re.search(r'<form method="post" action="/logout/" class="navbar-logout">(.*?)</form>', html, re.S)
    assert form and 'name="csrf_token"' in form.group(1) and 'type="submit"' in form.group(1)


def test_logout_needs_the_csrf_token(app, login_as):
    teacher = login_as("teacher")
    app.config["WTF_CSRF_ENABLED"] = True
    token = csrf_of(teacher)
    refused = teacher.post("/logout/")
    assert refused.status_code == 400 and b"CSRF" in refused.data
    assert signed_in(teacher)
    assert teacher.post("/logout/", data={"csrf_token": token}).status_code == 302
    assert not signed_in(teacher)


# --- password changes and deactivation -----------------------------------------------------------

def test_own_password_change_ends_the_other_sessions_and_tokens(app, world, login_as):
    teacher, phone = login_as("teacher"), login_as("teacher")
    jwt = tokens(app)
    copied = with_cookie(app, cookie_of(teacher))
    response = teacher.post("/resetmypassword/form", data={"password": NEW_PASSWORD, "conf_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert state(app, {"phone": phone, "copied": copied}, jwt) == all_ended(["phone", "copied"])
    assert signed_in(teacher)  # the browser that changed it goes on with its new cookie
    assert state(app, {}, tokens(app, password=NEW_PASSWORD)) == all_work([])


def test_admin_password_reset_ends_the_users_sessions_and_tokens(app, world, login_as):
    teacher, admin = login_as("teacher"), login_as("admin")
    jwt = tokens(app)
    response = admin.post(f"/resetpassword/form?pk={user('teacher').id}",
                          data={"password": NEW_PASSWORD, "conf_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert state(app, {"teacher": teacher}, jwt) == all_ended(["teacher"])
    assert signed_in(admin)


def test_deactivation_ends_them_and_reactivation_does_not_revive_them(app, world, login_as):
    teacher, admin = login_as("teacher"), login_as("admin")
    jwt = tokens(app)
    who = user("teacher")
    form = {"first_name": who.first_name, "last_name": who.last_name, "username": who.username,
            "email": who.email, "roles": [str(r.id) for r in who.roles]}
    assert admin.post(f"/users/edit/{who.id}", data=form).status_code == 302  # «active» unticked
    assert user("teacher").active is False
    assert state(app, {"teacher": teacher}, jwt) == all_ended(["teacher"])
    assert admin.post(f"/users/edit/{who.id}", data={**form, "active": "y"}).status_code == 302
    assert user("teacher").active is True
    assert state(app, {"teacher": teacher}, jwt) == all_ended(["teacher"])
    assert signed_in(login_as("teacher"))


@pytest.mark.parametrize("path", ["security manager", "ORM"])
def test_a_password_set_on_any_other_path_ends_them_too(app, world, login_as, path):
    """FAB's reset_password (its CLI `fab reset-password`, its user API) or a plain ORM write: the flush
    guard bumps the epoch whichever way the password changes."""
    teacher = login_as("teacher")
    jwt = tokens(app)
    if path == "ORM":
        target = user("teacher")
        target.password = generate_password_hash(NEW_PASSWORD)
        db.session.commit()
    else:
        app.appbuilder.sm.reset_password(user("teacher").id, NEW_PASSWORD)
    assert state(app, {"teacher": teacher}, jwt) == all_ended(["teacher"])


def test_a_sign_in_or_other_change_of_the_user_ends_nothing(app, world, login_as):
    """FAB updates the user at every sign-in (counters, last login): that must not end other sessions."""
    teacher = login_as("teacher")
    jwt = tokens(app)
    login_as("teacher")
    target = user("teacher")
    target.first_name = "Мария"
    db.session.commit()
    assert state(app, {"teacher": teacher}, jwt) == all_work(["teacher"])


def test_a_jwt_without_the_epoch_is_refused(app, world):
    from flask_jwt_extended import create_access_token

    with app.test_request_context():
        forged = create_access_token(identity=str(user("teacher").id), additional_claims={"epoch": None})
    assert app.test_client().get(API, headers=bearer(forged)).status_code == 401


# --- refresh lifetime ----------------------------------------------------------------------------

def test_the_refresh_token_lives_a_day_by_default_and_follows_the_setting(app, world):
    assert app.config["JWT_REFRESH_TOKEN_EXPIRES"] == 86400
    with app.test_request_context():
        claims = decode_token(tokens(app)["refresh_token"])
        assert claims["exp"] - claims["iat"] == 86400
        app.config["JWT_REFRESH_TOKEN_EXPIRES"] = 7200
        claims = decode_token(tokens(app)["refresh_token"])
        assert claims["exp"] - claims["iat"] == 7200


# --- the REST API and the session cookie ---------------------------------------------------------

def recommendation(world) -> dict:
    return {"teacher": world.staff["teacher"].id, "student": world.students["Алексеев"].id,
            "text": "Повторить дроби", "date": "2026-09-10"}


def recommendations() -> int:
    return db.session.scalar(select(func.count()).select_from(Recommendation))


def test_the_api_takes_a_session_cookie_only_with_the_csrf_token(app, world, login_as):
    teacher = login_as("teacher")
    app.config["WTF_CSRF_ENABLED"] = True
    token = csrf_of(teacher)
    refused = teacher.post("/api/v1/recommendation/", json=recommendation(world))
    assert refused.status_code == 400
    assert refused.json == {"message": message(
        "The REST API takes a browser session only with its CSRF token in the X-CSRFToken header; other "
        "clients sign in for a JWT (POST /api/v1/security/login) and send it as Authorization: Bearer.")}
    wrong = teacher.post("/api/v1/recommendation/", json=recommendation(world), headers={"X-CSRFToken": "forged"})
    assert wrong.status_code == 400
    assert recommendations() == 0
    assert teacher.get(API).status_code == 200  # reading needs no token

    created = teacher.post("/api/v1/recommendation/", json=recommendation(world), headers={"X-CSRFToken": token})
    assert created.status_code == 201, created.json
    pk = created.json["id"]
    for method in ("put", "delete"):
        response = getattr(teacher, method)(f"/api/v1/recommendation/{pk}", json={"text": "Взлом"})
        assert response.status_code == 400, method
    assert recommendations() == 1
    assert db.session.get(Recommendation, pk).text == "Повторить дроби"


def test_a_bearer_token_decides_alone(app, world, login_as):
    """With an Authorization header the session cookie is not used: a bad token is a 401 even next to a
    good session, and a good token needs no CSRF token."""
    teacher = login_as("teacher")
    app.config["WTF_CSRF_ENABLED"] = True
    bad = teacher.post("/api/v1/recommendation/", json=recommendation(world), headers=bearer("not-a-token"))
    assert bad.status_code == 401 and recommendations() == 0
    good = app.test_client().post("/api/v1/recommendation/", json=recommendation(world),
                                  headers=bearer(tokens(app)["access_token"]))
    assert good.status_code == 201 and recommendations() == 1


# --- through a real HTTP server ------------------------------------------------------------------

def test_logout_over_http_ends_the_cookie_and_the_tokens(app, live_server):
    app.config["WTF_CSRF_ENABLED"] = True
    browser = requests.Session()
    login_page = browser.get(f"{live_server}/login/").text
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    assert browser.post(f"{live_server}/login/", data={"username": "teacher", "password": PASSWORD,
                                                       "csrf_token": csrf}, allow_redirects=False).status_code == 302
    old_cookie = browser.cookies.get("session")
    jwt = requests.post(f"{live_server}/api/v1/security/login", json={
        "username": "teacher", "password": PASSWORD, "provider": "db", "refresh": True}).json()

    def page(cookie):
        return requests.get(f"{live_server}{PAGE}", cookies={"session": cookie}, allow_redirects=False)

    assert page(old_cookie).status_code == 200
    # The API: the cookie alone may read but not write; with the page's CSRF token it writes.
    assert requests.get(f"{live_server}{API}", cookies={"session": old_cookie}).status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(f"{live_server}/logout/").text).group(1)
    assert browser.post(f"{live_server}/api/v1/recommendation/", json={}).status_code == 400
    assert browser.post(f"{live_server}/api/v1/recommendation/", json={},
                        headers={"X-CSRFToken": token}).status_code == 422  # past the CSRF check: the body

    assert browser.get(f"{live_server}/logout/", allow_redirects=False).status_code == 200  # GET only asks
    assert browser.post(f"{live_server}/logout/", allow_redirects=False).status_code == 400  # no CSRF token
    out = browser.post(f"{live_server}/logout/", data={"csrf_token": token}, allow_redirects=False)
    assert out.status_code == 302
    stale = page(old_cookie)
    assert stale.status_code == 302 and "/login/" in stale.headers["Location"]
    assert requests.get(f"{live_server}{API}", cookies={"session": old_cookie}).status_code == 401
    assert requests.get(f"{live_server}{API}", headers=bearer(jwt["access_token"])).status_code == 401
    assert requests.post(f"{live_server}/api/v1/security/refresh",
                         headers=bearer(jwt["refresh_token"])).status_code == 401
