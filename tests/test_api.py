"""REST API: JWT login, 401/403, creation with readable 422s, guarded updates, OpenAPI."""
from sqlalchemy import func, select

from app.api import API_SPECS
from app.extensions import db
from app.models import ClassUnit, Enrolment, School, Student, TeachingAssignment
from tests.conftest import PASSWORD
from tests.security_helpers import bearer, changed_tables, fresh, snapshot

RESOURCES = [spec[2] for spec in API_SPECS]


def test_jwt_login_with_refresh_token(app, world):
    client = app.test_client()
    response = client.post("/api/v1/security/login", json={
        "username": "director", "password": PASSWORD, "provider": "db", "refresh": True})
    assert response.status_code == 200
    tokens = response.json
    assert set(tokens) == {"access_token", "refresh_token"}
    listed = client.get("/api/v1/classunit/", headers=bearer(tokens["access_token"]))
    assert listed.status_code == 200 and listed.json["count"] == 2
    refreshed = client.post("/api/v1/security/refresh", headers=bearer(tokens["refresh_token"]))
    assert refreshed.status_code == 200
    assert client.get("/api/v1/classunit/", headers=bearer(refreshed.json["access_token"])).status_code == 200


def test_jwt_login_with_bad_credentials_is_401(app, world):
    client = app.test_client()
    for username, password in (("director", "wrong-pass"), ("nobody", PASSWORD), ("teacher", PASSWORD + "x")):
        response = client.post("/api/v1/security/login", json={
            "username": username, "password": password, "provider": "db", "refresh": True})
        assert response.status_code == 401, username
        assert "access_token" not in (response.json or {})


def test_every_api_is_401_without_a_token(app, world):
    """List, item, create, update and delete of every entity API without a token (no session either)."""
    client = app.test_client()
    pk = world.classes["5А"].id
    before = snapshot()
    wrong = []
    for name in RESOURCES:
        for http, url, body in (("GET", f"/api/v1/{name}/", None), ("GET", f"/api/v1/{name}/{pk}", None),
                                ("GET", f"/api/v1/{name}/_info", None), ("POST", f"/api/v1/{name}/", {}),
                                ("PUT", f"/api/v1/{name}/{pk}", {}), ("DELETE", f"/api/v1/{name}/{pk}", None)):
            response = client.open(url, method=http, json=body)
            if response.status_code != 401:
                wrong.append(f"{http} {url} → {response.status_code}")
    assert not wrong, "\n".join(wrong)
    assert changed_tables(before, snapshot()) == []


def test_a_forged_token_gets_no_data(app, world):
    response = app.test_client().get("/api/v1/student/", headers=bearer("not.a.token"))
    assert response.status_code in (401, 422)
    assert "result" not in (response.json or {})


def _class_body(world, **changes) -> dict:
    body = {"school": world.school_a.id, "year": world.year_a.id, "grade": 6, "letter": "В",
            "period_kind": "quarter", "class_teacher": world.staff["teacher_b"].id}
    return {**body, **changes}


def test_director_creates_a_class(app, world, api_token):
    response = app.test_client().post("/api/v1/classunit/", json=_class_body(world),
                                      headers=bearer(api_token("director")))
    assert response.status_code == 201, response.json
    created = fresh(ClassUnit, response.json["id"])
    assert (created.school_id, created.year_id, created.grade, created.letter) == (
        world.school_a.id, world.year_a.id, 6, "В")
    assert created.class_teacher_id == world.staff["teacher_b"].id
    assert response.json["result"]["letter"] == "В"


CLASS_RULES = [
    ({"grade": 12}, "Параллель должна быть от 1 до 11."),
    ({"grade": 0}, "Параллель должна быть от 1 до 11."),
    ({"grade": 5, "letter": "А"}, "Класс 5А уже есть в учебном году 2026/2027."),
    ({"grade": 5, "letter": " а "}, "Класс 5А уже есть в учебном году 2026/2027."),
]


def test_class_rules_answer_422_with_a_readable_message(app, world, api_token):
    """Grade out of 1–11 and a duplicate 5А (also written « а ») are 422 with the rule's words."""
    client, headers = app.test_client(), bearer(api_token("director"))
    before = snapshot()
    for changes, message in CLASS_RULES:
        response = client.post("/api/v1/classunit/", json=_class_body(world, **changes), headers=headers)
        assert (response.status_code, response.json["message"]) == (422, message), changes
    assert changed_tables(before, snapshot()) == []


