"""Backup and restore of the PostgreSQL database (docs/operations.md), done once for real: data with an
audit trail is dumped with `pg_dump -Fc`, restored with `pg_restore --no-owner` into a new database on
the same server, and the app started on the copy finds everything: the same rows, an intact audit hash
chain (`flask audit verify`), no schema drift (`flask db check`), `flask school init` harmless, sign-in
and the journal working, and new changes continuing the chain.

PostgreSQL only (TEST_DATABASE_URL=postgresql+psycopg://…); needs pg_dump and pg_restore of the server's
major version or newer (PATH or /usr/lib/postgresql/<major>/bin) and a test role allowed to create
databases (CREATEDB); skipped, with the reason, otherwise.
"""
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from app import create_app
from app.extensions import db, migrate
from app.models import Attendance, AuditEvent, Consent, Lesson, Mark, Student
from app.services.audit import acting_as, verify_chain
from app.services.journal import set_attendance, set_mark
from tests.conftest import PASSWORD
from tests.consent_helpers import SEPT_10, record
from tests.journal_helpers import actor, add_lessons, work_type
from tests.pg_databases import drop_database, recreate_database

LESSON_DAY, WRITE_DAY = dt.date(2026, 9, 7), dt.date(2026, 9, 8)
COUNTED = {"mark": Mark, "attendance": Attendance, "audit_event": AuditEvent, "consent": Consent,
           "lesson": Lesson, "student": Student, "ab_user": User}


def pg_tool(name: str, server_major: int) -> str | None:
    """pg_dump / pg_restore able to handle the server: its major version's, else on PATH, else the newest."""
    installed = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
                       key=lambda p: [int(n) for n in re.findall(r"\d+", p.parts[-3])], reverse=True)
    for candidate in [Path(f"/usr/lib/postgresql/{server_major}/bin/{name}"), shutil.which(name), *installed]:
        if candidate and os.access(candidate, os.X_OK):
            out = subprocess.run([str(candidate), "--version"], capture_output=True, text=True).stdout
            found = re.search(r"\)\s*(\d+)", out)  # "pg_dump (PostgreSQL) 15.14 (Debian …)"
            if found and int(found.group(1)) >= server_major:
                return str(candidate)
    return None


def libpq(url) -> tuple[list[str], dict]:
    """Connection options and environment (the password) of a SQLAlchemy URL for the pg_* programs."""
    args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username]
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    return args, env


