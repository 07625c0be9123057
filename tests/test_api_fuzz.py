"""Fuzzing of the REST API with schemathesis against `/api/v1/_openapi` (issue 8.3), then plain
regression tests of what the fuzzing found.

Every operation of the document is fuzzed as the deployment admin and as a teacher (a JWT in the
Authorization header), with schema-valid and schema-invalid requests; each response must not be a
5xx and must match the document (status code, content type, body schema); schema-invalid requests
must be refused. The run is bounded and deterministic: FUZZ_EXAMPLES requests per operation and
generation mode (default 2), seeded (FUZZ_SEED) so every run sends the same cases, no example
database. A longer run:

    FUZZ_EXAMPLES=25 .venv/bin/pytest tests/test_api_fuzz.py -k fuzz_the_openapi

Failures are collected over all operations and reported together (one line per operation and
check, with a curl command to reproduce; the token is filtered out of it).

The document is FAB's, generated from docstrings; where FAB's generator is wrong, `fab_errata`
corrects the loaded copy, one documented item each, instead of turning checks off. Not checked:
`positive_data_acceptance`, since an id that names no row, a date outside the academic year or
another teacher's lesson is schema-valid and rightly refused with 422.

schemathesis's own pytest integration (`schemathesis.pytest.from_fixture`) fails on pytest 9.2
(`Function` has no `_nodeid`); the operations are driven here with `as_strategy` and Hypothesis.
"""
import copy
import os
import zlib

import pytest
import schemathesis
from flask_babel import lazy_gettext as _l
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import func, select

from app.extensions import db
from app.models import StudyGroup, Subject, TeachingAssignment, study_group_student
from tests.conftest import PASSWORD
from tests.journal_helpers import HTTP_TODAY, add_lessons, message, period_of, work_type
from tests.security_helpers import bearer, changed_tables, fresh, snapshot

