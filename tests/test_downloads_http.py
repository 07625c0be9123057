"""Every file download through a real HTTP server (Werkzeug's, in a thread) and a real client (httpx):
200, the content type, an RFC 6266 Content-Disposition whose `filename*` gives the Russian name, and a
body that pypdf / csv / openpyxl read. Werkzeug's server (like gunicorn) writes headers as latin-1: a
raw Cyrillic name was a UnicodeEncodeError and an empty answer, while the extract's number stayed in
the print log. The file routes are found in the code (every caller of the one download helper), so a
new download this module does not know fails it."""
import ast
import csv
import hashlib
import inspect
import io
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, ExtractLog
from tests.conftest import PASSWORD
from tests.consent_helpers import record
from tests.finals_helpers import q1
from tests.journal_helpers import HTTP_TODAY, freeze_today

ROOT = Path(__file__).resolve().parent.parent
APP_DIR = ROOT / "app"
HELPERS = {"attachment", "csv_response"}  # app.views.downloads.attachment and the CSV writer built on it
# Every view that returns a file, and the test below that downloads it over HTTP.
# The lists with a «Скачать CSV» button: view → (URL, file name).
LIST_CSV = {"AuditEventView": ("/auditeventview/csv", "Журнал аудита.csv"),
            "ConsentView": ("/consentview/csv", "Согласия.csv"),
            "OutboxMessageView": ("/outboxmessageview/csv", "Исходящие сообщения.csv"),
            "ExtractLogView": ("/extractlogview/csv", "Журнал выдачи выписок.csv")}
FILE_ROUTES = {
    "ExtractsView.print_pdf": "test_extracts_single_and_batch",
    "FinalsView.summary_pdf": "test_summary_sheet",
    "StatsView.export": "test_statistics_csv",
    "ConsentPagesView.history_csv": "test_consent_history_and_audit_csv",
    "AuditExportView.export_csv": "test_consent_history_and_audit_csv",
    "RosterView.template_xlsx": "test_roster_templates",
    "RosterView.template_csv": "test_roster_templates",
    "ControlView.csv": "test_control_reports",
    "ControlView.pdf": "test_control_reports",
    "TimetableWeekView.pdf": "test_timetable_week_and_template",
    "TimetableWeekView.template": "test_timetable_week_and_template",
    **{f"{view}.csv": "test_the_lists_csv_buttons" for view in LIST_CSV},
}
OTHER_WAYS = re.compile(r"Content-Disposition|send_file|send_from_directory|as_attachment|download_name")


@pytest.fixture
def server(app, live_server):
    """The app on http://127.0.0.1:<free port> (school day HTTP_TODAY), stopped after the test."""
    freeze_today(app, HTTP_TODAY)
    return live_server


@pytest.fixture
def signed_in(server):
    """signed_in("auditor") → an httpx client with that user's session cookie."""
    clients = []

    def sign_in(username: str) -> httpx.Client:
        client = httpx.Client(base_url=server, timeout=60)
        clients.append(client)
        answer = client.post("/login/", data={"username": username, "password": PASSWORD})
        assert answer.status_code == 302, f"login of {username} failed"
        return client

    yield sign_in
    for client in clients:
        client.close()


def downloaded(response: httpx.Response, mimetype: str, name: str) -> bytes:
    """Check a download's status, type and RFC 6266 name; its body."""
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].split(";")[0] == mimetype
    header = response.headers["content-disposition"]
    header.encode("ascii")  # nothing a latin-1 server could choke on
    match = re.fullmatch(r"attachment; filename=\"([\x20-\x7e]+)\"; filename\*=UTF-8''([A-Za-z0-9%._~-]+)", header)
    assert match, header
    assert unquote(match[2], errors="strict") == name
    assert '"' not in match[1] and "\\" not in match[1]
    assert response.headers["cache-control"] == "private, no-store"
    return response.content


