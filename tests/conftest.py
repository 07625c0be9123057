"""Fixtures: one app for the session, a fresh application context per test whose data is rolled back
(tests/isolation.py), on a migrated database (SQLite file, or PostgreSQL when TEST_DATABASE_URL is set)
holding the two-school world; a client, a CLI runner, `login_as(role)`, `frozen_today`.

The schema is built once per session by the real Alembic migration and `school init`, then the world is
committed; each test starts from that state.
"""
import contextlib
import gc
import os
import sqlite3
import tempfile
import threading
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import current_app
from sqlalchemy import Engine, create_engine, event, make_url, text
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from tests import factories, isolation
from tests.pg_databases import recreate_database

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"

# Fixtures of the helper modules, usable in any test without importing them: the portal simulator,
# the frozen-day aliases and the data fixtures (finals without marks, a frozen quarter).
pytest_plugins = (
    "tests.exchange_helpers",
    "tests.journal_helpers",
    "tests.security_helpers",
    "tests.forecast_helpers",
    "tests.finals_helpers",
    "tests.freeze_helpers",
    "tests.consent_helpers",
    "tests.new_year_helpers",
)

# Modules whose subject depends on no database feature (the role table, catalogues, the portal adapter and
# message schema, CSV, security headers and settings): marked `any_database`, so `make test` runs them once.
ANY_DATABASE = {"test_permissions", "test_i18n", "test_exchange_transport", "test_exchange_schema",
                "test_csv_export", "test_hardening"}

PASSWORD = "secret-pass"
KEEP_TABLES = isolation.KEEP_TABLES  # FAB's roles and permissions: kept between tests
# A test using one of these fixtures has its data read by another connection, thread or process.
COMMITTING_FIXTURES = {"live_server", "browser", "database_url"}


@event.listens_for(Engine, "connect")
def _sqlite_without_fsync(dbapi_connection, _record) -> None:
    """A test database is thrown away: SQLite need not wait for the disk at every commit."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=OFF")


# The modules that take longest, slowest first (one worker, SQLite: the request loops of the fuzzers and the
# tampering, the Chromium walk of every menu page, the role table's pages, the CLI's demo loads, …). They are
# handed out first, so that each worker ends on short modules: xdist's loadfile orders files by their number of
# tests, which left the one-test Chromium walks and the six-test route fuzz for the end while the other worker
# idled. The other modules follow, most tests first.
SLOWEST_FIRST = ("test_route_fuzz", "test_api_fuzz", "test_tampering", "browser.test_russian_pages",
                 "test_permissions", "test_cli", "browser.test_journal", "browser.test_escaping",
                 "browser.test_role_day", "test_downloads_http", "test_migrations", "browser.test_downloads",
                 "test_exchange_sender", "browser.test_home")


def pytest_configure(config):
    """The workers' order of modules (slowest_first) is the order xdist hands them out in."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items):
    """Mark the tests of the ANY_DATABASE modules, and as `commits` those that reach the database other
    than through the app's sessions (COMMITTING_FIXTURES); order the modules slowest first."""
    for item in items:
        if item.module.__name__.rpartition(".")[2] in ANY_DATABASE:
            item.add_marker(pytest.mark.any_database)
        if COMMITTING_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.commits)
    slowest_first(items)


def slowest_first(items) -> None:
    """Sort the items, whole modules at a time (a module's own order kept): SLOWEST_FIRST, then by number
    of tests."""
    rank = {f"tests.{name}": i for i, name in enumerate(SLOWEST_FIRST)}
    sizes = Counter(item.module.__name__ for item in items)
    items.sort(key=lambda item: (rank.get(item.module.__name__, len(rank)), -sizes[item.module.__name__],
                                 item.module.__name__))


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
    admin = create_engine(base)
    recreate_database(admin, own.database)
    admin.dispose()
    return own.render_as_string(hide_password=False)


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues():
    """Every translations/<lang>/LC_MESSAGES/messages.po compiled to its .mo (as `pybabel compile -f`), so
    the Russian the tests read does not depend on `make translations`; written whole and then renamed,
    since another test process may be reading it. A .mo newer than its .po is kept (every worker of both
    legs would compile it again)."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f)
        with tempfile.NamedTemporaryFile(dir=po.parent, suffix=".mo.tmp", delete=False) as f:
            write_mo(f, catalog, use_fuzzy=True)
        os.replace(f.name, mo)


@pytest.fixture(scope="session")
def session_database():
    """A database migrated to head with roles synced, shared by the session (internal: a test that asks
    for `database_url` reaches the database on its own connection, so it runs on the `commits` path)."""
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
            isolation.clear(db.engine)
            db.engine.dispose()
        yield url


def _clear(_url: str | None = None) -> None:
    """Every row of the school tables removed and committed (for a `commits` test that starts over)."""
    isolation.clear(db.engine)


@pytest.fixture(scope="session")
def database_url(session_database):
    """The URL of the session's database, for a test that opens its own connection or process."""
    return session_database


