"""The grid's locks are one pass over the period's lessons (grid.lesson_locks, the rule journal.lesson_lock):
a closed quarter costs the page and the JSON journal no statement, and a holiday's column gives the refusal
the cell save gives, another grade's holiday none."""
import pytest

from app.extensions import db
from app.models import Attendance, Holiday
from tests.journal_helpers import HTTP_WEEK, add_lessons, close_period, committed, period_of, statements

pytestmark = pytest.mark.usefixtures("isolated", "http_today")


def statements_of(get, url: str) -> tuple[list[str], object]:
    """The SQL statements one GET runs, and its response."""
    with statements() as seen:
        response = get(url)
    assert response.status_code == 200
    return seen, response


def urls(world) -> tuple[str, str]:
    """5А's mathematics of the second quarter: the page and the JSON journal."""
    unit, subject, period = world.classes["5А"].id, world.subjects["math"].id, period_of(world.year_a, 2).id
    return (f"/journal/grid?target=class_id&id={unit}&subject={subject}&period={period}",
            f"/api/v1/journal/?class_id={unit}&subject_id={subject}&period_id={period}")


def test_a_closed_quarter_costs_the_grid_no_statement(world, login_as, call):
    add_lessons(world, *HTTP_WEEK)
    page, api = urls(world)
    client = login_as("teacher")
    statements_of(client.get, page)  # the first request of a login may read more
    page_before, _ = statements_of(client.get, page)
    api_before, _ = statements_of(lambda url: call("teacher", "get", url), api)
    close_period(world, 1)  # the lessons' assignment now has a closed period: the locks must not read its kinds
    page_after, shown = statements_of(client.get, page)
    api_after, _ = statements_of(lambda url: call("teacher", "get", url), api)
    assert len(page_after) == len(page_before), "\n".join(page_after)
    assert len(api_after) == len(api_before), "\n".join(api_after)
    assert shown.get_data(as_text=True).count('class="col-lesson') == 5


def test_a_holidays_column_gives_the_refusal_of_the_save(world, login_as, call):
    city_day, other_grade = add_lessons(world, HTTP_WEEK[1], HTTP_WEEK[2])
    db.session.add_all([
        Holiday(school=world.school_a, year=world.year_a, name="День города", start=HTTP_WEEK[1], end=HTTP_WEEK[1]),
        Holiday(school=world.school_a, year=world.year_a, name="Каникулы девятых", start=HTTP_WEEK[2],
                end=HTTP_WEEK[2], grade=9)])
    db.session.commit()
    locked = {x["id"]: x["locked"] for x in call("teacher", "get", urls(world)[1]).json["lessons"]}
    assert locked[other_grade.id] is None and "День города" in locked[city_day.id]
    refused = login_as("teacher").post("/journal/cell", json={
        "kind": "attendance", "lesson_id": city_day.id, "student_id": world.students["Алексеев"].id, "code": "Н"})
    assert refused.status_code == 422 and refused.json["error"] == locked[city_day.id]
    assert committed(Attendance) == []
