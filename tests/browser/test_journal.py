"""A teacher keeps the journal in real Chromium, with CSRF on and the school clock on HTTP_TODAY: the grid
opens at today's lesson; a column of 30 marks takes the keyboard alone (≤ 2 keystrokes a mark, work type
included, no click); a mark typed over a cell replaces it and Delete clears it whatever its work type;
locked columns say why; errors and warnings are toasts; «Все присутствуют»; a phone edits with one tap."""
import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import Attendance, Mark
from app.services.audit import acting_as
from app.services.journal import set_attendance, set_mark
from tests.conftest import PASSWORD
from tests.journal_helpers import (
    HTTP_TODAY,
    HTTP_WEEK,
    actor,
    add_lessons,
    add_students,
    committed,
    freeze_today,
    message,
    period_of,
    work_type,
)

pytestmark = pytest.mark.browser
DESK = {"width": 1366, "height": 900}
COUNT_CLICKS = "window.__clicks = 0; addEventListener('pointerdown', () => { window.__clicks += 1; }, true);"


@pytest.fixture
def school_day(app, world):
    """CSRF protection on (the grid's script must send X-CSRFToken), the school clock on HTTP_TODAY and
    the work types a school has; requested before live_server, so the server serves with them."""
    app.config["WTF_CSRF_ENABLED"] = True
    freeze_today(app, HTTP_TODAY)
    return {"answer": work_type(world, "Ответ на уроке", 1), "self": work_type(world, "Самостоятельная работа", 2),
            "control": work_type(world)}


def signed_in(browser, base: str, username: str = "teacher", **context):
    page = browser.new_context(**({"viewport": DESK} | context)).new_page()
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.add_init_script(COUNT_CLICKS)
    return page


def grid_url(base, world, period=None) -> str:
    url = f"{base}/journal/grid?target=class_id&id={world.classes['5А'].id}&subject={world.subjects['math'].id}"
    return url + (f"&period={period.id}" if period else "")


def cell(page, student, lesson):
    return page.locator(f'td.cell[data-student="{student.id}"][data-lesson="{lesson.id}"]')


def given_mark(lesson, student, wt, value, comment=""):
    with acting_as("teacher"):
        set_mark(actor("teacher"), lesson.id, student.id, wt.id, value, comment=comment, today=HTTP_TODAY)
        db.session.commit()


def settled(page):
    """Every save the script sent has been answered and drawn."""
    expect(page.locator("td.cell.saving")).to_have_count(0)


def test_a_column_of_thirty_marks_by_keyboard_alone(world, school_day, live_server, browser):
    add_students(world, "5А", 28)
    days = [day for day in (HTTP_TODAY + dt.timedelta(days=n) for n in range(-17, 36)) if day.weekday() < 5]
    first = add_lessons(world, *days)
    add_lessons(world, *days, slot=2)
    today = next(x for x in first if x.date == HTTP_TODAY)
    page = signed_in(browser, live_server)
    page.goto(grid_url(live_server, world))  # no period: the current one, at today's lesson

    # opened at today's lesson: highlighted, scrolled into view, its first cell focused
    rows = page.locator("#journal-grid tbody tr").evaluate_all("rs => rs.map(r => +r.dataset.student)")
    assert len(rows) == 30
    focused = page.evaluate("[document.activeElement.dataset.student, document.activeElement.dataset.lesson]")
    assert focused == [str(rows[0]), str(today.id)]
    th = page.locator(f'th[data-lesson="{today.id}"]')
    assert "current" in th.get_attribute("class")
    box, view = th.bounding_box(), page.locator(".journal-scroll").bounding_box()
    assert box["x"] > 200 and box["x"] + box["width"] <= view["x"] + view["width"]  # scrolled, not the 1st week

    keys = []

    def press(key):
        keys.append(key)
        page.keyboard.press(key)

    press("/")  # the column's work type: «Ответ на уроке» by default, one key to the next
    expect(page.locator(f'span.wt[data-lesson="{today.id}"]')).to_have_text("СР·2")
    values = [5, 4, 3, 2, 5, 4] * 5
    for value in values:
        press(str(value))
    settled(page)
    assert len(keys) <= 2 * len(values) and page.evaluate("window.__clicks") == 0

    saved = {r["student_id"]: (r["value"], r["work_type_id"], r["lesson_id"]) for r in committed(Mark)}
    assert saved == {sid: (v, school_day["self"].id, today.id) for sid, v in zip(rows, values)}

    # the date row stays in sight when the grid is scrolled down
    page.locator(".journal-scroll").evaluate("s => { s.scrollTop = 400; }")
    assert abs(th.bounding_box()["y"] - page.locator(".journal-scroll").bounding_box()["y"]) < 3

    page.reload()
    shown = page.locator(f'td.cell[data-lesson="{today.id}"] .view').all_inner_texts()
    assert shown == [str(v) for v in values]
    expect(page.locator(f'span.wt[data-lesson="{today.id}"]')).to_have_text("СР·2")  # remembered
    page.context.close()


