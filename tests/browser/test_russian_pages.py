"""Every role walks every page of its menu in Chromium (each list, and the first row's show and edit
page and the add form of each model view) and reads it as the school sees it: no Latin word, no raw
enum value, no `None`, no English date, only Russian, with `<html lang="ru">`.

Pages are found by walking the navbar, so views added later are checked without touching this test.
A page's words do not depend on who reads it (only its rows do), so each page is read once, by the
first role whose menu reaches it; the navbar itself, which does depend on the role, is read for every
role.
"""
import re

import pytest

from app.services.consent import record_decision
from tests.conftest import PASSWORD
from tests.consent_helpers import TODAY, add_contact, decision
from tests.journal_helpers import freeze_today
from tests.stats_helpers import build_curriculum, build_results

pytestmark = pytest.mark.browser

ROLES = ("admin", "director", "teacher", "classteacher", "registrar", "auditor")
# Latin a school reads as is: file formats, the REST API, e-mail, the journal's own marks of the
# world (logins, test e-mail addresses) and document numbers are cut out before the check.
# The language switcher names English in English; N is the statistics formulas' symbol.
ALLOWED = {"PDF", "CSV", "XLSX", "API", "REST", "e", "mail", "English", "N"}
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z_]*")
# The test world's logins (`teacher_b`), staff named after them («Directorова», position «director») and
# e-mail addresses are its data, not the interface's words.
CUT = re.compile(r"\S+@\S+|\b(?:admin|director|teacher|classteacher|registrar|auditor)(?:_\w+)?\b"
                 r"|\b(?:Director|Registrar|Auditor)ова\b")
# FAB's security internals list code identifiers (permission and view names such as `can_read` on
# `ConsentView`), its user groups (unused here) and its sign-in chart, for the deployment administrator:
# not pages a school reads.
TECHNICAL = ("/permissions/", "/permissionviews/", "/viewmenus/", "/roles/", "/groups/", "/userstatschartview/")
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
FORM_PAGES = re.compile(r"/(show|edit)/\d+$|/add$")

# What the page shows: its visible text, the options of its pickers and the navbar's dropdowns. Machine
# text (hashes, keys, the payload sent to the portal) is set in <code> or <pre> and compared, not read.
VISIBLE = """() => {
  const opts = [...document.querySelectorAll('select option')].map(o => o.textContent);
  const nav = document.querySelector('nav, .navbar');
  let body = document.body.innerText;
  for (const el of document.querySelectorAll('pre, code')) { body = body.split(el.innerText).join(' '); }
  return {lang: document.documentElement.lang, body: body,
          options: opts.join('\\n'), nav: nav ? nav.textContent : ''};
}"""
LINKS = """() => [...document.querySelectorAll('.navbar a[href], table a[href], .btn[href], a.btn')]
  .map(a => a.getAttribute('href')).filter(h => h && h.startsWith('/'))"""


def foreign_words(text: str) -> set[str]:
    """Latin words and ISO dates in the text, apart from the allowlist."""
    words = {w for w in LATIN_WORD.findall(CUT.sub(" ", text)) if w not in ALLOWED}
    return words | set(ISO_DATE.findall(text))


@pytest.fixture
def school_data(app, world):
    """Rows on every page a role reads: finals, lessons, marks, attendance, a consent, a contact and the
    trail they leave (asked before live_server)."""
    freeze_today(app, TODAY)
    build_curriculum(world)
    build_results(world)
    from app.extensions import db
    from app.models import ContactKind
    from app.services.audit import acting_as

    with acting_as("registrar", None):
        record_decision(decision(world), "registrar")
        add_contact(world, "Алексеева", ContactKind.email, "alekseeva@example.ru")
    db.session.commit()


def _sign_in(browser, base: str, username: str):
    context = browser.new_context(locale="ru-RU")
    # The words are in the HTML: without styles and scripts each page loads at once, and what styles would
    # hide (closed dropdowns, dialogs such as the delete confirmation) is read too.
    context.route(re.compile(r"/static/"), lambda route: route.abort())
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(f"{base}/")
    return context, page


def _pattern(href: str) -> str:
    """The page's kind: one show and one form per view is enough (an edit form has the add form's labels
    and choices; its values are the row's, read on the show page)."""
    return re.sub(r"/edit/<id>$", "/add", re.sub(r"\?.*$", "", re.sub(r"/\d+$", "/<id>", href)))


def _read(page, base: str, href: str, problems: dict) -> list[str]:
    """Open the page, note what is not Russian, return the links of its rows and buttons."""
    response = page.goto(base + href, wait_until="domcontentloaded")
    if response is None or response.status >= 400 or "/login" in page.url:
        problems[href] = [f"HTTP {response.status if response else '?'}"]
        return []
    shown = page.evaluate(VISIBLE)
    found = sorted(foreign_words(shown["body"]) | foreign_words(shown["options"]) | foreign_words(shown["nav"]))
    if shown["lang"] != "ru":
        found.append(f'<html lang="{shown["lang"]}">')
    if found:
        problems[href] = found
    return page.evaluate(LINKS)


def test_every_menu_page_of_every_role_is_russian(app, world, school_data, live_server, browser):
    seen: set[str] = set()
    problems: dict[str, list[str]] = {}
    for role in ROLES:
        context, page = _sign_in(browser, live_server, role)
        menu = [h for h in _read(page, live_server, "/", problems) if not h.startswith(("/lang", "/logout"))]
        for href in ["/users/userinfo/", *menu]:
            if _pattern(href) in seen or href == "/" or href.startswith(TECHNICAL):
                continue
            seen.add(_pattern(href))
            for link in _read(page, live_server, href, problems):
                if FORM_PAGES.search(link.split("?")[0]) and _pattern(link) not in seen:
                    seen.add(_pattern(link))
                    _read(page, live_server, link, problems)
        context.close()
    assert len(seen) > 40, sorted(seen)  # the walk reached the pages
    assert not problems, "\n".join(f"{href}: {words}" for href, words in sorted(problems.items()))
