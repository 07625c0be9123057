"""A teacher keeps the journal in a real browser, with CSRF on: types 5 and Enter into a cell,
Н into another, reloads and sees both; types 7 and sees the rule's message in the cell, with nothing
saved."""
import pytest
from playwright.sync_api import expect

from app.models import Attendance, Mark
from tests.conftest import PASSWORD
from tests.journal_helpers import HTTP_TODAY, HTTP_WEEK, add_lessons, committed, freeze_today, message, period_of

pytestmark = pytest.mark.browser


@pytest.fixture
def journal_day(app, world):
    """CSRF protection on (the grid's script must send X-CSRFToken) and the school clock on HTTP_TODAY;
    requested before live_server, so the server serves with both from its first request."""
    app.config["WTF_CSRF_ENABLED"] = True
    freeze_today(app, HTTP_TODAY)
    return add_lessons(world, *HTTP_WEEK[:3])


def test_teacher_types_marks_and_attendance_into_the_grid(app, world, journal_day, live_server, browser):
    lessons = journal_day
    kid, other = world.students["Алексеев"], world.students["Борисов"]
    grid = (f"{live_server}/journal/grid?target=class_id&id={world.classes['5А'].id}"
            f"&subject={world.subjects['math'].id}&period={period_of(world.year_a, 2).id}")
    page = browser.new_page()
    page.goto(f"{live_server}/login/")
    page.fill("input[name=username]", "teacher")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    page.goto(grid)

    def cell(student, lesson):
        return page.locator(f'td.cell[data-student="{student.id}"][data-lesson="{lesson.id}"]')

    # a mark: click the cell, type 5, Enter
    cell(kid, lessons[0]).click()
    page.keyboard.type("5")
    with page.expect_response("**/journal/cell") as saved:
        page.keyboard.press("Enter")
    assert saved.value.status == 200
    expect(cell(kid, lessons[0]).locator(".view")).to_have_text("5")  # drawn once the answer is read

    # an absence: the Cyrillic letter typed into the cell's editor
    cell(other, lessons[1]).dblclick()
    page.keyboard.insert_text("Н")
    with page.expect_response("**/journal/cell") as absent:
        page.keyboard.press("Enter")
    assert absent.value.status == 200
    expect(cell(other, lessons[1]).locator(".view")).to_have_text("Н")

    page.reload()
    assert cell(kid, lessons[0]).locator(".view").inner_text() == "5"
    assert cell(other, lessons[1]).locator(".view").inner_text() == "Н"
    assert page.locator(f'td.col-avg[data-avg="{kid.id}"]').inner_text() == "5.00"

    # a 7: the rule's message in the cell, nothing saved
    cell(kid, lessons[2]).click()
    page.keyboard.type("7")
    with page.expect_response("**/journal/cell") as refused:
        page.keyboard.press("Enter")
    assert refused.value.status == 422
    error = cell(kid, lessons[2]).locator(".cell-error")
    error.wait_for()
    assert error.inner_text() == message("A mark is a whole number from 1 to 5.")
    assert cell(kid, lessons[2]).locator(".view").inner_text() == ""

    assert [(r["lesson_id"], r["student_id"], r["value"]) for r in committed(Mark)] == [(lessons[0].id, kid.id, 5)]
    assert [(r["lesson_id"], r["student_id"], r["code"]) for r in committed(Attendance)] == [
        (lessons[1].id, other.id, "Н")]

    # the saves above passed CSRF only thanks to the script's header: without it the same post fails
    bare = page.request.post(f"{live_server}/journal/cell", data={
        "lesson_id": lessons[2].id, "student_id": kid.id, "kind": "mark", "work_type_id": 1, "value": 4})
    assert bare.status == 400
    assert len(committed(Mark)) == 1
    page.close()