def pdf_text(body: bytes) -> str:
    """The text of a real PDF (pypdf reads it)."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def csv_rows(body: bytes) -> list[list[str]]:
    """The rows of a «;»-separated UTF-8 CSV with BOM."""
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def print_log() -> list[ExtractLog]:
    """The committed print log, in number order."""
    db.session.expire_all()
    return db.session.scalars(select(ExtractLog).order_by(ExtractLog.seq)).all()


def _helper_callers() -> set[tuple[str, str]]:
    """(module, qualified name) of every function in app/ that calls a download helper."""
    found = set()
    for path in APP_DIR.rglob("*.py"):
        module = ".".join(path.relative_to(APP_DIR.parent).with_suffix("").parts)

        def walk(node, names):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    walk(child, [*names, child.name])
                    continue
                if isinstance(child, ast.Call):
                    func = child.func
                    called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                    if called in HELPERS and names and names[-1] not in HELPERS:
                        found.add((module, ".".join(names)))
                walk(child, names)

        walk(ast.parse(path.read_text(encoding="utf-8")), [])
    return found


def test_every_file_route_is_known_and_uses_the_one_helper(app):
    routes = {}
    for rule in app.url_map.iter_rules():
        view = inspect.unwrap(app.view_functions[rule.endpoint])
        routes.setdefault((view.__module__, view.__qualname__), set()).add(rule.endpoint)
    callers = _helper_callers()
    hidden = sorted(c for c in callers if c not in routes)
    assert hidden == [], "a download helper is called outside a view method: route it or list it here"
    served = {endpoint for caller in callers for endpoint in routes[caller]}
    assert served == set(FILE_ROUTES), "a file route this module does not download (or one that is gone)"
    elsewhere = sorted(str(p.relative_to(APP_DIR)) for p in APP_DIR.rglob("*.py")
                       if p.name != "downloads.py" and OTHER_WAYS.search(p.read_text(encoding="utf-8")))
    assert elsewhere == [], "a file leaves without app.views.downloads.attachment"


def test_extracts_single_and_batch(world, signed_in):
    director = signed_in("director")
    period = q1(world).id
    refused = director.post("/extracts/print", data={"period_id": period, "target": "student",
                                                     "student_id": world.students["Алексеев"].id,
                                                     "start": "2026-10-01", "end": "2026-09-01"})
    assert refused.status_code == 400 and "extracts-error" in refused.text
    assert "Дата начала диапазона позже даты его окончания." in refused.text
    assert print_log() == []
    single = director.post("/extracts/print", data={"period_id": period, "target": "student",
                                                    "student_id": world.students["Алексеев"].id})
    body = downloaded(single, "application/pdf", "Выписка В-2026-000001.pdf")
    assert "№ В-2026-000001" in pdf_text(body) and "Алексеев" in pdf_text(body)
    [log] = print_log()  # the refused request used no number; the log holds exactly the file received
    assert log.number == "В-2026-000001" and log.sha256 == hashlib.sha256(body).hexdigest()
    assert 'filename="Vypiska V-2026-000001.pdf"' in single.headers["content-disposition"]

    batch = signed_in("classteacher").post("/extracts/print", data={
        "period_id": period, "target": "class", "class_id": world.classes["5А"].id})
    body = downloaded(batch, "application/pdf", "Выписки В-2026-000002–000003.pdf")
    text = pdf_text(body)
    assert "№ В-2026-000002" in text and "№ В-2026-000003" in text
    assert [(x.number, x.sha256) for x in print_log()[1:]] == \
        [("В-2026-000002", hashlib.sha256(body).hexdigest()), ("В-2026-000003", hashlib.sha256(body).hexdigest())]


def test_a_repeated_section_prints_once_and_is_logged_once(world, signed_in):
    """A crafted form repeating a section used to overflow the log's column (PostgreSQL: a 500 after
    the PDF was made; SQLite: a 400-character list)."""
    answer = signed_in("director").post("/extracts/print", data={
        "period_id": q1(world).id, "target": "student", "student_id": world.students["Борисов"].id,
        "sections": ["holidays"] * 40, "start": "2026-09-01", "end": "2026-11-20"})
    body = downloaded(answer, "application/pdf", "Выписка В-2026-000001.pdf")
    assert pdf_text(body).count("Осенние каникулы") == 1
    assert [x.sections for x in print_log()] == ["holidays"]


def test_summary_sheet(world, signed_in):
    answer = signed_in("classteacher").get("/finals/summary.pdf", params={"class_id": world.classes["5А"].id})
    body = downloaded(answer, "application/pdf", "Сводная ведомость 5А 2026-2027.pdf")
    assert "Сводная ведомость" in pdf_text(body)


def test_statistics_csv(world, signed_in):
    client = signed_in("director")
    for table, title in (("classes", "По классам"), ("curriculum", "Выполнение учебного плана")):
        answer = client.get("/stats/export.csv", params={"table": table, "period_id": q1(world).id})
        rows = csv_rows(downloaded(answer, "text/csv", f"Статистика - {title} - 1 четверть 2026-2027.csv"))
        assert rows[0][0] in ("Название", "Класс"), rows[0]


def test_control_reports(world, signed_in):
    client = signed_in("director")
    params = {"period_id": q1(world).id}
    rows = csv_rows(downloaded(client.get("/control/export.csv", params={**params, "report": "attendance"}), "text/csv",
                               "Посещаемость - По классам - 01.09.2026-25.10.2026.csv"))
    assert rows[0][0] == "Класс"
    body = downloaded(client.get("/control/export.pdf", params={**params, "report": "timeliness"}), "application/pdf",
                      "Своевременность заполнения журнала 01.09.2026-25.10.2026.pdf")
    assert "Своевременность заполнения журнала" in pdf_text(body)


def test_timetable_week_and_template(world, signed_in):
    director = signed_in("director")
    week = director.get("/timetable/pdf", params={"class": world.classes["5А"].id, "week": "2026-11-16"})
    assert "Расписание" in pdf_text(downloaded(week, "application/pdf", "Расписание 5А 16.11.2026.pdf"))
    rows = csv_rows(downloaded(director.get("/timetable/template.csv"), "text/csv", "Шаблон расписания.csv"))
    assert rows and rows[0][0]


def test_the_lists_csv_buttons(world, signed_in):
    record(world)  # a consent, audited
    auditor = signed_in("auditor")
    for url, name in LIST_CSV.values():
        rows = csv_rows(downloaded(auditor.get(url), "text/csv", name))
        assert rows[0] and all(isinstance(cell, str) for cell in rows[0]), url
    consents = csv_rows(downloaded(auditor.get(LIST_CSV["ConsentView"][0]), "text/csv", LIST_CSV["ConsentView"][1]))
    assert len(consents) == 2 and "Алексеев Иван Иванович" in consents[1]


def test_consent_history_and_audit_csv(world, signed_in):
    record(world)  # Алексеева consents: one decision, audited
    auditor = signed_in("auditor")
    history = csv_rows(downloaded(auditor.get("/consent/history.csv"), "text/csv", "История согласий.csv"))
    assert history[0][:2] == ["id", "обучающийся"] and history[1][1] == "Алексеев Иван Иванович"
    trail = csv_rows(downloaded(auditor.get("/audit/export.csv"), "text/csv", "Журнал аудита.csv"))
    assert trail[0][:3] == ["id", "когда", "кто"]
    assert len(trail) - 1 == db.session.scalar(select(func.count()).select_from(AuditEvent)) > 0


def test_roster_templates(world, signed_in):
    registrar = signed_in("registrar")
    xlsx = downloaded(registrar.get("/roster/template.xlsx"),
                      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                      "Шаблон списка обучающихся.xlsx")
    header = [c.value for c in next(load_workbook(io.BytesIO(xlsx)).active.iter_rows(max_row=1))]
    rows = csv_rows(downloaded(registrar.get("/roster/template.csv"), "text/csv", "Шаблон списка обучающихся.csv"))
    assert rows == [header]


def test_fab_file_download_routes_answer_404(app, signed_in):
    """FAB's own `…/download/<filename>` (no model has file columns) serves nothing, over HTTP too."""
    admin = signed_in("admin")
    rules = [r.rule for r in app.url_map.iter_rules() if r.endpoint.endswith(".download")]
    assert rules
    for rule in rules:
        assert admin.get(rule.replace("<string:filename>", "x.pdf")).status_code == 404, rule


