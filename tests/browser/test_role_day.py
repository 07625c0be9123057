"""Each role's day in Chromium, with a screenshot of every screen (under SCREENS_DIR, by default
test-artifacts/screens/, git-ignored): the teacher fills a column of marks and a lesson's topic and
homework, the class teacher opens the summary sheet and its PDF, the registrar records a consent and a
contact, the director opens the dashboard and prints an extract, the auditor exports the trail as CSV.
Each step checks what the screen says, in Russian."""
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.models import Consent, ContactPoint, Lesson, Mark
from tests.conftest import PASSWORD
from tests.journal_helpers import HTTP_TODAY, HTTP_WEEK, add_lessons, committed, freeze_today, period_of
from tests.stats_helpers import build_results

pytestmark = pytest.mark.browser

SCREENS = Path(os.environ.get("SCREENS_DIR", "test-artifacts/screens"))


@pytest.fixture
def school_day(app, world):
    """The school clock on Friday 20.11.2026, a week of 5А mathematics, its students with the first
    quarter's finals (asked before live_server)."""
    freeze_today(app, HTTP_TODAY)
    build_results(world)
    return add_lessons(world, *HTTP_WEEK)


class Day:
    """One signed-in browser page per role, saving a numbered screenshot of each screen."""

    def __init__(self, browser, base: str):
        self.browser, self.base, self.shot = browser, base, 0
        SCREENS.mkdir(parents=True, exist_ok=True)

    def sign_in(self, username: str):
        self.context = self.browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
        self.page = self.context.new_page()
        self.page.goto(f"{self.base}/login/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("input[type=submit], button[type=submit]")
        self.page.wait_for_url(f"{self.base}/")
        return self.page

    def screen(self, name: str, *texts: str) -> str:
        """Check that the screen says each text, and save it as <n>-<name>.png."""
        body = self.page.locator("body").inner_text()
        for text in texts:
            assert text in body, f"{name}: «{text}» is not on the screen"
        self.shot += 1
        self.page.screenshot(path=str(SCREENS / f"{self.shot:02d}-{name}.png"))
        return body

    def download(self, click) -> tuple[str, bytes]:
        """Click what starts a download; its file name and content."""
        with self.page.expect_download() as started:
            click()
        download = started.value
        return download.suggested_filename, Path(download.path()).read_bytes()

    def sign_out(self):
        self.context.close()


def choose(page, name: str, value: str) -> None:
    """Pick an option of a select that select2 dresses up (the original is hidden)."""
    page.select_option(f"select[name={name}]", value, force=True)
    page.evaluate(f"document.querySelector('select[name={name}]').dispatchEvent(new Event('change'))")


def pick_student(page, surname: str) -> None:
    """Find the student by surname in the family forms' search and take the first found; the guardians
    of that student are then offered."""
    page.click("select[name=student] + .select2 .select2-selection")
    page.locator(".select2-search__field").press_sequentially(surname)
    found = page.locator(".select2-results__option:not(.loading-results)")
    found.first.wait_for()
    found.first.click()
    page.locator("select[name=guardian] option").nth(1).wait_for(state="attached")


def submit(page) -> None:
    page.locator("form:not(.navbar-logout) [type=submit]").first.click()
    page.wait_for_load_state()


def teachers_day(day: Day, world, lessons):
    page = day.sign_in("teacher")
    day.screen("учитель-главная", "Журнал")
    page.goto(f"{day.base}/journal/grid?target=class_id&id={world.classes['5А'].id}"
              f"&subject={world.subjects['math'].id}&period={period_of(world.year_a, 2).id}")
    today = lessons[-1]
    cells = page.locator(f'td.cell[data-lesson="{today.id}"]')
    count = cells.count()
    assert count >= 9
    for i in range(count):  # the column of today's lesson, one mark per student
        cells.nth(i).click()
        page.keyboard.type(str(5 - i % 3))
        with page.expect_response("**/journal/cell") as saved:
            page.keyboard.press("Enter")
        assert saved.value.status == 200
    expect(cells.last.locator(".view")).not_to_have_text("")
    page.locator(f'a.lesson-date[data-lesson="{today.id}"]').click()
    page.fill("#lesson-editor input[name=topic]", "Сложение дробей")
    page.fill("#lesson-editor textarea[name=homework]", "№ 245, 246")
    with page.expect_response("**/journal/lesson/**") as lesson_saved:
        page.click("#lesson-save")
    assert lesson_saved.value.status == 200
    expect(page.locator(f'th[data-lesson="{today.id}"]')).to_have_attribute("title", "Сложение дробей")
    day.screen("учитель-журнал", "5А", "Математика")
    assert len([m for m in committed(Mark) if m["lesson_id"] == today.id]) == count
    saved_lesson = [r for r in committed(Lesson) if r["id"] == today.id][0]
    assert (saved_lesson["topic"], saved_lesson["homework"]) == ("Сложение дробей", "№ 245, 246")
    day.sign_out()


def class_teachers_day(day: Day, world):
    page = day.sign_in("classteacher")
    page.goto(f"{day.base}/finals/summary?class_id={world.classes['5А'].id}")
    day.screen("классный-руководитель-сводная", "Сводная ведомость", "5А", "Алексеев")
    name, pdf = day.download(lambda: page.click("a.summary-pdf"))
    assert name.endswith(".pdf") and pdf.startswith(b"%PDF")
    day.sign_out()


def registrars_day(day: Day, world):
    kid, mother = world.students["Алексеев"], world.guardians["Алексеева"]
    page = day.sign_in("registrar")
    page.goto(f"{day.base}/consentview/add")
    pick_student(page, kid.surname)
    choose(page, "guardian", str(mother.id))
    choose(page, "decision", "consent")
    choose(page, "document_kind", "paper")
    page.locator("input[name=decided_on]").press_sequentially(f"{HTTP_TODAY:%d.%m.%Y}")
    page.fill("input[name=document_number]", "58-ПД")
    page.locator("input[name=document_date]").press_sequentially(f"{HTTP_TODAY:%d.%m.%Y}")
    page.evaluate("jQuery('.appbuilder_date, .appbuilder_datetime').datepicker('hide')")  # close the pickers
    day.screen("делопроизводитель-согласие", "Решение", "Номер документа", "согласие")
    submit(page)
    assert "Добавлено" in page.locator("body").inner_text()
    page.goto(f"{day.base}/consentview/list/")
    day.screen("делопроизводитель-согласия", "Алексеев", "согласие", "бумажное заявление")
    assert len(committed(Consent)) == 1

    page.goto(f"{day.base}/contactpointview/add")
    pick_student(page, kid.surname)
    choose(page, "guardian", str(mother.id))
    choose(page, "kind", "phone")
    page.fill("input[name=value]", "+79991234567")
    choose(page, "provenance", "written_statement")
    page.fill("input[name=document_reference]", "Заявление № 58 от 20.11.2026")
    day.screen("делопроизводитель-контакт", "Контакт", "Номер и дата заявления", "письменное заявление")
    submit(page)
    assert "Добавлено" in page.locator("body").inner_text()
    page.goto(f"{day.base}/contactpointview/list/")
    day.screen("делопроизводитель-контакты", "+79991234567", "телефон", "Да")
    assert [r["value"] for r in committed(ContactPoint)] == ["+79991234567"]
    day.sign_out()


def directors_day(day: Day, world):
    page = day.sign_in("director")
    day.screen("директор-главная", "Журнал")
    page.goto(f"{day.base}/stats/")
    day.screen("директор-статистика", "Успеваемость")
    page.goto(f"{day.base}/extracts/")
    page.check("input[name=target][value=student]")
    page.select_option("select[name=student_id]", str(world.students["Алексеев"].id), force=True)
    page.select_option("select[name=period_id]", str(period_of(world.year_a, 1).id), force=True)
    day.screen("директор-выписка", "Выписки на бумаге", "PDF")
    name, pdf = day.download(lambda: page.click("form.extracts-form [type=submit]"))
    assert name.endswith(".pdf") and pdf.startswith(b"%PDF")
    day.sign_out()


def auditors_day(day: Day):
    page = day.sign_in("auditor")
    page.goto(f"{day.base}/auditeventview/list/")
    day.screen("аудитор-журнал-аудита", "Скачать CSV", "Согласия", "Отметки", "создание")
    name, body = day.download(lambda: page.click("a.list-csv"))
    text = body.decode("utf-8-sig")
    assert name.endswith(".csv")
    assert text.splitlines()[0].startswith("Когда;Кто;")
    assert "Алексеева" in text and "+79991234567" in text
    day.sign_out()


def test_each_roles_day(app, world, school_day, live_server, browser):
    day = Day(browser, live_server)
    teachers_day(day, world, school_day)
    class_teachers_day(day, world)
    registrars_day(day, world)
    directors_day(day, world)
    auditors_day(day)
    assert len(list(SCREENS.glob("*.png"))) >= 11
