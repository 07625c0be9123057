"""Fixtures: one app for the session with a fresh context and empty tables per test, on a migrated
database (SQLite file, or PostgreSQL when TEST_DATABASE_URL is set), a client, a CLI runner, and
`login_as(role)`.

The schema is built once per session by the real Alembic migration and `school init`; each test
then starts from that state (roles and permissions kept, every other row removed).
"""
import os
import sqlite3
import tempfile
import threading
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import current_app
from flask_appbuilder import Model
from sqlalchemy import Engine, create_engine, event, make_url, text
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from tests import factories

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"

pytest_plugins = ("tests.exchange_helpers",)  # the portal simulator fixtures

# Modules whose subject depends on no database feature (the role table, catalogues, the portal adapter and
# message schema, CSV, security headers and settings): marked `any_database`, so `make test` runs them once.
ANY_DATABASE = {"test_permissions", "test_i18n", "test_exchange_transport", "test_exchange_schema",
                "test_csv_export", "test_hardening"}

KEEP_TABLES = {"ab_permission", "ab_view_menu", "ab_permission_view", "ab_role",
               "ab_permission_view_role", "alembic_version"}
PASSWORD = "secret-pass"


@event.listens_for(Engine, "connect")
def _sqlite_without_fsync(dbapi_connection, _record) -> None:
    """A test database is thrown away: SQLite need not wait for the disk at every commit."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=OFF")


def pytest_collection_modifyitems(items):
    """Mark the tests of the ANY_DATABASE modules."""
    for item in items:
        if item.module.__name__.rpartition(".")[2] in ANY_DATABASE:
            item.add_marker(pytest.mark.any_database)


def _database_url(tmp_dir: str) -> str:
    """SQLite in the session's temporary folder, or a PostgreSQL database of this xdist worker's own."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_dir}/test.db"
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return _own_database(url, worker) if worker else url


def _own_database(url: str, worker: str) -> str:
    """A fresh database `<name>_<worker>` beside the given one (the test role may create databases)."""
    base = make_url(url)
    own = base.set(database=f"{base.database}_{worker}")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")  # CREATE DATABASE runs outside a transaction
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{own.database}"'))
    admin.dispose()
    return own.render_as_string(hide_password=False)


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues():
    """Every translations/<lang>/LC_MESSAGES/messages.po compiled to its .mo (as `pybabel compile -f`), so
    the Russian the tests read does not depend on `make translations`; written whole and then renamed,
    since another test process may be reading it."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        with po.open("rb") as f:
            catalog = read_po(f)
        with tempfile.NamedTemporaryFile(dir=po.parent, suffix=".mo.tmp", delete=False) as f:
            write_mo(f, catalog, use_fuzzy=True)
        os.replace(f.name, po.with_suffix(".mo"))


@pytest.fixture(scope="session")
def database_url():
    """A database migrated to head with roles synced, shared by the session."""
    with tempfile.TemporaryDirectory() as tmp_dir:
        url = _database_url(tmp_dir)
        app = create_app("config.TestConfig", {"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            if url.startswith("postgresql"):
                with db.engine.begin() as conn:
                    conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            result = app.test_cli_runner().invoke(args=["school", "init", "--password", PASSWORD])
            assert result.exit_code == 0, result.output
            db.session.remove()
            _clear(url)
            db.engine.dispose()
        yield url


def _clear(url: str) -> None:
    tables = [t for t in reversed(Model.metadata.sorted_tables) if t.name not in KEEP_TABLES]
    with db.engine.begin() as conn:
        if url.startswith("postgresql"):
            conn.execute(text("TRUNCATE " + ", ".join(t.name for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture(scope="session")
def shared_app(database_url):
    """One app for the session: building FAB's views and APIs costs seconds, so tests share it."""
    return create_app("config.TestConfig", {"SQLALCHEMY_DATABASE_URI": database_url})


@pytest.fixture
def app(shared_app, database_url):
    """The app in a fresh application context; the data and the settings a test leaves are undone."""
    settings = dict(shared_app.config)
    with shared_app.app_context():
        yield shared_app
        db.session.rollback()
        db.session.remove()
        _clear(database_url)
        db.engine.dispose()
    shared_app.config.clear()
    shared_app.config.update(settings)


@pytest.fixture
def client(app):
    """An anonymous test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A runner for `flask` CLI commands."""
    return app.test_cli_runner()


@pytest.fixture
def world(app):
    """Two schools: school A with classes 5А and 5Б and one login per role, school B with its 5А."""
    return factories.build_world(PASSWORD)


@pytest.fixture
def login_as(app, world):
    """login_as("teacher") → a test client signed in as that user of the world."""

    def login(username: str):
        client = app.test_client()
        response = client.post("/login/", data={"username": username, "password": PASSWORD})
        assert response.status_code == 302, f"login of {username} failed"
        return client

    return login


@pytest.fixture
def api_token(app, world):
    """api_token("teacher") → a JWT access token for that user."""

    def token(username: str) -> str:
        response = app.test_client().post("/api/v1/security/login", json={
            "username": username, "password": PASSWORD, "provider": "db", "refresh": False})
        assert response.status_code == 200, response.json
        return response.json["access_token"]

    return token


@pytest.fixture
def live_server(app, world):
    """The test app on http://127.0.0.1:<free port>, stopped after the test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def call(api_token):
    """call("teacher", "post", url, json=...) → the response, with that user's JWT."""
    tokens = {}

    def request(username, method, url, **kwargs):
        tokens.setdefault(username, api_token(username))
        client = current_app.test_client()
        return getattr(client, method)(url, headers={"Authorization": f"Bearer {tokens[username]}"}, **kwargs)

    return request