@pytest.fixture(scope="session")
def shared_app(session_database):
    """One app for the session (building FAB's views and APIs costs seconds), and the two-school world
    committed once: it is the state every test starts from (see tests/isolation.py)."""
    app = create_app("config.TestConfig", {"SQLALCHEMY_DATABASE_URI": session_database})
    app.test_client_class = isolation.IsolatedClient
    with app.app_context():
        isolation.prepare_engine(db.engine)
        _build_world(app)
    _collect_less()
    return app


def _collect_less() -> None:
    """The app, FAB's views and the world live all session: frozen out of the collector's sight, and the
    young generation collected every 50 000 allocations instead of 700 (the collector took ~15 % of a
    request-heavy module's time, rescanning the same long-lived objects)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def _build_world(app) -> None:
    app.extensions["test_world"] = factories.world_ids(factories.build_world(PASSWORD))
    db.session.remove()
    app.extensions["test_world_rows"] = isolation.copy_rows(db.engine)


@pytest.fixture
def app(request, shared_app):
    """The app in a fresh application context; the data and the settings a test leaves are undone: rolled
    back, or deleted for a test marked `commits` (tests/isolation.py)."""
    settings = dict(shared_app.config)
    with shared_app.app_context():
        if request.node.get_closest_marker("commits"):
            yield from _committing(shared_app, "world" in request.fixturenames)
        else:
            with isolation.rolled_back() as conn:
                if "world" not in request.fixturenames:
                    isolation.delete_rows(conn)
                yield shared_app
    shared_app.config.clear()
    shared_app.config.update(settings)


def _committing(app, with_world: bool):
    """The `commits` path: real commits, then every row deleted and the world's rows put back."""
    if not with_world:
        isolation.clear(db.engine)
    yield app
    db.session.rollback()
    db.session.remove()
    isolation.restore(db.engine, app.extensions["test_world_rows"])
    db.engine.dispose()


@pytest.fixture
def frozen_today(app):
    """The school clock (services, pages, REST API, CLI) reads factories.TODAY, 20.11.2026; returns it.
    Other days: `journal_helpers.freeze_today(app, day)`."""
    app.config["SCHOOL_TODAY"] = factories.TODAY.isoformat()
    return factories.TODAY


@pytest.fixture
def school_today(frozen_today):
    """Alias of `frozen_today` (modules use it with `pytestmark = pytest.mark.usefixtures(...)`)."""
    return frozen_today


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
    """Two schools: school A with classes 5А and 5Б and one login per role, school B with its 5А (the
    session's committed world, read into the test's session)."""
    return factories.load_world(app.extensions["test_world"])


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


# How often the live server's loop looks whether it is asked to stop: at werkzeug's default (0.5 s) stopping
# it waited 0.25 s on average, at the end of each of the ~50 Chromium and download tests.
LIVE_SERVER_POLL = 0.02


@contextlib.contextmanager
def serving(app):
    """The app on http://127.0.0.1:<free port> in a thread, until the block ends."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": LIVE_SERVER_POLL},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def live_server(app, world):
    """The test app on http://127.0.0.1:<free port>, stopped after the test."""
    with serving(app) as url:
        yield url


@pytest.fixture
def call(api_token):
    """call("teacher", "post", url, json=...) → the response, with that user's JWT."""
    tokens = {}

    def request(username, method, url, **kwargs):
        tokens.setdefault(username, api_token(username))
        client = current_app.test_client()
        return getattr(client, method)(url, headers={"Authorization": f"Bearer {tokens[username]}"}, **kwargs)

    return request
