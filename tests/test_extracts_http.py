"""Extract pages: who may print whom, bad input with a clear message and no log row, verification,
the print log and the summary sheet PDF."""
import io

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from app.extensions import db
from app.models import ExtractLog
from tests.consent_helpers import record
from tests.finals_helpers import q1

pytestmark = pytest.mark.usefixtures("frozen_today")  # HTTP_TODAY


def logs() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(ExtractLog))


def post(client, world, **form):
    data = {"period_id": q1(world).id, "target": "student", **form}
    return client.post("/extracts/print", data=data)


def test_teacher_is_refused(world, login_as):
    client = login_as("teacher")
    assert client.get("/extracts/").status_code == 403
    assert post(client, world, student_id=world.students["Алексеев"].id).status_code == 403
    assert logs() == 0


def test_class_teacher_prints_own_class_only(world, login_as):
    client = login_as("classteacher")
    ok = post(client, world, target="class", class_id=world.classes["5А"].id)
    assert ok.status_code == 200 and ok.mimetype == "application/pdf"
    assert len(PdfReader(io.BytesIO(ok.data)).pages) >= 2 and logs() == 2
    refused = post(client, world, target="class", class_id=world.classes["5Б"].id)
    assert refused.status_code == 400 and "extracts-error" in refused.text
    other = post(client, world, student_id=world.students["Васильев"].id)
    assert other.status_code == 400 and logs() == 2


def test_administration_prints_any_student_and_bad_input_is_clear(world, login_as):
    client = login_as("director")
    response = post(client, world, student_id=world.students["Васильев"].id)
    assert response.status_code == 200 and logs() == 1
    for bad in ({"student_id": world.students["Гаврилов"].id}, {"period_id": 999999, "student_id": 1},
                {"student_id": world.students["Алексеев"].id, "start": "2026-10-01", "end": "2026-09-01"},
                {"student_id": "abc"}):
        answer = post(client, world, **bad)
        assert answer.status_code == 400 and "extracts-error" in answer.text, bad
    assert logs() == 1


def test_verification_page_and_print_log(world, login_as):
    data = post(login_as("director"), world, student_id=world.students["Алексеев"].id).data
    number = db.session.scalar(select(ExtractLog.number))
    auditor = login_as("auditor")
    ok = auditor.post("/extracts/verify/", data={"number": number, "file": (io.BytesIO(data), "x.pdf")},
                      content_type="multipart/form-data")
    assert "extracts-verdict-ok" in ok.text
    bad = auditor.post("/extracts/verify/", data={"number": number, "file": (io.BytesIO(data + b"%"), "x.pdf")},
                       content_type="multipart/form-data")
    assert "extracts-verdict-bad" in bad.text
    listing = auditor.get("/extractlogview/list/")
    assert listing.status_code == 200 and number in listing.text
    assert auditor.get("/extracts/").status_code == 403
    assert login_as("teacher").get("/extractlogview/list/").status_code == 403


def test_summary_sheet_pdf(world, login_as):
    url = f"/finals/summary.pdf?class_id={world.classes['5А'].id}"
    response = login_as("classteacher").get(url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    page = reader.pages[0]
    assert page.mediabox.width > page.mediabox.height  # landscape
    text = page.extract_text()
    assert "Сводная ведомость" in text and "Алексеев И. И." in text and "Математика" in text
    assert login_as("teacher_b").get(url).status_code == 404
    page_html = login_as("director").get(f"/finals/summary?class_id={world.classes['5А'].id}").text
    assert "summary.pdf" in page_html


def test_print_form_lists_what_the_user_may_print(world, login_as):
    page = login_as("director").get("/extracts/")
    assert page.status_code == 200 and "extracts-form" in page.text
    assert "Васильев Иван Иванович" in page.text and 'value="school"' in page.text
    assert login_as("admin").get("/extracts/").status_code == 200
    own = login_as("classteacher").get("/extracts/").text
    assert "Алексеев Иван Иванович" in own and "Васильев Иван Иванович" not in own


def test_registrar_prints_paper_recipients_only(world, login_as):
    record(world)  # Алексеев's family consents to electronic delivery
    client = login_as("registrar")
    assert client.get("/extracts/").status_code == 200
    assert post(client, world, student_id=world.students["Алексеев"].id).status_code == 400
    assert logs() == 0
    assert post(client, world, student_id=world.students["Борисов"].id).status_code == 200
    assert post(client, world, target="class", class_id=world.classes["5А"].id).status_code == 200
    db.session.expire_all()
    assert [x.student.surname for x in db.session.scalars(select(ExtractLog).order_by(ExtractLog.seq))] == \
        ["Борисов", "Борисов"]
