"""A teacher signs in with a real browser and sees the Russian menu and only their own classes."""
import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_teacher_sees_russian_menu_and_own_classes(live_server, browser):
    page = browser.new_page()
    page.goto(f"{live_server}/login/")
    page.fill("input[name=username]", "teacher")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    menu = page.locator(".navbar").text_content()
    assert "Классы" in menu and "Обучающиеся" in menu
    home = page.locator(".class-list").inner_text()
    assert "5А" in home and "5Б" not in home
    page.goto(f"{live_server}/classunitview/list/")
    page.screenshot(path="/tmp/classlist.png", full_page=True)
    table = page.locator("table.table-bordered").inner_text()
    assert "5А" in table and "5Б" not in table
    page.goto(f"{live_server}/studentview/list/")
    students = page.locator("table.table-bordered").inner_text()
    assert "Алексеев" in students and "Васильев" not in students
