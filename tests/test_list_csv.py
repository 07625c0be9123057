"""The auditor's lists (audit trail, consents, print log, outbox) have a «CSV» button: the file holds the
rows the list shows — its filters, the reader's school — with the list's Russian column names."""
import pytest

from app.models import ContactKind
from tests.consent_helpers import add_contact, add_guardian, parse_csv, record, ru
from tests.journal_helpers import statements

AUDITOR_LISTS = ("auditeventview", "consentview", "extractlogview", "outboxmessageview")


@pytest.mark.parametrize("view", AUDITOR_LISTS)
def test_each_auditor_list_offers_its_rows_as_csv(world, login_as, view):
    auditor = login_as("auditor")
    page = auditor.get(f"/{view}/list/").get_data(as_text=True)
    assert f'href="/{view}/csv"' in page and ru("Download CSV") in page
    answer = auditor.get(f"/{view}/csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]


def test_the_trail_file_follows_the_lists_filter_and_the_readers_school(world, login_as):
    record(world)  # a consent of Алексеева (school A)
    add_contact(world, "Алексеева", ContactKind.email, "alekseeva@example.ru")
    add_guardian(world, "Гаврилов", "Гаврилова")  # school B's trail
    auditor = login_as("auditor")
    page = auditor.get("/auditeventview/list/?_flt_0_entity=contact_point").get_data(as_text=True)
    assert 'href="/auditeventview/csv?_flt_0_entity=contact_point"' in page  # the button keeps the filter

    rows = parse_csv(auditor.get("/auditeventview/csv?_flt_0_entity=contact_point").data)
    assert len(rows) == 1
    row = rows[0]
    assert row[ru("Entity")] == ru("Contacts") and row[ru("Action")] == ru("created")
    assert f"{ru('Contact')}: alekseeva@example.ru" in row[ru("After")]
    assert "Алексеева" in row[ru("After")] and "guardian_id" not in row[ru("After")]

    everything = auditor.get("/auditeventview/csv").get_data(as_text=True)
    assert "Алексеева" in everything and "Гаврилова" not in everything


def test_a_teacher_gets_no_trail_file(world, login_as):
    assert login_as("teacher").get("/auditeventview/csv").status_code == 403


def test_the_trail_file_reads_referenced_rows_per_table_not_per_event(world, login_as):
    """The trail's before/after name related rows (a contact's representative, a consent's student): the file
    loads them one query per table, so its statement count does not grow with the events."""
    auditor = login_as("auditor")

    def csv_statements() -> int:
        with statements() as seen:
            assert auditor.get("/auditeventview/csv?_flt_0_entity=contact_point").status_code == 200
        return len(seen)

    add_contact(world, "Алексеева", ContactKind.email, "alekseeva@example.ru")
    one = csv_statements()
    for n, (kid, mother) in enumerate((("Борисов", "Борисова"), ("Васильев", "Васильева"))):
        add_guardian(world, kid, mother)
        add_contact(world, mother, ContactKind.email, f"mother{n}@example.ru")
    assert csv_statements() == one
