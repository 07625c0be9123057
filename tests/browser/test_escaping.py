"""What people type is shown as text, never run: script and <img onerror> payloads in a lesson's topic and
homework, a mark's comment, a recommendation, a contact and a student's name appear literally on the
journal grid, the lesson pages, the recommendation list, the family-facing class and consent pages and
the audit trail, and `window.__xss` stays undefined in Chromium. The pages also run under the Content
Security Policy without a single violation (a violation would mean some script or style of ours or
FAB's is blocked, and the page's JavaScript broken)."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, ContactKind, ContactPoint, ControlWorkPlan, Provenance, Recommendation
from app.services.journal import set_mark
from tests import factories
from tests.conftest import PASSWORD
from tests.journal_helpers import HTTP_TODAY, HTTP_WEEK, actor, add_lessons, freeze_today, math_of, period_of, work_type

pytestmark = pytest.mark.browser

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
PAYLOAD = SCRIPT + IMG

# Collects every CSP violation of a page (Playwright's init scripts are not subject to the CSP).
WATCH_CSP = """window.__csp = [];
document.addEventListener("securitypolicyviolation",
  e => window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || "")));"""


@pytest.fixture
def payloads(app, world):
    """Payloads everywhere a person types text; CSRF on, as in production. Requested before live_server."""
    app.config["WTF_CSRF_ENABLED"] = True
    freeze_today(app, HTTP_TODAY)
    kid = factories.student(world.classes["5А"], SCRIPT, name=IMG)
    lesson = add_lessons(world, HTTP_WEEK[0], topic="Тема " + PAYLOAD, homework="Задание " + PAYLOAD)[0]
    set_mark(actor("teacher"), lesson.id, kid.id, work_type(world).id, 5, comment="Отзыв " + PAYLOAD,
             today=HTTP_TODAY)
    db.session.add(Recommendation(school=world.school_a, teacher=world.staff["teacher"], student=kid,
                                  subject=world.subjects["math"], text="Совет " + PAYLOAD, date=HTTP_TODAY))
    db.session.add(ContactPoint(school=world.school_a, guardian=world.guardians["Алексеева"], kind=ContactKind.email,
                                value="mail " + PAYLOAD, provenance=Provenance.written_statement,
                                document_reference="Заявление " + PAYLOAD))
    db.session.add(ControlWorkPlan(school=world.school_a, assignment=math_of(world), date=HTTP_TODAY,
                                   topic="Контрольная " + PAYLOAD))
    db.session.commit()
    return {"kid": kid, "lesson": lesson}


def signed_in(browser, base: str, username: str):
    page = browser.new_page()
    page.add_init_script(WATCH_CSP)
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def assert_inert(page, *texts: str) -> None:
    """The texts are on the page as text; no payload became an element or ran; the CSP saw nothing."""
    body = page.locator("body").inner_text()
    for text in texts:
        assert text in body, f"{text!r} is not shown on {page.url}"
    assert page.evaluate("typeof window.__xss") == "undefined", page.url
    assert page.locator('img[src="x"]').count() == 0, page.url
    assert page.evaluate("[...document.scripts].filter(s => s.text.trim() === 'window.__xss=1').length") == 0, page.url
    assert page.evaluate("window.__csp") == [], page.url


def test_payloads_are_shown_as_text_and_never_run(app, world, payloads, live_server, browser):
    kid, lesson = payloads["kid"], payloads["lesson"]
    page = signed_in(browser, live_server, "teacher")

    # The journal grid: the name as text, the topic in the column's tooltip, the homework and the mark's
    # comment in the page's JSON data, read back intact by the grid's script.
    page.goto(f"{live_server}/journal/grid?target=class_id&id={world.classes['5А'].id}"
              f"&subject={world.subjects['math'].id}&period={period_of(world.year_a, 2).id}")
    assert_inert(page, SCRIPT)
    assert page.locator(f'th[data-lesson="{lesson.id}"]').get_attribute("title") == "Тема " + PAYLOAD
    lessons = page.evaluate("JSON.parse(document.getElementById('journal-lessons').textContent)")
    assert [x["homework"] for x in lessons if x["id"] == lesson.id] == ["Задание " + PAYLOAD]
    mark = page.locator(f'td.cell[data-student="{kid.id}"][data-lesson="{lesson.id}"] b.mark')
    mark.hover()  # the grid's script titles the mark with its comment, unpacked from the page's JSON
    assert mark.get_attribute("title").endswith(" · комментарий: Отзыв " + PAYLOAD)
    # the lesson editor shows topic and homework in its fields
    page.locator(f'a.lesson-date[data-lesson="{lesson.id}"]').click()
    assert page.locator("#lesson-editor input[name=topic]").input_value() == "Тема " + PAYLOAD
    assert page.locator("#lesson-editor textarea[name=homework]").input_value() == "Задание " + PAYLOAD
    assert_inert(page)

    page.goto(f"{live_server}/lessonview/list/")
    assert_inert(page, "Тема " + PAYLOAD)
    page.goto(f"{live_server}/lessonview/show/{lesson.id}")
    assert_inert(page, "Тема " + PAYLOAD, "Задание " + PAYLOAD)
    page.goto(f"{live_server}/recommendationview/list/")
    assert_inert(page, "Совет " + PAYLOAD, SCRIPT)
    page.goto(f"{live_server}/studentview/list/")
    assert_inert(page, SCRIPT, IMG)
    # what families are told: the class's control-work schedule
    page.goto(f"{live_server}/class/{world.classes['5А'].id}/control-works")
    assert_inert(page, "Контрольная " + PAYLOAD)
    page.close()

    page = signed_in(browser, live_server, "admin")
    page.goto(f"{live_server}/contactpointview/list/")
    assert_inert(page, "mail " + PAYLOAD, "Заявление " + PAYLOAD)
    page.goto(f"{live_server}/consent/status?class_id={world.classes['5А'].id}")
    assert_inert(page, f"{SCRIPT} {IMG}")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity == "mark"))
    page.goto(f"{live_server}/auditeventview/show/{event.id}")
    assert_inert(page, "window.__xss=1")
    page.close()


def test_topic_typed_into_the_grid_stays_text(app, world, payloads, live_server, browser):
    """The teacher types a payload into the lesson editor (CSRF header sent by the script); after a
    reload it is still text."""
    lesson = payloads["lesson"]
    page = signed_in(browser, live_server, "teacher")
    grid = (f"{live_server}/journal/grid?target=class_id&id={world.classes['5А'].id}"
            f"&subject={world.subjects['math'].id}&period={period_of(world.year_a, 2).id}")
    page.goto(grid)
    page.locator(f'a.lesson-date[data-lesson="{lesson.id}"]').click()
    page.fill("#lesson-editor input[name=topic]", IMG + " новая")
    page.fill("#lesson-editor textarea[name=homework]", SCRIPT + " новое")
    with page.expect_response(f"**/journal/lesson/{lesson.id}") as saved:
        page.click("#lesson-save")
    assert saved.value.status == 200
    page.reload()
    assert page.locator(f'th[data-lesson="{lesson.id}"]').get_attribute("title") == IMG + " новая"
    assert_inert(page)
    page.goto(f"{live_server}/lessonview/show/{lesson.id}")
    assert_inert(page, IMG + " новая", SCRIPT + " новое")
    page.close()


# Pages whose scripts matter (select2, the date picker, FAB's list actions and filters, the grid, charts),
# opened as the admin: none may report a CSP violation, and their widgets must come alive.
CSP_PAGES = ["/", "/lessonview/list/", "/lessonview/add", "/consentview/add", "/studentview/list/",
             "/recommendationview/add", "/stats/", "/roster/", "/finals/", "/extracts/", "/exchange/",
             "/users/list/", "/users/add", "/resetmypassword/form", "/swagger/v1"]


def test_pages_run_under_the_csp(app, world, payloads, live_server, browser):
    page = signed_in(browser, live_server, "admin")
    errors = []
    page.on("pageerror", lambda err: errors.append(f"{page.url}: {err}"))
    for path in CSP_PAGES:
        response = page.goto(live_server + path)
        assert response.status == 200, path
        page.wait_for_load_state("load")
        assert page.evaluate("window.__csp") == [], path
        assert response.headers["content-security-policy"].startswith("default-src 'self'"), path
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
    # FAB's widgets ran: select2 dressed up the add form's selects
    page.goto(f"{live_server}/lessonview/add")
    assert page.locator(".select2-container").count() > 0
    assert errors == []
    page.close()
