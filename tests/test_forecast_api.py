"""GET /api/v1/forecast/ with a JWT and the forecast pages: rows per student × subject within the
user's scope (another teacher's or another school's class is a 404, nothing leaks), 400 with a clear
message on bad parameters, 403 without the permission; the teacher, class and «at risk» pages."""
import pytest
from flask import current_app

from tests.forecast_helpers import NOV, marks, russian
from tests.journal_helpers import period_of

pytestmark = pytest.mark.usefixtures("isolated", "today")
URL = "/api/v1/forecast/"


@pytest.fixture
def call(api_token):
    """call("teacher", "?class_id=1") → the response of GET /api/v1/forecast/ with that user's JWT."""
    tokens = {}

    def request(username, query=""):
        if username not in tokens:
            tokens[username] = api_token(username)
        return current_app.test_client().get(URL + query, headers={"Authorization": f"Bearer {tokens[username]}"})

    return request


@pytest.fixture
def graded(world):
    """Алексеев 5, 4 and 3 (weight 5): 3.42; Борисов a 2 (projected 2, too few marks); Васильев (5Б) 4."""
    marks(world, "Алексеев", (NOV[0], 5, 1), (NOV[1], 4, 1), (NOV[2], 3, 5))
    marks(world, "Борисов", (NOV[0], 2, 1))
    marks(world, "Васильев", (NOV[0], 4, 1))
    return world


def table(response) -> dict[str, dict]:
    return {r["student"].split()[0] + ":" + r["subject"]: r for r in response.json["rows"]}


def test_the_teacher_reads_the_forecast_of_their_class(graded, call):
    five_a = graded.classes["5А"].id
    response = call("teacher", f"?class_id={five_a}")
    assert response.status_code == 200, response.json
    rows = table(response)
    assert set(rows) == {"Алексеев:Математика", "Борисов:Математика"}
    a, b = rows["Алексеев:Математика"], rows["Борисов:Математика"]
    assert (a["average"], a["marks"], a["projected"], a["next_grade"], a["distance"], a["flags"]) == (
        3.42, 3, 3, 4, 0.18, [])
    assert (b["average"], b["projected"], b["flags"]) == (2.0, 2, ["projected_2", "too_few_marks"])
    assert a["period_id"] == period_of(graded.year_a, 2).id and response.json["as_of"] == "2026-11-20"


def test_scope_another_teachers_or_schools_class_is_not_found(graded, call):
    five_b, other = graded.classes["5Б"].id, graded.classes["B5А"].id
    assert call("teacher", f"?class_id={five_b}").status_code == 404
    assert call("teacher", f"?class_id={other}").status_code == 404
    assert call("director", f"?class_id={other}").status_code == 404
    assert call("teacher", "?class_id=999999").status_code == 404
    assert set(table(call("director", f"?class_id={five_b}"))) == {"Васильев:Математика"}


def test_a_teacher_of_one_subject_sees_only_it_and_the_class_teacher_everything(graded, call):
    marks(graded, "Алексеев", (NOV[0], 5, 1), assignment=russian(graded))
    five_a = graded.classes["5А"].id
    assert set(table(call("teacher_b", f"?class_id={five_a}"))) == {"Алексеев:Русский язык", "Борисов:Русский язык"}
    assert set(table(call("classteacher", f"?class_id={five_a}"))) == {
        "Алексеев:Математика", "Борисов:Математика", "Алексеев:Русский язык", "Борисов:Русский язык"}
    math = graded.subjects["math"].id
    assert set(table(call("classteacher", f"?class_id={five_a}&subject_id={math}"))) == {
        "Алексеев:Математика", "Борисов:Математика"}


def test_a_given_period(graded, call):
    q1 = period_of(graded.year_a, 1)
    response = call("director", f"?class_id={graded.classes['5А'].id}&period_id={q1.id}")
    assert response.status_code == 200
    assert {(r["period_id"], r["average"], r["marks"]) for r in response.json["rows"]} == {(q1.id, None, 0)}


@pytest.mark.parametrize("query, words", [
    ("", "class_id"),
    ("?class_id=1&group_id=2", "group_id"),
    ("?class_id=abc", "class_id"),
    ("?class_id=-1", "class_id"),
    ("?class_id={a}&subject_id=x", "subject_id"),
    ("?class_id={a}&subject_id={math_b}", "subject_id"),
    ("?class_id={a}&period_id={period_b}", "period_id"),
])
def test_bad_parameters_are_a_400_with_a_message(graded, call, query, words):
    query = query.format(a=graded.classes["5А"].id, math_b=graded.subjects["math_b"].id,
                         period_b=period_of(graded.year_b, 2).id)
    response = call("director", query)
    assert response.status_code == 400
    assert response.json["message"]
    assert words in response.json["message"]  # the parameter is named (in any language)


def test_without_a_token_or_the_permission(graded, call, client):
    assert client.get(URL + f"?class_id={graded.classes['5А'].id}").status_code == 401
    assert call("registrar", f"?class_id={graded.classes['5А'].id}").status_code == 403


# --- pages -------------------------------------------------------------------------------------------

def test_the_teacher_page_shows_the_chosen_journal(graded, login_as):
    client = login_as("teacher")
    index = client.get("/forecast/").get_data(as_text=True)  # the first (here the only) journal by default
    assert f'data-student="{graded.students["Алексеев"].id}"' in index
    assert f"id={graded.classes['5Б'].id}" not in index  # another teacher's journal is not listed
    page = client.get(f"/forecast/?target=class_id&id={graded.classes['5А'].id}&subject={graded.subjects['math'].id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "3.42" in text and 'data-flag="projected_2"' in text
    assert f'data-student="{graded.students["Алексеев"].id}"' in text
    other = client.get(f"/forecast/?target=class_id&id={graded.classes['5Б'].id}&subject={graded.subjects['math'].id}")
    assert f'data-student="{graded.students["Васильев"].id}"' not in other.get_data(as_text=True)
    assert "alert-warning" in other.get_data(as_text=True)


def test_the_class_page_of_the_class_teacher(graded, login_as):
    text = login_as("classteacher").get("/forecast/class").get_data(as_text=True)
    assert f'data-student="{graded.students["Алексеев"].id}"' in text and "3.42" in text
    assert f'data-student="{graded.students["Васильев"].id}"' not in text


def test_the_risk_list_of_the_administration(graded, login_as):
    client = login_as("director")
    text = client.get("/forecast/risk").get_data(as_text=True)
    assert f'data-student="{graded.students["Борисов"].id}"' in text
    assert f'data-student="{graded.students["Алексеев"].id}"' not in text  # no flag
    assert f'data-student="{graded.students["Гаврилов"].id}"' not in text  # another school
    filtered = client.get(f"/forecast/risk?class_id={graded.classes['5Б'].id}").get_data(as_text=True)
    assert f'data-student="{graded.students["Борисов"].id}"' not in filtered
    assert f'data-student="{graded.students["Васильев"].id}"' in filtered  # one mark: too few
    assert login_as("registrar").get("/forecast/risk").status_code == 403
