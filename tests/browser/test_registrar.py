"""The registrar records a family's refusal with the guided form in a real browser, and the student
moves to the paper-recipient list."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Consent, Decision, DocumentKind
from app.services.consent import STANDARD_TEXT, may_send_electronically
from tests import factories
from tests.conftest import PASSWORD
from tests.consent_helpers import SEPT_10, TODAY, record

pytestmark = pytest.mark.browser


def paper_list(page, base: str) -> str:
    page.goto(f"{base}/consent/paper")
    return page.locator("table.paper-recipients").inner_text()


def choose(page, name: str, value: str) -> None:
    """Pick an option of a select (FAB dresses most of them up with select2, which hides the original)."""
    page.select_option(f"select[name={name}]", value, force=True)
    page.evaluate(f"document.querySelector('select[name={name}]').dispatchEvent(new Event('change'))")


def pick_the_family_by_surname(page, mother) -> None:
    """Nothing is pre-selected: the student is found by surname (sorted, class shown), the representative
    offered from theirs only."""
    assert page.locator("select[name=student] option:checked").get_attribute("value") == ""
    assert page.locator("select[name=guardian] option").count() == 1
    assert page.locator("select[name=decision]").input_value() == ""
    page.click("select[name=student] + .select2 .select2-selection")
    page.locator(".select2-search__field").press_sequentially("алексе")
    found = page.locator(".select2-results__option:not(.loading-results)")
    found.first.wait_for()
    assert found.all_inner_texts() == ["Алексеев Иван Иванович (5А, 15.03.2015)",
                                       "Алексеенко Иван Иванович (5Б, 15.03.2015)"]
    found.first.click()
    page.locator("select[name=guardian] option").nth(1).wait_for(state="attached")
    assert page.locator("select[name=guardian] option").all_inner_texts() == ["", "Алексеева Мария Ивановна (мать)"]
    choose(page, "guardian", str(mother.id))


def test_registrar_records_a_refusal_and_the_student_becomes_a_paper_recipient(app, world, live_server, browser):
    app.config["SCHOOL_TODAY"] = TODAY.isoformat()
    record(world, Decision.consent, on=SEPT_10)  # Алексеев's family consented in September
    kid, mother = world.students["Алексеев"], world.guardians["Алексеева"]
    factories.student(world.classes["5Б"], "Алексеенко")  # a namesake in another class, listed second
    db.session.commit()

    page = browser.new_page()
    page.goto(f"{live_server}/login/")
    page.fill("input[name=username]", "registrar")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(f"{live_server}/")

    before = paper_list(page, live_server)
    assert "Борисов" in before and "Васильев" in before
    assert "Алексеев" not in before

    page.goto(f"{live_server}/consentview/add")
    # The statement's content is prefilled with the school's standard text.
    for field, text in STANDARD_TEXT.items():
        assert page.locator(f"textarea[name={field}]").input_value().strip() == text
    pick_the_family_by_surname(page, mother)
    choose(page, "decision", "refusal")
    choose(page, "document_kind", "paper")
    # Dates are typed key by key, as a person does: the date picker reads keystrokes, not a pasted value.
    page.locator("input[name=decided_on]").press_sequentially(f"{TODAY:%d.%m.%Y}")
    page.fill("input[name=document_number]", "57-ПД")
    page.locator("input[name=document_date]").press_sequentially(f"{TODAY:%d.%m.%Y}")
    page.fill("input[name=authority_basis]", "")
    page.locator("form:not(.navbar-logout) button[type=submit], "
                 "form:not(.navbar-logout) input[type=submit]").first.click()
    page.wait_for_load_state()
    page.wait_for_url(f"**/consent/history/{kid.id}")
    history = page.locator(".consent-decisions tbody tr")
    assert history.count() == 2 and "действует" in history.first.inner_text()

    after = paper_list(page, live_server)
    rows = page.locator("table.paper-recipients tbody tr")
    assert "Алексеев Иван Иванович" in after
    assert rows.count() == 4  # Алексеенко, Борисов and Васильев have no decision
    assert page.locator(f"tr[data-student='{kid.id}'] .paper-reason").inner_text() == f"отказ от {TODAY:%d.%m.%Y}"
    assert page.locator(f"tr[data-student='{kid.id}']").count() == 1

    db.session.expire_all()
    saved = db.session.scalars(select(Consent).order_by(Consent.id)).all()
    assert [c.decision for c in saved] == [Decision.consent, Decision.refusal]
    refusal = saved[-1]
    assert (refusal.document_kind, refusal.document_number, refusal.document_date) == (
        DocumentKind.paper, "57-ПД", TODAY)
    assert refusal.recorded_by == "registrar" and refusal.guardian_id == mother.id
    assert refusal.purpose == STANDARD_TEXT["purpose"]
    assert may_send_electronically(kid.id) is False
