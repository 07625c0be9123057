"""/stats/ at 1366 px: the page does not scroll sideways (wide tables scroll in their own box), and every
bar of the charts is labelled with its subject's full name and its value."""
import pytest

from tests.browser.test_home import home_of
from tests.browser.test_stats import finals_world  # noqa: F401 - finals, lessons and attendance of the quarter

pytestmark = pytest.mark.browser


def test_stats_charts_are_labelled_and_the_page_fits(app, world, finals_world, live_server, browser):  # noqa: F811
    page = home_of(browser, live_server, "director")
    page.set_viewport_size({"width": 1366, "height": 900})
    for url in ("/stats/", f"/stats/?class_id={world.classes['5А'].id}"):
        page.goto(live_server + url)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), url
    labels = page.locator(".stats-bars .bar-label").all_text_contents()
    assert labels == ["Математика", "ОРКСЭ"]  # full names, not «Матема»
    values = page.locator(".stats-bars .bar-value").all_text_contents()
    assert len(values) == 3 * len(labels) and all(v.replace(".", "").isdigit() or v == "—" for v in values)
    page.context.close()