@pytest.fixture
def gunicorn(database_url, world, tmp_path):
    """`gunicorn run:app` (one sync worker, the production-like Config: CSRF on) on the test database."""
    pytest.importorskip("gunicorn")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": database_url, "SCHOOL_TODAY": HTTP_TODAY.isoformat(),
           "APP_CONFIG": "config.Config"}
    log = tmp_path / "gunicorn.log"
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "--timeout", "120",
                             "--error-logfile", str(log), "run:app"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 180
    try:
        while True:
            try:
                if httpx.get(f"{base}/login/", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)


def _csrf(page: httpx.Response) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)[1]


def test_extract_through_gunicorn(world, gunicorn):
    """gunicorn writes headers as latin-1 too: the extract arrives whole, under its Russian name."""
    with httpx.Client(base_url=gunicorn, timeout=120) as client:
        login = client.get("/login/")
        signed = client.post("/login/", data={"username": "director", "password": PASSWORD, "csrf_token": _csrf(login)})
        assert signed.status_code == 302
        form = client.get("/extracts/")
        answer = client.post("/extracts/print", data={
            "csrf_token": _csrf(form), "period_id": q1(world).id, "target": "student",
            "student_id": world.students["Васильев"].id})
        body = downloaded(answer, "application/pdf", "Выписка В-2026-000001.pdf")
    assert "Васильев Иван Иванович" in pdf_text(body)
    [log] = print_log()
    assert log.sha256 == hashlib.sha256(body).hexdigest()