def test_typing_replaces_the_cells_mark_and_delete_clears_any_work_type(world, school_day, live_server, browser):
    today = add_lessons(world, *HTTP_WEEK)[-1]
    kid, other = world.students["Алексеев"], world.students["Борисов"]
    given_mark(today, kid, school_day["control"], 4, comment="за задачу")
    given_mark(today, other, school_day["control"], 5)
    page = signed_in(browser, live_server)
    page.goto(grid_url(live_server, world))

    mark = cell(page, kid, today).locator("b.mark")
    mark.hover()
    tip = mark.get_attribute("title")
    assert tip.startswith("Контрольная работа (вес 5) · ")
    assert tip.endswith(" · Учителева А. П. · комментарий: за задачу")
    assert re.search(r" · \d\d\.\d\d\.\d{4} · ", tip)

    page.keyboard.press("3")  # over a 4 of another work type: «3», not «4 3»
    expect(cell(page, kid, today).locator(".view")).to_have_text("3")
    page.keyboard.press("Delete")  # focus went down to Борисов: his 5 of «Контрольная работа» goes
    expect(cell(page, other, today).locator(".view")).to_have_text("")
    settled(page)
    assert [(r["student_id"], r["value"], r["work_type_id"]) for r in committed(Mark)] == [
        (kid.id, 3, school_day["answer"].id)]
    page.reload()
    assert cell(page, kid, today).locator(".view").inner_text() == "3"
    assert cell(page, other, today).locator(".view").inner_text() == ""
    page.context.close()


def test_locked_columns_say_why_and_errors_are_toasts(world, school_day, live_server, browser):
    old, cancelled, today, future = add_lessons(world, HTTP_TODAY - dt.timedelta(days=10), HTTP_WEEK[1],
                                                HTTP_TODAY, HTTP_TODAY + dt.timedelta(days=3))
    cancelled.status = "cancelled"
    db.session.commit()
    kid = world.students["Алексеев"]
    reasons = {old: message("Teachers may change entries only within %(days)d days after the lesson; ask the "
                            "administration.", days=7),
               cancelled: message("The lesson of %(day)s is cancelled: nothing can be entered.",
                                  day=f"{cancelled.date:%d.%m.%Y}"),
               future: message("The lesson of %(day)s has not taken place yet.", day=f"{future.date:%d.%m.%Y}")}
    page = signed_in(browser, live_server)
    page.goto(grid_url(live_server, world))
    assert "locked" not in page.locator(f'th[data-lesson="{today.id}"]').get_attribute("class")
    for lesson, reason in reasons.items():
        th = page.locator(f'th[data-lesson="{lesson.id}"]')
        assert "locked" in th.get_attribute("class") and th.get_attribute("title").endswith(reason)
        cell(page, kid, lesson).hover()
        assert cell(page, kid, lesson).get_attribute("title") == reason
    toast = page.locator("#journal-toast")

    cell(page, kid, future).focus()
    page.keyboard.press("5")
    expect(toast).to_have_text(reasons[future])

    cell(page, kid, today).focus()
    with page.expect_response("**/journal/cell") as refused:
        page.keyboard.press("7")
    assert refused.value.status == 422
    expect(toast).to_have_text(message("A mark is a whole number from 1 to 5."))
    assert "error" in cell(page, kid, today).get_attribute("class")
    assert cell(page, kid, today).bounding_box()["height"] < 40  # the message is not in the row
    assert committed(Mark) == []
    page.context.close()