@pytest.fixture
def postgres(app, database_url):
    """(URL, pg_dump, pg_restore) of the session's PostgreSQL database, or a skip saying what is missing."""
    if not database_url.startswith("postgresql"):
        pytest.skip("backup and restore are PostgreSQL's: set TEST_DATABASE_URL=postgresql+psycopg://…")
    major = int(db.session.scalar(text("SHOW server_version_num"))) // 10000
    tools = {name: pg_tool(name, major) for name in ("pg_dump", "pg_restore")}
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} of PostgreSQL {major} or newer not found (PATH, /usr/lib/postgresql/*/bin)")
    return make_url(database_url), tools["pg_dump"], tools["pg_restore"]


@pytest.fixture
def fresh_database(postgres):
    """A new, empty database on the same server, owned by the test role; dropped afterwards."""
    url = postgres[0]
    name = f"{url.database}_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    try:
        recreate_database(admin, name)
    except ProgrammingError as err:
        admin.dispose()
        if "permission denied" in str(err):
            pytest.skip(f"the role {url.username} may not create databases, which a restore into a fresh one "
                        f"needs (grant it: ALTER ROLE {url.username} CREATEDB)")
        raise
    try:
        yield url.set(database=name)
    finally:
        drop_database(admin, name)
        admin.dispose()


def counts() -> dict[str, int]:
    return {name: db.session.scalar(select(func.count()).select_from(model)) for name, model in COUNTED.items()}


def cli(app, *args: str) -> tuple[int, str]:
    """Run a `flask` command on that app: the exit code and what it printed (Alembic prints to sys.stdout
    bound at import time: point it at the runner's)."""

    def current_stdout(config):
        config.stdout = sys.stdout
        return config

    callbacks = migrate.configure_callbacks
    migrate.configure_callbacks = [*callbacks, current_stdout]
    try:
        result = app.test_cli_runner().invoke(args=list(args))
    finally:
        migrate.configure_callbacks = callbacks
    return result.exit_code, result.output


def build_history(world) -> None:
    """A consent, marks set and corrected, an absence: rows with an audit trail of their own."""
    record(world, on=SEPT_10, by="registrar")
    lessons = add_lessons(world, LESSON_DAY, dt.date(2026, 9, 4))
    kid, other, wt = world.students["Алексеев"], world.students["Борисов"], work_type(world)
    teacher_id = db.session.scalar(select(User.id).where(User.username == "teacher"))
    with acting_as("teacher", teacher_id):
        for lesson in lessons:
            cell = set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 5, today=WRITE_DAY)
            set_mark(actor("teacher"), lesson.id, other.id, wt.id, 3, today=WRITE_DAY)
            db.session.commit()
            set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 4, version=cell["version"], today=WRITE_DAY)
            db.session.commit()
        set_attendance(actor("teacher"), lessons[0].id, other.id, "Н", today=WRITE_DAY)
        db.session.commit()


def test_a_dump_restored_into_a_fresh_database_serves_the_app_with_an_intact_audit_trail(
        app, postgres, fresh_database, world, tmp_path):
    url, pg_dump, pg_restore = postgres
    build_history(world)
    before = counts()
    assert before["audit_event"] >= 8 and before["mark"] == 4
    assert verify_chain() == (before["audit_event"], None)
    db.session.commit()

    # Backup: the custom format (compressed, restorable selectively) of the live database.
    dump = tmp_path / "journal.dump"
    args, env = libpq(url)
    done = subprocess.run([pg_dump, *args, "-d", url.database, "-Fc", "-f", str(dump)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert dump.stat().st_size > 0

    # Restore into the new database, owned by whoever restores.
    args, env = libpq(fresh_database)
    done = subprocess.run([pg_restore, *args, "-d", fresh_database.database, "--no-owner", "--exit-on-error",
                           str(dump)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr

    restored = create_app("config.TestConfig", {
        "SQLALCHEMY_DATABASE_URI": fresh_database.render_as_string(hide_password=False),
        "SCHOOL_TODAY": WRITE_DAY.isoformat()})
    with restored.app_context():
        try:
            assert counts() == before
            assert verify_chain() == (before["audit_event"], None)
            code, output = cli(restored, "audit", "verify")
            assert code == 0 and f"проверено записей {before['audit_event']}" in output, output
            code, output = cli(restored, "db", "check")
            assert code == 0 and "No new upgrade operations detected" in output, output
            code, output = cli(restored, "db", "current")
            assert code == 0 and "(head)" in output, output

            # The deploy step run again on the copy changes nothing that matters.
            code, output = cli(restored, "school", "init", "--password", PASSWORD)
            assert code == 0, output
            assert "Администратор admin: уже есть" in output, output
            assert counts() == before
            assert verify_chain() == (before["audit_event"], None)

            # The app serves the copy: sign-in, the journal, and changes that continue the chain (their
            # rows take ids from the restored sequences).
            client = restored.test_client()
            assert client.post("/login/", data={"username": "teacher", "password": PASSWORD}).status_code == 302
            assert client.get("/journal/").status_code == 200
            lesson = db.session.scalar(select(Lesson).where(Lesson.date == LESSON_DAY))
            mark = db.session.scalar(select(Mark).where(Mark.lesson_id == lesson.id, Mark.value == 4))
            changed = client.post("/journal/cell", json={
                "kind": "mark", "lesson_id": lesson.id, "student_id": mark.student_id,
                "work_type_id": mark.work_type_id, "value": 2, "version": mark.version})
            assert changed.status_code == 200, changed.get_json()
            absent = client.post("/journal/cell", json={
                "kind": "attendance", "lesson_id": lesson.id, "student_id": mark.student_id, "code": "Б"})
            assert absent.status_code == 200, absent.get_json()
            assert verify_chain() == (before["audit_event"] + 2, None)
        finally:
            db.session.remove()
            db.engine.dispose()

    # The original is untouched by what was done on the copy.
    db.session.expire_all()
    assert counts() == before


def test_a_database_with_sessions_still_open_on_it_is_dropped(postgres, fresh_database):
    """The fixtures' own teardown: a session of the test role left open on the database (an app not
    disposed) is ended, and the database goes (the CI run once failed on WITH (FORCE), which a role that
    is not a superuser may not use while autovacuum works in the database)."""
    left_open = create_engine(fresh_database)
    session = left_open.connect()
    session.execute(text("SELECT 1"))
    admin = create_engine(postgres[0])
    try:
        drop_database(admin, fresh_database.database)
        with admin.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM pg_database WHERE datname = :name"),
                               {"name": fresh_database.database}) == 0
        with pytest.raises(OperationalError):
            session.execute(text("SELECT 1"))
    finally:
        session.invalidate()
        left_open.dispose()
        admin.dispose()
