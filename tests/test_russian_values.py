"""Values read as the school writes them (dates дд.мм.гггг, Да/Нет, enum names, nothing for None), on the
error pages, the audit trail and the user's own page; English through the language switcher."""
import datetime as dt

from app.models import ContactKind
from app.views.display import shown
from tests.consent_helpers import add_contact, ru


def test_values_read_in_the_schools_formats(app):
    assert shown(dt.date(2026, 9, 1)) == "01.09.2026"
    assert shown(dt.datetime(2026, 9, 1, 21, 30)) == "02.09.2026 00:30"  # stored UTC, shown in Moscow time
    assert shown(None) == ""
    with app.test_request_context():
        assert (str(shown(True)), str(shown(False))) == ("Да", "Нет")
        assert str(shown(ContactKind.email)) == "эл. почта"


def test_error_pages_are_russian_and_english_on_request(login_as):
    teacher = login_as("teacher")
    missing = teacher.get("/no-such-page/")
    assert missing.status_code == 404
    page = missing.get_data(as_text=True)
    assert '<html lang="ru">' in page and "Страница не найдена" in page and "Not Found" not in page
    forbidden = teacher.get("/auditeventview/list/")
    assert forbidden.status_code == 403
    assert "Доступ запрещён" in forbidden.get_data(as_text=True)

    teacher.get("/lang/en")
    page = teacher.get("/no-such-page/").get_data(as_text=True)
    assert '<html lang="en">' in page and "Page not found" in page


def test_the_trail_shows_a_change_by_labels_and_names(world, login_as):
    contact = add_contact(world, "Алексеева", ContactKind.email, "alekseeva@example.ru")
    auditor = login_as("auditor")
    listing = auditor.get("/auditeventview/list/").get_data(as_text=True)
    assert ru("Contacts") in listing and ru("created") in listing and "contact_point" not in listing
    event_id = listing.split("/auditeventview/show/")[1].split('"')[0]
    page = auditor.get(f"/auditeventview/show/{event_id}").get_data(as_text=True)
    assert contact.guardian.full_name in page  # the related row by name, not its id
    for text in (ru("Legal representative"), ru("Contact"), ru("written statement"), ru("e-mail"), "Да"):
        assert text in page, text
    for raw in ("guardian_id", "written_statement", "True", "{"):
        assert raw not in page.split("<body")[1].split("<script")[0], raw


def test_user_info_names_the_roles_in_russian(login_as):
    page = login_as("classteacher").get("/users/userinfo/").get_data(as_text=True)
    assert "Учитель" in page and ru("Class teacher") in page
    assert "ClassTeacher" not in page and "[Teacher" not in page


def test_optional_pickers_offer_a_named_empty_choice(login_as):
    page = login_as("director").get("/studentview/add").get_data(as_text=True)
    assert ">— не выбрано —</option>" in page and ">__None</option>" not in page


def test_a_form_shows_and_reads_dates_as_dd_mm_yyyy(world, login_as):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Holiday

    holiday = db.session.scalars(select(Holiday).where(Holiday.school_id == world.school_a.id)).first()
    director = login_as("director")
    form = director.get(f"/holidayview/edit/{holiday.id}").get_data(as_text=True)
    assert f'value="{holiday.start:%d.%m.%Y}"' in form
    fields = {"school": holiday.school_id, "year": holiday.year_id, "name": holiday.name,
              "end": f"{holiday.end:%d.%m.%Y}"}
    answer = director.post(f"/holidayview/edit/{holiday.id}", data={**fields, "start": "27.10.2026"})
    assert answer.status_code == 302
    db.session.expire_all()
    assert db.session.get(Holiday, holiday.id).start.isoformat() == "2026-10-27"
    refused = director.post(f"/holidayview/edit/{holiday.id}", data={**fields, "start": "31.02.2026"})
    assert refused.status_code == 200  # the form again, with its message
    db.session.expire_all()
    assert db.session.get(Holiday, holiday.id).start.isoformat() == "2026-10-27"