def test_put_moving_a_student_to_another_schools_class_is_422(app, world, api_token):
    client, headers = app.test_client(), bearer(api_token("director"))
    student = world.students["Алексеев"]
    before = snapshot()
    response = client.put(f"/api/v1/student/{student.id}", json={"class_unit": world.classes["B5А"].id},
                          headers=headers)
    assert response.status_code == 422
    assert response.json["message"] == f"Запись «#{world.classes['B5А'].id}» вам недоступна."
    assert changed_tables(before, snapshot()) == []
    assert fresh(Student, student.id).class_unit_id == world.classes["5А"].id
    # Control: a move inside the school is accepted and the enrolment history follows.
    response = client.put(f"/api/v1/student/{student.id}", json={"class_unit": world.classes["5Б"].id},
                          headers=headers)
    assert response.status_code == 200, response.json
    assert fresh(Student, student.id).class_unit_id == world.classes["5Б"].id
    open_enrolments = db.session.scalars(select(Enrolment.class_unit_id).where(
        Enrolment.student_id == student.id, Enrolment.end.is_(None))).all()
    assert open_enrolments == [world.classes["5Б"].id]


def test_put_of_another_schools_student_is_404(app, world, api_token):
    before = snapshot()
    response = app.test_client().put(f"/api/v1/student/{world.students['Гаврилов'].id}",
                                     json={"surname": "Взлом"}, headers=bearer(api_token("director")))
    assert response.status_code == 404
    assert changed_tables(before, snapshot()) == []


def test_delete_by_a_teacher_is_403(app, world, api_token):
    client, teacher, director = app.test_client(), bearer(api_token("teacher")), bearer(api_token("director"))
    assignment = db.session.scalar(select(TeachingAssignment.id).where(
        TeachingAssignment.teacher_id == world.staff["teacher"].id))
    before = snapshot()
    for resource, pk in (("student", world.students["Алексеев"].id), ("classunit", world.classes["5А"].id),
                         ("teachingassignment", assignment)):
        assert client.delete(f"/api/v1/{resource}/{pk}", headers=teacher).status_code == 403, resource
        assert client.get(f"/api/v1/{resource}/{pk}", headers=director).status_code == 200, resource
    assert changed_tables(before, snapshot()) == []


def test_delete_by_the_director_works(app, world, api_token):
    """Control for the 403 above: the same call with a write permission deletes the row."""
    client, headers = app.test_client(), bearer(api_token("director"))
    pk = client.post("/api/v1/classunit/", json=_class_body(world), headers=headers).json["id"]
    assert client.delete(f"/api/v1/classunit/{pk}", headers=headers).status_code == 200
    assert fresh(ClassUnit, pk) is None
    assert db.session.scalar(select(func.count()).select_from(ClassUnit)) == 3


def test_openapi_lists_our_entity_paths(app, world, api_token):
    response = app.test_client().get("/api/v1/_openapi", headers=bearer(api_token("teacher")))
    assert response.status_code == 200
    paths = response.json["paths"]
    wanted = [f"/api/v1/{name}/{tail}" for name in RESOURCES for tail in ("", "{pk}")]
    assert [path for path in wanted if path not in paths] == []
    assert {"get", "post"} <= set(paths["/api/v1/classunit/"])
    assert {"get", "put", "delete"} <= set(paths["/api/v1/classunit/{pk}"])


def test_openapi_needs_a_login(client, world):
    assert client.get("/api/v1/_openapi").status_code == 401


def test_only_the_deployment_admin_deletes_a_school(app, world, api_token, login_as):
    """The director may edit the own school but not delete it (with every row of it), in the API or UI."""
    client, own = app.test_client(), world.school_a.id
    before = snapshot()
    response = client.delete(f"/api/v1/school/{own}", headers=bearer(api_token("director")))
    assert response.status_code == 422
    assert response.json["message"] == "Эта запись вам недоступна."
    page = login_as("director").post(f"/schoolview/delete/{own}", follow_redirects=True).get_data(as_text=True)
    assert "Эта запись вам недоступна." in page
    assert changed_tables(before, snapshot()) == []
    assert fresh(School, own) is not None
    admin = bearer(api_token("admin"))
    created = client.post("/api/v1/school/", headers=admin,
                          json={"full_name": "МБОУ «Школа В»", "short_name": "Школа В"})
    assert created.status_code == 201, created.json
    assert client.delete(f"/api/v1/school/{created.json['id']}", headers=admin).status_code == 200
    assert fresh(School, created.json["id"]) is None