INT_MAX = 2**31 - 1  # the largest PostgreSQL `integer`, the id columns' type
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2"))
SEED = int(os.environ.get("FUZZ_SEED", "20260901"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection, ignored_auth]
# A schema-invalid path parameter ("abc" as {pk}) may match no route, or the route of another
# method: werkzeug's router answers (404 or 405, in HTML) before any operation runs, so only "no 5xx"
# says something about the app (schemathesis's ignored_auth check skips these cases too).
ROUTED_CHECKS = [not_a_server_error]
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
METHODS = ("get", "put", "post", "delete", "patch")


def fab_errata(doc: dict) -> dict:
    """A copy of FAB's generated document with the mistakes of FAB's generator corrected."""
    doc = copy.deepcopy(doc)
    responses = doc["components"]["responses"]
    # 1. FAB answers a marshmallow ValidationError with {"message": {field: [errors]}} (400 of the
    #    login, 422 of post/put), but documents `message` as a string.
    for code in ("400", "422"):
        schema = responses[code]["content"]["application/json"]["schema"]
        schema["properties"]["message"] = {"anyOf": [{"type": "string"}, {"type": "object"}]}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            codes = op.setdefault("responses", {})
            # 2. @protect answers 401 without a valid token and 403 without the permission on every
            #    protected operation; FAB defines both responses but lists them on few operations.
            if op.get("security"):
                for code in ("401", "403"):
                    codes.setdefault(code, {"$ref": f"#/components/responses/{code}"})
            # 3. FAB routes GET /<entity>/<pk> as `<int:pk>`, which werkzeug matches for unsigned numbers
            #    only ("-5" is another route's 405), but documents pk as any integer.
            if method == "get":
                for parameter in op.get("parameters", []):
                    if parameter.get("in") == "path" and parameter["name"] == "pk":
                        parameter["schema"]["minimum"] = 0
            ok = codes.get("200") or codes.get("201") or {}
            props = ok.get("content", {}).get("application/json", {}).get("schema", {}).get("properties", {})
            # 4. Primary keys are integers; FAB documents `id` (get, post) and `ids` (get_list) as strings.
            if props.get("id", {}).get("type") == "string":
                props["id"] = {"type": "integer"}
            if props.get("ids", {}).get("items", {}).get("type") == "string":
                props["ids"]["items"] = {"type": "integer"}
            # 5. `_info` answers add_columns/edit_columns as a list of field descriptions, not an object.
            for key in ("add_columns", "edit_columns"):
                if props.get(key) == {"type": "object"}:
                    props[key] = {"type": "array", "items": {"type": "object"}}
    # 6. The menu API puts "-" (a separator) among the children of a menu group; FAB documents
    #    objects only.
    menu = doc["paths"]["/api/v1/menu/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    children = menu["properties"]["result"]["items"]["properties"]["childs"]
    children["items"] = {"anyOf": [children["items"], {"type": "string", "enum": ["-"]}]}
    # 7. The login rate limit (app/security/hardening.py, on FAB's limiter) answers 429 on the two
    #    SecurityApi operations; FAB's docstrings cannot know it.
    for path in ("/api/v1/security/login", "/api/v1/security/refresh"):
        doc["paths"][path]["post"]["responses"]["429"] = {"description": "Too many failed sign-ins"}
    return doc


class _IsolatedRequests:
    """WSGI middleware: each request in its own application context (fresh `g` and session), as in
    production; the test keeps one context open for the whole test (see tests/security_helpers.py)."""

    def __init__(self, app, wsgi_app):
        self.app, self.wsgi_app = app, wsgi_app

    def __call__(self, environ, start_response):
        with self.app.app_context():
            return self.wsgi_app(environ, start_response)


def _fuzz(app, headers: dict, examples: int) -> tuple[dict, int]:
    """Run every operation; failures by (operation, mode, failure title), and the number of requests."""
    doc = app.test_client().get("/api/v1/_openapi", headers=headers).json
    config = schemathesis.Config.from_dict({"seed": SEED, "generation": {"database": "none"}})
    schema = schemathesis.openapi.from_dict(fab_errata(doc), config=config)
    schema.app = app
    failures: dict[tuple, str] = {}
    sent = 0

    def check(case, key: tuple) -> None:
        nonlocal sent
        sent += 1
        try:
            response = case.call(headers=headers)
            case.validate_response(response, checks=ROUTED_CHECKS if _misses_route(case) else CHECKS,
                                   headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                failures.setdefault((*key, failure.title), _describe(case, failure))
        except Exception as err:
            failures.setdefault((*key, type(err).__name__), _describe(case, err))

    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in MODES:
            key = (operation.label, mode.value)
            run = given(case=operation.as_strategy(generation_mode=mode))(_bound(check, key))
            run = seed(SEED + zlib.crc32(" ".join(key).encode()))(run)  # fixed, different per operation
            settings(max_examples=examples, database=None, deadline=None, print_blob=False,
                     phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))(run)()
    return failures, sent


def _bound(check, key: tuple):
    def run(case):
        check(case, key)

    return run


def _misses_route(case) -> bool:
    return case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH)


def _describe(case, failure) -> str:
    message = getattr(failure, "message", None) or str(failure)
    return f"{message.strip()[:300]}\n    {case.as_curl_command()[:500]}"


@pytest.fixture
def isolated_app(app, monkeypatch):
    """The app with isolated requests; the login limiter's counts are reset afterwards."""
    monkeypatch.setattr(app, "wsgi_app", _IsolatedRequests(app, app.wsgi_app))
    yield app
    if app.appbuilder.sm.limiter.enabled:
        app.appbuilder.sm.limiter.reset()


@pytest.mark.parametrize("username", ["admin", "teacher"])
def test_fuzz_the_openapi(isolated_app, world, username):
    """No 5xx and answers as documented, for every operation, as the admin and as a teacher."""
    app = isolated_app
    login = app.test_client().post("/api/v1/security/login", json={
        "username": username, "password": PASSWORD, "provider": "db", "refresh": True})
    headers = bearer(login.json["access_token"])
    failures, sent = _fuzz(app, headers, EXAMPLES)
    assert sent > 0
    report = "\n".join(f"{op} [{mode}] {title}:\n    {detail}"
                       for (op, mode, title), detail in sorted(failures.items()))
    assert not failures, f"{len(failures)} failures in {sent} generated cases:\n{report}"


# ---- what the fuzzing found: each fix as a plain request that is refused and changes nothing ------

@pytest.fixture
def api(app, world, api_token):
    """api("admin", "post", url, json=…) → the response, with that user's JWT."""
    tokens = {}

    def call(username: str, method: str, url: str, **kwargs):
        if username not in tokens:
            tokens[username] = api_token(username)
        return app.test_client().open(url, method=method.upper(), headers=bearer(tokens[username]), **kwargs)

    return call


TOO_BIG = [INT_MAX + 1, 2**63, 2**70]  # PostgreSQL's integer overflows at the first, SQLite at the others


def test_a_related_id_that_names_no_row_is_a_422_on_post(api, world):
    """Before: marshmallow-sqlalchemy built a *new* School from an unknown id (a 500 from the NOT NULL
    of its name, or a junk row where nothing stops it), and a huge number overflowed the database."""
    before = snapshot()
    for value in (409_000, 0, -1, *TOO_BIG, "1", "Group", True, 1.5, [1], {"id": 1}):
        response = api("admin", "post", "/api/v1/subject/", json={"name": "Физика", "school": value})
        assert response.status_code == 422, (value, response.json)
        assert set(response.json["message"]) == {"school"}, value
    assert changed_tables(before, snapshot()) == []


def test_a_related_id_that_names_no_row_is_a_422_on_put(api, world):
    subject = world.subjects["math"]
    before = snapshot()
    for value in (409_000, INT_MAX + 1, "x"):
        response = api("admin", "put", f"/api/v1/subject/{subject.id}", json={"school": value})
        assert response.status_code == 422, (value, response.json)
        assert set(response.json["message"]) == {"school"}
    assert changed_tables(before, snapshot()) == []
    assert fresh(Subject, subject.id).school_id == world.school_a.id


def test_an_id_no_row_can_have_is_a_404(api, world):
    """GET/PUT/DELETE /api/v1/<entity>/<pk> (a model API and two written through services): before,
    a huge pk was the database's overflow (a 500), and on PostgreSQL so was any non-number."""
    before = snapshot()
    for resource in ("bellslot", "mark", "finalgrade"):
        for pk in (*TOO_BIG, "abc", "0", "-1"):
            for method, body in (("get", None), ("put", {"value": "5", "version": 1}), ("delete", None)):
                if (resource, method) == ("finalgrade", "delete"):
                    continue  # final grades are never deleted: no route
                response = api("admin", method, f"/api/v1/{resource}/{pk}", json=body)
                # FAB routes GET for unsigned whole numbers only (`<int:pk>`): werkzeug's 405 for "abc", "-1".
                routed_away = method == "get" and not str(pk).isdigit()
                assert response.status_code == (405 if routed_away else 404), (resource, method, pk)
    assert changed_tables(before, snapshot()) == []


def test_numbers_and_text_that_no_column_holds_are_a_422(api, world):
    """An integer beyond the column (a 500 on both databases), text with NUL (a 500 on PostgreSQL)."""
    before = snapshot()
    for body in ({"number": INT_MAX + 1}, {"number": 2**70}, {"start_time": "08:\x0030"}):
        response = api("admin", "post", "/api/v1/bellslot/", json={
            "school": world.school_a.id, "number": 2, "start_time": "09:30", "end_time": "10:15", **body})
        assert response.status_code == 422, (body, response.json)
        assert set(response.json["message"]) == set(body)
    assert changed_tables(before, snapshot()) == []


def test_weekly_hours_beyond_the_column_are_a_422_and_are_read_as_numbers(api, world):
    """Numeric(4, 1): 1000 hours does not fit (a 500 on PostgreSQL before); FAB answered the Decimal as
    a string ("3.0") where the OpenAPI says number."""
    assignment = db.session.scalar(select(TeachingAssignment).where(
        TeachingAssignment.class_unit_id == world.classes["5А"].id))
    before = snapshot()
    response = api("admin", "put", f"/api/v1/teachingassignment/{assignment.id}", json={"weekly_hours": 1000})
    assert response.status_code == 422, response.json
    assert set(response.json["message"]) == {"weekly_hours"}
    assert changed_tables(before, snapshot()) == []
    shown = api("admin", "get", f"/api/v1/teachingassignment/{assignment.id}").json["result"]
    assert shown["weekly_hours"] == 3.0
    info = api("admin", "get", "/api/v1/teachingassignment/_info").json
    assert {f["name"]: f["type"] for f in info["edit_columns"]}["weekly_hours"] == "Decimal"  # FAB's name


def test_a_study_week_of_7_days_is_a_422_with_the_rule(api, world):
    """Before: the CHECK constraint refused the row inside FAB's `add`, which re-raises: a 500 (and a
    422 quoting the database on PUT)."""
    body = {"full_name": "МБОУ «Школа В»", "short_name": "Школа В", "study_days_per_week": 7}
    before = snapshot()
    for method, url in (("post", "/api/v1/school/"), ("put", f"/api/v1/school/{world.school_a.id}")):
        response = api("admin", method, url, json=body)
        assert response.status_code == 422, (method, response.json)
        assert response.json["message"] == str(_l("The study week has 5 or 6 days."))
    assert changed_tables(before, snapshot()) == []


def test_a_constraint_only_the_database_knows_is_a_422_not_a_500(api, world, monkeypatch):
    """The safety net behind the rules: FAB's `add` re-raises the database's refusal (edit and delete
    answer 422); the API answers 422 and saves nothing."""
    monkeypatch.setattr("app.security.guard.structure.validate", lambda item: None)
    before = snapshot()
    response = api("admin", "post", "/api/v1/school/", json={
        "full_name": "МБОУ «Школа В»", "short_name": "Школа В", "study_days_per_week": 7})
    assert response.status_code == 422, response.json
    assert "ck_school_week" in response.json["message"]
    assert changed_tables(before, snapshot()) == []


def test_a_bad_jwt_is_a_401(app, world, api_token):
    """Flask-JWT-Extended answered a malformed or forged token with 422."""
    forged = api_token("teacher")[:-4] + "AAAA"
    for token in ("abc", "a.b.c", "", forged):
        response = app.test_client().get("/api/v1/student/", headers={"Authorization": f"Bearer {token}".strip()})
        assert response.status_code == 401, (token, response.json)
        assert "result" not in response.json


QUERY_IDS = [
    "/api/v1/journal/?class_id={big}&subject_id={math}&period_id={q1}",
    "/api/v1/journal/?class_id={a}&subject_id={math}&period_id={big}",
    "/api/v1/forecast/?class_id={big}",
    "/api/v1/forecast/?class_id={a}&subject_id={big}",
    "/api/v1/stats/results?period_id={big}",
    "/api/v1/stats/curriculum?period_id={q1}&teacher_id={big}",
]


def test_query_ids_beyond_any_row_are_a_400_naming_the_parameter(api, world):
    """The journal, forecast and stats APIs read ids three ways; none bounded them (a 500)."""
    ids = {"a": world.classes["5А"].id, "math": world.subjects["math"].id, "q1": period_of(world.year_a, 1).id}
    for url in QUERY_IDS:
        for big in (*TOO_BIG, -1):
            response = api("admin", "get", url.format(big=big, **ids))
            assert response.status_code == 400, (url, big, response.json)
            name = next(p.split("=")[0] for p in url.split("?")[1].split("&") if p.endswith("={big}"))
            assert name in response.json["message"]


def test_entry_ids_beyond_any_row_are_a_422(api, world):
    """Marks, attendance and finals are written through the services, with ids read from the body: the
    refusal names the id, every other one naming a real row."""
    (lesson,) = add_lessons(world, HTTP_TODAY)
    kid, math, q1 = world.students["Алексеев"].id, world.subjects["math"].id, period_of(world.year_a, 1).id
    db.session.commit()
    before = snapshot()
    for resource, bad, body in (
            ("mark", "lesson", {"lesson": 2**70, "student": kid, "work_type": work_type(world).id, "value": 5}),
            ("attendance", "student", {"lesson": lesson.id, "student": INT_MAX + 1, "code": "Н"}),
            ("attendance", "lesson", {"lesson": str(lesson.id), "student": kid, "code": "Н"}),
            ("finalgrade", "subject", {"student": kid, "subject": 2**63, "period": q1, "value": "5"}),
            ("finalgrade", "period", {"student": kid, "subject": math, "period": 0, "value": "5"})):
        response = api("admin", "post", f"/api/v1/{resource}/", json=body)
        assert response.status_code == 422, (resource, response.json)
        assert response.json["message"] == message(
            "%(name)s must be a whole number from 1 to %(max)s, got «%(raw)s».", name=bad, max=INT_MAX,
            raw=body[bad]), resource
    assert changed_tables(before, snapshot()) == []
    # Control: the same attendance with a real student is saved.
    body = {"lesson": lesson.id, "student": kid, "code": "Н"}
    assert api("admin", "post", "/api/v1/attendance/", json=body).status_code == 201


def test_a_row_still_used_by_others_is_not_deleted(api, world):
    """Before: SQLite deleted the academic year and left its classes, periods and assignments pointing
    at nothing (the next write of an assignment was a 500); PostgreSQL answered its raw error."""
    before = snapshot()
    for resource, pk in (("academicyear", world.year_a.id), ("subject", world.subjects["math"].id),
                         ("classunit", world.classes["5А"].id), ("school", world.school_b.id)):
        response = api("admin", "delete", f"/api/v1/{resource}/{pk}")
        assert response.status_code == 422, (resource, response.json)
        assert f'{_l("Teaching assignments")}: ' in response.json["message"]  # named as the menu names them
    assert changed_tables(before, snapshot()) == []
    # Control: a row nothing points at is deleted (the student's enrolment and guardians go with it).
    assert api("admin", "delete", f"/api/v1/student/{world.students['Гаврилов'].id}").status_code == 200


def test_an_unparsable_q_is_a_400(api, world):
    """FAB's @rison caught only prison's ParserException; "1e" (a ValueError) or "!" (an IndexError)
    was a 500 on every list, item and _info endpoint."""
    subject = world.subjects["math"].id
    for url in ("/api/v1/subject/", f"/api/v1/subject/{subject}", "/api/v1/subject/_info"):
        for q in ("1e", "-2.0e%2B136", "!"):
            response = api("admin", "get", f"{url}?q={q}")
            assert response.status_code == 400, (url, q, response.json)
            assert response.json["message"] == "Not a valid rison/json argument"
    # Control: rison and JSON still work.
    assert api("admin", "get", "/api/v1/subject/?q=(page_size:1)").json["count"] == 2
    assert api("admin", "get", '/api/v1/subject/?q={"page_size":1}').status_code == 200


def test_a_page_that_is_no_page_is_a_400(api, world):
    """PostgreSQL refuses a negative OFFSET (a 500); a huge page overflowed it."""
    for q in ("(page:-1)", "(page:-1,page_size:10)", f"(page:{2**70})", "(page:1.5)",
              "(add_columns:(school:(page:-1,page_size:5)))"):
        url = "/api/v1/subject/_info" if "add_columns" in q else "/api/v1/subject/"
        response = api("admin", "get", f"{url}?q={q}")
        assert response.status_code == 400, (q, response.json)
    assert api("admin", "get", "/api/v1/subject/?q=(page:1,page_size:1)").json["count"] == 2


def test_a_login_without_the_provider_is_a_400(app, world):
    """FAB's schema leaves `provider` optional and its code then fails on it (a 500)."""
    response = app.test_client().post("/api/v1/security/login", json={"username": "teacher", "password": PASSWORD})
    assert response.status_code == 400
    assert set(response.json["message"]) == {"provider"}


def test_info_describes_fields_without_the_catalogue_header(api, world):
    """FAB translated the empty description with gettext(""), which answers the .po header."""
    info = api("admin", "get", "/api/v1/subject/_info").json
    assert "Project-Id-Version" not in str(info)
    fields_by_name = {f["name"]: f for f in info["add_columns"]}
    assert fields_by_name["school"]["type"] == "Related"
    assert {v["id"] for v in fields_by_name["school"]["values"]} == {world.school_a.id, world.school_b.id}


def test_the_openapi_documents_relations_as_ids(api, world):
    """Written relations were `{}` (anything) in the document, and optional ones read back as null
    were documented as never null."""
    doc = api("admin", "get", "/api/v1/_openapi").json
    schemas = doc["components"]["schemas"]
    assert schemas["SubjectApi.post"]["properties"]["school"] == {"type": "integer", "minimum": 1, "maximum": INT_MAX}
    assert schemas["TeachingAssignmentApi.put"]["properties"]["group"]["nullable"] is True
    group = schemas["TeachingAssignmentApi.get"]["properties"]["group"]
    assert {"nullable": True, "type": "object"} in group["anyOf"]


def test_the_pages_answer_404_for_an_id_no_row_can_have(login_as, world):
    """The same bound on the pages: FAB's show/edit/delete (its user and role screens too) passed any
    text as the pk to the database (an overflow or type error, a 500); its file download had no
    UPLOAD_FOLDER (a 500); our pages read ids from routes and query strings without a bound."""
    client = login_as("admin")
    before = snapshot()
    for pk in (*TOO_BIG, "abc", "0", "-1"):
        for view in ("subjectview", "users", "roles"):
            for method, action in (("get", "show"), ("get", "edit"), ("post", "edit"), ("post", "delete")):
                response = client.open(f"/{view}/{action}/{pk}", method=method.upper(), data={"name": "X"})
                assert response.status_code == 404, (view, action, method, pk)
        for url in (f"/finals/record/{pk}", f"/class/{pk}/changes", f"/class/{pk}/control-works"):
            assert client.get(url).status_code == 404, url
        assert client.post(f"/finals/close/{pk}").status_code == 404
    for view in ("subjectview", "users", "roles"):
        assert client.get(f"/{view}/download/notes.txt").status_code == 404
    math, cls = world.subjects["math"].id, world.classes["5А"].id
    for url, name, raw in ((f"/journal/grid?id={2**70}&subject={math}", "id", 2**70),
                           (f"/journal/grid?id={cls}&subject={math}&period={2**63}", "period", 2**63),
                           (f"/finals/sheet?id={cls}&subject={2**70}", "subject", 2**70),
                           (f"/finals/sheet?id={cls}&subject={math}&period={2**70}", "period", 2**70),
                           (f"/finals/summary?class_id={2**70}", "class_id", 2**70),
                           (f"/finals/summary.pdf?class_id={INT_MAX + 1}", "class_id", INT_MAX + 1)):
        response = client.get(url)
        assert response.status_code in (400, 404), url
        refusal = message("%(name)s must be a whole number from 1 to %(max)s, got «%(raw)s».", name=name,
                          max=INT_MAX, raw=raw)
        assert refusal in response.get_data(as_text=True), url
    assert changed_tables(before, snapshot()) == []
    # Control: real ids are shown.
    assert client.get(f"/subjectview/show/{math}").status_code == 200
    assert client.get(f"/finals/record/{world.students['Алексеев'].id}").status_code == 200


def test_a_filter_that_does_not_suit_its_column_is_a_400(api, world):
    """FAB hands rison filter values to Python and the database as they are: a number for a text filter
    (a TypeError), a number beyond the column (an overflow), a relation filter with an id no row can
    have (an overflow) were 500s."""
    refused = ["(filters:!((col:name,opr:sw,value:5)))", "(filters:!((col:name,opr:ct,value:!(1,2))))",
               f"(filters:!((col:name,opr:eq,value:{2**70})))"]
    for q in refused:
        response = api("admin", "get", f"/api/v1/subject/?q={q}")
        assert response.status_code == 400, (q, response.json)
        assert response.json["message"] == message(
            "A filter's value does not suit its column: text for text filters, numbers within the column's "
            "range for number filters.")
    for value in (2**70, "abc", 0):  # a relation filter naming no row matches nothing
        response = api("admin", "get", f"/api/v1/subject/?q=(filters:!((col:school,opr:rel_o_m,value:{value})))")
        assert (response.status_code, response.json["count"]) == (200, 0), value
    # Control: the same filters with values that suit them.
    assert api("admin", "get", "/api/v1/subject/?q=(filters:!((col:name,opr:sw,value:Мат)))").json["count"] == 2
    school = world.school_a.id
    response = api("admin", "get", f"/api/v1/subject/?q=(filters:!((col:school,opr:rel_o_m,value:{school})))")
    assert response.json["count"] >= 1


def test_deleting_a_student_takes_their_group_memberships_along(api, world):
    """ON DELETE CASCADE on both databases: SQLite enforces foreign keys only when asked per connection
    (app/extensions.py); before, a deleted student's group membership stayed behind, and the next
    student given the same id would have inherited it."""
    kid = world.students["Гаврилов"]
    group = StudyGroup(school_id=kid.school_id, class_unit_id=kid.class_unit_id, name="Английский 1")
    group.students.append(kid)
    db.session.add(group)
    db.session.commit()
    members = select(func.count()).select_from(study_group_student).where(study_group_student.c.student_id == kid.id)
    assert db.session.scalar(members) == 1
    assert api("admin", "delete", f"/api/v1/student/{kid.id}").status_code == 200
    assert db.session.scalar(members) == 0
    assert fresh(StudyGroup, group.id).students == []