def test_all_present_and_a_warning_for_a_mark_of_an_absent_student(world, school_day, live_server, browser):
    today = add_lessons(world, HTTP_TODAY)[0]
    kid, other = world.students["Алексеев"], world.students["Борисов"]
    with acting_as("teacher"):
        set_attendance(actor("teacher"), today.id, kid.id, "Н", today=HTTP_TODAY)
        set_attendance(actor("teacher"), today.id, other.id, "Б", today=HTTP_TODAY)
        db.session.commit()
    page = signed_in(browser, live_server)
    page.goto(grid_url(live_server, world))
    page.keyboard.press("4")  # Алексеев, recorded absent
    expect(page.locator("#journal-toast.warning")).to_have_text(message(
        "The student is recorded absent (%(code)s) from this lesson; the mark is saved.", code="Н"))
    expect(cell(page, kid, today).locator(".view")).to_have_text("4Н")

    with page.expect_response(f"**/journal/present/{today.id}") as answered:
        page.click("#all-present")
    assert answered.value.status == 200
    expect(cell(page, kid, today).locator(".view")).to_have_text("4")
    expect(cell(page, other, today).locator(".view")).to_have_text("")
    assert committed(Attendance) == [] and [r["value"] for r in committed(Mark)] == [4]
    page.reload()
    assert cell(page, kid, today).locator(".view").inner_text() == "4"
    page.context.close()


def test_on_a_phone_one_tap_edits_with_the_numeric_keypad(world, school_day, live_server, browser):
    today = add_lessons(world, *HTTP_WEEK)[-1]
    kid, other = world.students["Алексеев"], world.students["Борисов"]
    page = signed_in(browser, live_server, viewport={"width": 390, "height": 844}, is_mobile=True,
                     has_touch=True)
    page.goto(grid_url(live_server, world))
    assert page.locator(".journal-scroll").bounding_box()["y"] < 844 * 0.4  # the header takes little space
    cell(page, kid, today).tap()
    typing = page.locator("input.cell-input")
    expect(typing).to_be_focused()
    assert typing.get_attribute("inputmode") == "numeric"
    page.keyboard.type("5")
    with page.expect_response("**/journal/cell") as saved:
        page.keyboard.press("Enter")
    assert saved.value.status == 200
    expect(cell(page, other, today).locator("input.cell-input")).to_be_focused()  # the keypad stays up
    expect(cell(page, kid, today).locator(".view")).to_have_text("5")
    assert [(r["student_id"], r["value"]) for r in committed(Mark)] == [(kid.id, 5)]
    page.context.close()


def test_marks_and_attendance_typed_into_the_editor_survive_a_reload(world, school_day, live_server, browser):
    lessons = add_lessons(world, *HTTP_WEEK[:3])
    kid, other = world.students["Алексеев"], world.students["Борисов"]
    page = signed_in(browser, live_server)
    page.goto(grid_url(live_server, world, period_of(world.year_a, 2)))
    cell(page, kid, lessons[0]).click()
    page.keyboard.type("5")
    with page.expect_response("**/journal/cell") as saved:
        page.keyboard.press("Enter")
    assert saved.value.status == 200
    expect(cell(page, kid, lessons[0]).locator(".view")).to_have_text("5")
    cell(page, other, lessons[1]).dblclick()
    page.keyboard.insert_text("Н")
    with page.expect_response("**/journal/cell") as absent:
        page.keyboard.press("Enter")
    assert absent.value.status == 200
    page.reload()
    assert cell(page, kid, lessons[0]).locator(".view").inner_text() == "5"
    assert cell(page, other, lessons[1]).locator(".view").inner_text() == "Н"
    assert page.locator(f'td.col-avg[data-avg="{kid.id}"]').inner_text() == "5.00"
    assert [(r["lesson_id"], r["student_id"], r["code"]) for r in committed(Attendance)] == [
        (lessons[1].id, other.id, "Н")]
    # the saves above passed CSRF only thanks to the script's header: without it the same post fails
    bare = page.request.post(f"{live_server}/journal/cell", data={
        "lesson_id": lessons[2].id, "student_id": kid.id, "kind": "mark", "work_type_id": 1, "value": 4})
    assert bare.status == 400
    assert len(committed(Mark)) == 1
    page.context.close()
