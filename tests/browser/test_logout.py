"""The navbar's «Выход» is a POST form with the CSRF token: in a real browser (CSRF on, as deployed) it
signs out, and the cookie the browser had before no longer opens the journal."""
import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_the_navbar_logout_button_signs_out_and_ends_the_old_cookie(app, live_server, browser):
    app.config["WTF_CSRF_ENABLED"] = True
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server}/login/")
    page.fill("input[name=username]", "teacher")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    old_cookies = context.cookies()
    page.click(".navbar-right .dropdown-toggle >> nth=-1")
    page.click(".navbar-logout button[type=submit]")
    page.wait_for_url(f"{live_server}/login/")
    assert "Выход" not in page.locator(".navbar").inner_text()

    thief = browser.new_context()
    thief.add_cookies(old_cookies)
    stolen = thief.new_page()
    stolen.goto(f"{live_server}/journal/")
    assert stolen.url.startswith(f"{live_server}/login/")
    thief.close()
    context.close()
