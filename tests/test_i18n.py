"""Russian first, English second: the catalogues are complete, current with the code, and used by the UI.

The .mo files are not committed; tests/conftest.py compiles them for the session (Babel's Python API), so
the suite does not depend on `make translations` having run.
"""
from pathlib import Path

import flask_appbuilder
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from app.extensions import db
from app.models import ClassUnit

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"
RU_PO = TRANSLATIONS / "ru" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
LIST_PAGE = "/classunitview/list/"


def _read(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def _ids(catalog) -> set:
    return {m.id for m in catalog if m.id}


def test_russian_catalogue_translates_every_message():
    ru = _read(RU_PO)
    missing = sorted(i for i in _ids(_read(POT)) if i not in ru or not ru[i].string)
    assert not missing, f"untranslated in ru (run pybabel update, then translate): {missing}"
    fuzzy = sorted(m.id for m in ru if m.id and m.fuzzy)
    assert not fuzzy, f"fuzzy entries in ru: {fuzzy}"


def test_russian_catalogue_keeps_placeholders():
    problems = [(m.id, [str(e) for e in errors]) for m, errors in _read(RU_PO).check()]
    assert not problems, problems


def test_russian_catalogue_does_not_change_fab_own_translations():
    """Our catalogue is merged over FAB's: a msgid FAB already translates (e.g. "Login", the sign-in
    button) must keep FAB's text, or FAB's screens change under our feet."""
    fab = _read(Path(flask_appbuilder.__file__).parent / "translations" / "ru" / "LC_MESSAGES" / "messages.po")
    changed = [(m.id, fab[m.id].string, m.string) for m in _read(RU_PO)
               if m.id and m.id in fab and fab[m.id].string and not fab[m.id].fuzzy and fab[m.id].string != m.string]
    assert not changed, f"pick another msgid, or keep FAB's translation: {changed}"


def test_template_is_up_to_date_with_the_code():
    """A string wrapped in _l/_() but missing from messages.pot fails here (pybabel extract, as in README)."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = {msg[2] if isinstance(msg[2], str) else msg[2][0]
             for msg in extract_from_dir(str(ROOT), method_map, options_map, keywords=KEYWORDS)}
    found.discard("")
    in_pot = _ids(_read(POT))
    assert found, "nothing extracted: check babel.cfg"
    assert sorted(found - in_pot) == [], "new strings: re-run pybabel extract/update (translations/README.md)"
    assert sorted(in_pot - found) == [], "stale strings in messages.pot: re-run pybabel extract/update"


def test_menu_is_russian_by_default_and_english_on_request(login_as):
    client = login_as("teacher")

    page = client.get(LIST_PAGE).get_data(as_text=True)
    assert "Классы" in page and "Обучающиеся" in page
    assert "Students" not in page

    assert client.get("/lang/en").status_code == 302
    page = client.get(LIST_PAGE).get_data(as_text=True)
    assert "Classes" in page and "Students" in page
    assert "Обучающиеся" not in page

    assert client.get("/lang/ru").status_code == 302
    page = client.get(LIST_PAGE).get_data(as_text=True)
    assert "Классы" in page and "Обучающиеся" in page


def test_rule_violation_is_translated(login_as, world):
    """A message raised by the services reaches the user in the current language."""
    client = login_as("director")
    data = {"school": world.school_a.id, "year": world.year_a.id, "grade": 12, "letter": "В", "period_kind": "quarter"}
    page = client.post("/classunitview/add", data=data, follow_redirects=True).get_data(as_text=True)
    assert "Параллель должна быть от 1 до 11." in page
    client.get("/lang/en")
    page = client.post("/classunitview/add", data=data, follow_redirects=True).get_data(as_text=True)
    assert "The grade must be from 1 to 11." in page
    assert db.session.query(ClassUnit).filter_by(letter="В").count() == 0
