"""What every request pays before its own work (issue 19): signing in, the session epoch, the staff record and
every permission of the user's roles and of the public role are one statement, on FAB pages and REST calls,
with a session cookie or a JWT. Deterministic counts, not times."""
import base64
import json

import pytest
from flask import current_app
from flask_appbuilder.api.schemas import get_list_schema
from jsonschema.validators import validator_for

from tests.journal_helpers import statements, the_apps
from tests.security_helpers import bearer


def sent(client, url: str, **kwargs) -> list[str]:
    """The app's statements of one GET that answers 200."""
    with statements() as seen:
        response = client.get(url, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return the_apps(seen)


def signing_in(seen: list[str]) -> list[str]:
    """The statements about users, roles, grants or session epochs."""
    return [s for s in seen if "ab_" in s or "session_epoch" in s]


@pytest.mark.parametrize("by", ["jwt", "cookie"])
def test_a_rest_call_reads_user_epoch_staff_and_grants_in_one_statement(world, login_as, api_token, by):
    client = login_as("director")  # a teacher's scope reads their assignments besides: work of its own
    headers = bearer(api_token("director")) if by == "jwt" else {}
    url = f"/api/v1/subject/{world.subjects['math'].id}"
    client.get(url, headers=headers)  # the app's first call of a kind may warm caches of its own
    seen = sent(client, url, headers=headers)
    assert len(signing_in(seen)) == 1, seen
    assert "session_epoch" in seen[0] and "ab_permission_view_role" in seen[0] and "staff" in seen[0], seen[0]
    assert len(seen) == 2, "\n".join(s[:150] for s in seen)  # and the subject


def test_a_fab_page_reads_them_in_one_statement_too(world, login_as):
    client = login_as("director")
    client.get("/subjectview/list/")
    seen = sent(client, "/subjectview/list/")
    assert len(signing_in(seen)) == 1, seen
    assert "ab_permission_view_role" in seen[0] and "session_epoch" in seen[0], seen[0]
    assert len(sent(client, "/logout/")) == 1  # a page of no own work: the fixed cost alone


def test_an_anonymous_page_reads_the_public_grants_once(client, world):
    assert len(sent(client, "/login/")) == 1


def forged(token: str, sub) -> str:
    """The token with its subject replaced (its signature no longer matches)."""
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = sub
    return f"{head}.{base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip('=')}.{signature}"


def test_a_token_of_another_subject_is_still_refused(world, api_token, client):
    """The bearer token's subject is read before its signature is checked (to read that user with the public
    grants): one claiming the admin's id with a teacher's signature, an id no row can have, a subject that
    is no id, or no token at all, is refused all the same (401, no 500) and shows nothing."""
    token = api_token("teacher")
    admin = str(current_app.appbuilder.sm.find_user(username="admin").id)
    for bad in (forged(token, admin), forged(token, "99999999999999999999"), forged(token, -1),
                forged(token, [1]), "not-a-token", "a.b.c", "a.bm90IGpzb24.c", "a.WzFd.c"):
        response = client.get("/api/v1/subject/", headers=bearer(bad))
        assert response.status_code == 401, (bad, response.status_code)
        assert "Математика" not in response.get_data(as_text=True)


def test_fabs_rison_schemas_are_checked_once_not_per_request(world, login_as, monkeypatch):
    """FAB's @rison ran jsonschema.validate, which checks the schema against the meta-schema every time:
    after the first request a list checks none; a `q` that does not suit the schema is FAB's 400 as ever."""
    kind = validator_for(get_list_schema)
    checked, real = [], kind.check_schema
    monkeypatch.setattr(kind, "check_schema", classmethod(lambda _cls, schema, **kw: (checked.append(schema),
                                                                                      real(schema, **kw))[1]))
    client = login_as("director")
    assert client.get("/api/v1/subject/").status_code == 200
    checked.clear()
    assert client.get("/api/v1/subject/?q=(page_size:2,page:0)").json["count"] >= 1
    assert client.get("/api/v1/subject/").status_code == 200
    assert checked == []
    refused = client.get("/api/v1/subject/?q=(page_size:two)")
    assert refused.status_code == 400 and refused.json["message"].startswith("Not a valid rison schema")


def test_a_token_call_gets_no_session_cookie_and_the_language_choice_holds(world, app, api_token, login_as):
    """FAB's locale choice wrote the default language into the session: every REST call with a token and
    no cookie was answered with a new signed session cookie. The reader's choice still holds."""
    response = app.test_client(use_cookies=False).get("/api/v1/subject/", headers=bearer(api_token("director")))
    assert response.status_code == 200 and response.headers.getlist("Set-Cookie") == []
    client = login_as("director")
    assert '<html lang="ru"' in client.get("/logout/").get_data(as_text=True)
    assert '<html lang="en"' in client.get("/logout/?_l_=en").get_data(as_text=True)
    assert '<html lang="ru"' in client.get("/logout/?_l_=xx").get_data(as_text=True)  # unknown: the default
    assert client.get("/lang/en").status_code == 302
    assert '<html lang="en"' in client.get("/logout/").get_data(as_text=True)
