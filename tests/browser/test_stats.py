"""The administration opens the statistics dashboard in a real browser from the menu, sees the
school's figures for the quarter with finals, and drills down to a grade, a class and a student."""
import pytest

from tests.conftest import PASSWORD
from tests.journal_helpers import HTTP_TODAY, freeze_today
from tests.stats_helpers import build_curriculum, build_results

pytestmark = pytest.mark.browser


@pytest.fixture
def finals_world(app, world):
    """Finals, lessons and attendance of the first quarter; requested before live_server."""
    freeze_today(app, HTTP_TODAY)
    build_curriculum(world)
    return build_results(world)


def test_administration_drills_down_from_school_to_class(app, world, finals_world, live_server, browser):
    page = browser.new_page()
    page.goto(f"{live_server}/login/")
    page.fill("input[name=username]", "director")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/stats/")
    assert finals_world["q1"].title in page.locator("h2").inner_text()  # the last period with finals
    assert page.locator(".stats-summary b").first.inner_text() == "66.67"
    assert page.locator("svg.stats-chart").count() >= 2

    page.locator('table[data-table="grades"] a').first.click()
    page.wait_for_url("**grade=5**")
    assert page.locator('table[data-table="classes"] tbody tr').count() == 2

    page.locator('table[data-table="classes"] a', has_text="5А").click()
    page.wait_for_url(f"**class_id={world.classes['5А'].id}**")
    summary = page.locator(".stats-summary b")
    assert summary.nth(0).inner_text() == "63.64"  # 5А: (1 + 2 + 2 + 2 зач) / 11
    assert page.locator("tr.student-row").count() == 9
    math = page.locator('table[data-table="curriculum"] tbody tr', has_text="Математика")
    assert math.locator("td.percent").inner_text() == "60.0"
    assert page.locator('table[data-table="attendance"] td.missed').inner_text() == "4"

    page.locator("tr.student-row a", has_text="Алексеев").click()
    page.wait_for_url("**student_id=**")
    finals = page.locator('table[data-table="finals"] td.final')
    assert sorted(finals.all_inner_texts()) == ["5", "зач"]
    page.close()
