"""The navbar fits one line on a 1366 px screen for every role, the deployment admin's (the longest
menu) included: a second line pushes every page down and hides its title under the fixed bar."""
import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

ONE_LINE = 60  # px: Bootstrap's navbar is 50 px high on one line, 100+ on two


@pytest.mark.parametrize("username", ["admin", "director"])
def test_the_navbar_fits_one_line_at_1366_px(world, live_server, browser, username):
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(f"{live_server}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    height = page.evaluate("document.querySelector('.navbar').getBoundingClientRect().height")
    entries = page.locator(".navbar-nav > li").count()
    page.close()
    assert entries >= 7  # the menu's categories, the language and the user are there
    assert height <= ONE_LINE, f"the navbar of {username} is {height} px high"
