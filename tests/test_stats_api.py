"""GET /api/v1/stats/results and /api/v1/stats/curriculum: JWT, the administration only, the user's
school only, clear 400s on bad parameters, and the hand-computed figures of the crafted world."""
import pytest

from tests.stats_helpers import build_curriculum, build_results, other_period

pytestmark = pytest.mark.usefixtures("isolated", "http_today")


def get(app, token, path, **params):
    return app.test_client().get(f"/api/v1/stats/{path}", query_string=params,
                                 headers={"Authorization": f"Bearer {token}"})


def test_results_as_json(app, world, api_token):
    built = build_results(world)
    token = api_token("director")
    body = get(app, token, "results", period_id=built["q1"].id).json
    assert body["period"]["id"] == built["q1"].id
    assert (body["school"]["n"], body["school"]["success"], body["school"]["quality"]) == (12, 66.67, 50.0)
    a = next(c for c in body["classes"] if c["name"] == "5А")
    assert (a["successful"], a["quality_students"], a["students_n"]) == (3, 1, 7)
    narrowed = get(app, token, "results", period_id=built["q1"].id, class_id=world.classes["5А"].id,
                   subject_id=world.subjects["math"].id).json
    assert narrowed["school"]["n"] == 7 and narrowed["school"]["sou"] == 46.14
    assert narrowed["school"]["counts"]["н/а"] == 1
    by_teacher = get(app, token, "results", period_id=built["q1"].id, teacher_id=world.staff["teacher_b"].id).json
    assert by_teacher["school"]["n"] == 1
    assert get(app, token, "results", period_id=built["q1"].id, grade=5).json["school"]["n"] == 12


def test_curriculum_as_json(app, world, api_token):
    built = build_curriculum(world)
    body = get(app, api_token("director"), "curriculum", period_id=built["q1"].id).json
    row = next(r for r in body["curriculum"] if r["subject"] == "Математика")
    assert (row["planned"], row["held"], row["cancelled"], row["deficit"], row["percent"]) == (10, 6, 2, 4, 60.0)
    assert (row["control_planned"], row["control_held"]) == (2, 1)
    assert body["attendance"][0]["missed"] == 4


@pytest.mark.parametrize(("params", "words"), [
    ({}, "period_id"),
    ({"period_id": "abc"}, "period_id"),
    ({"period_id": "Q1", "grade": "x"}, "grade"),
    ({"grade": "12"}, "grade"),
    ({"class_id": "B5А"}, "class_id"),
    ({"subject_id": "999999"}, "subject_id"),
    ({"teacher_id": "teacher_other"}, "teacher_id"),
    ({"student": "1"}, "Неизвестные параметры: student"),
])
def test_bad_parameters_are_a_clear_400(app, world, api_token, params, words):
    built = build_results(world)
    ids = {"Q1": built["q1"].id, "B5А": world.classes["B5А"].id, "teacher_other": world.staff["teacher_other"].id}
    query = {"period_id": built["q1"].id} | {k: ids.get(v, v) for k, v in params.items()}
    if not params:
        query = {}
    for path in ("results", "curriculum"):
        response = get(app, api_token("director"), path, **query)
        assert response.status_code == 400, response.json
        assert words in response.json["message"], response.json


def test_another_schools_period_is_refused(app, world, api_token):
    build_results(world)
    for path in ("results", "curriculum"):
        response = get(app, api_token("director"), path, period_id=other_period(world).id)
        assert response.status_code == 404 and "Математика" not in response.get_data(as_text=True)
    assert get(app, api_token("director_b"), "results", period_id=other_period(world).id).status_code == 200


def test_teachers_and_anonymous_get_nothing(app, world, api_token):
    built = build_results(world)
    for user in ("teacher", "classteacher", "registrar"):
        assert get(app, api_token(user), "results", period_id=built["q1"].id).status_code == 403
    assert app.test_client().get(f"/api/v1/stats/results?period_id={built['q1'].id}").status_code == 401
    assert get(app, api_token("auditor"), "curriculum", period_id=built["q1"].id).status_code == 200


def test_openapi_describes_the_stats_endpoints(app, world, api_token):
    response = app.test_client().get("/api/v1/_openapi", headers={"Authorization": f"Bearer {api_token('director')}"})
    spec = response.json["paths"]
    for path in ("/api/v1/stats/results", "/api/v1/stats/curriculum"):
        names = {p["name"] for p in spec[path]["get"]["parameters"]}
        assert names == {"period_id", "class_id", "subject_id", "grade", "teacher_id"}
