"""The director prints an extract from the print form in real Chromium, CSRF on: the browser saves a
file under its Russian name (from `filename*`) and it is the PDF the print log describes."""
import hashlib

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db
from app.models import ExtractLog
from tests.conftest import PASSWORD
from tests.finals_helpers import q1
from tests.journal_helpers import HTTP_TODAY, freeze_today

pytestmark = pytest.mark.browser


@pytest.fixture
def print_day(app, world):
    """CSRF on and the school clock on HTTP_TODAY, set before live_server serves its first request."""
    app.config["WTF_CSRF_ENABLED"] = True
    freeze_today(app, HTTP_TODAY)


def test_extract_arrives_with_its_russian_name(world, print_day, live_server, browser, tmp_path):
    page = browser.new_page(accept_downloads=True)
    page.goto(f"{live_server}/login/")
    page.fill("input[name=username]", "director")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/extracts/")
    page.select_option("#student_id", str(world.students["Алексеев"].id))
    page.select_option("#period_id", str(q1(world).id))
    with page.expect_download() as download_info:
        page.click(".extracts-form button[type=submit]")
    download = download_info.value
    assert download.failure() is None
    assert download.suggested_filename == "Выписка В-2026-000001.pdf"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    data = saved.read_bytes()
    text = "".join(p.extract_text() for p in PdfReader(saved).pages)
    assert "Выписка из электронного журнала № В-2026-000001" in text and "Алексеев Иван Иванович" in text
    db.session.expire_all()
    [log] = db.session.scalars(select(ExtractLog)).all()
    assert log.number == "В-2026-000001" and log.sha256 == hashlib.sha256(data).hexdigest()
