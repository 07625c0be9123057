"""Each role's home page in Chromium shows its day in Russian: the teacher's lessons with links into the
grid at the lesson, the class teacher's absentees and students at risk, the director's absences and
unfilled journals."""
import pytest

from tests.conftest import PASSWORD
from tests.test_home import DAY, day  # noqa: F401 - the day's lessons, absences and entries

pytestmark = pytest.mark.browser


def home_of(browser, base: str, username: str):
    """A new browser context signed in as the user, on the home page."""
    page = browser.new_context(locale="ru-RU").new_page()
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def test_each_role_opens_its_day(app, world, day, live_server, browser):  # noqa: F811
    app.config["SCHOOL_TODAY"] = DAY.isoformat()
    page = home_of(browser, live_server, "teacher")
    lessons = page.locator(".home-lessons")
    assert "Мои уроки сегодня" in lessons.inner_text()
    assert lessons.locator(f"tr[data-lesson='{day['bare'].id}']").inner_text().count("нет темы") == 1
    link = lessons.locator(f"tr[data-lesson='{day['bare'].id}'] a")
    assert f"lesson={day['bare'].id}" in link.get_attribute("href") and "date=2026-11-20" in link.get_attribute("href")
    link.click()
    page.wait_for_url("**/journal/grid**")
    page.context.close()

    page = home_of(browser, live_server, "classteacher")
    homeroom = page.locator(".home-homeroom").inner_text()
    assert "Отсутствуют в моём классе сегодня: 1" in homeroom and "Алексеев И. И. (5А) — Математика (Н)" in homeroom
    assert "Обучающиеся группы риска: 2" in homeroom and "мало отметок для аттестации" in homeroom
    page.context.close()

    page = home_of(browser, live_server, "director")
    school = page.locator(".home-school").inner_text()
    assert "Отсутствуют сегодня: 2" in school and "5А: 1" in school and "5Б: 1" in school
    assert "Не заполнены журналы (последние 7 дней): 2" in school and "нет отметок и посещаемости: 2" in school
    assert "Обмен с порталом" in page.locator(".home-exchange").inner_text()
    page.context.close()
