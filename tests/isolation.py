"""How a test's data is undone: rolled back (the default) or deleted (the `commits` path).

Rolled back: the test gets one connection with an outer transaction open; every database session the
app makes (the test's, and each request's) joins it with `join_transaction_mode="create_savepoint"`, so
the app's commit releases a SAVEPOINT and its rollback returns to one; `db.engine.connect()` and
`db.engine.begin()` hand out the same connection inside a SAVEPOINT of their own. The outer transaction
is rolled back at the end: the committed state between tests is always the two-school world, built
once per session (a test that does not ask for `world` deletes it inside its transaction first).

Deleted (`commits`): a test whose data must really be committed, because another connection, thread or
process reads or writes it (live_server, Chromium, gunicorn, CLI subprocesses, migrations on the
session's database, two concurrent writers, advisory locks), runs on the plain engine; its rows are
deleted afterwards and the world's rows, copied once when it was built, are inserted again (`restore`:
building it through the factories again cost 4–9 times more, on each of ~50 such tests a leg).
"""
import contextlib

import pytest
from flask.testing import FlaskClient
from flask_appbuilder import Model
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import Connection, event, func, select, text

from app.extensions import db

KEEP_TABLES = {"ab_permission", "ab_view_menu", "ab_permission_view", "ab_role",
               "ab_permission_view_role", "alembic_version",
               "stats_version"}  # the schools' tokens, kept by the triggers (app.services.stats_cache)


class IsolatedClient(FlaskClient):
    """The tests' client (the `app` fixture's default): every request runs in its own application context
    and database session, as in production. Otherwise Flask reuses the test's context and `g` (the signed-in
    user, the JWT user, the cached row scope) carries over from one client's request to another's."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


class JoinedSession(FlaskSession):
    """Flask-SQLAlchemy's session, but one given `bind=` uses it (Flask-SQLAlchemy's get_bind would
    always pick the engine): that is how it joins the test's connection."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and isinstance(self.bind, Connection):
            return self.bind
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


class SharedConnection:
    """What `db.engine.connect()` returns in a rolled-back test: the test's connection, with the caller's
    work in a SAVEPOINT (commit or the end of `engine.begin()` releases it; close rolls it back)."""

    def __init__(self, conn: Connection):
        self._conn = conn
        self._savepoint = conn.begin_nested()

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()

    @contextlib.contextmanager
    def begin(self):
        try:
            yield self
        except BaseException:
            self._savepoint.rollback()
            raise
        self._savepoint.commit()

    def commit(self) -> None:
        self._savepoint.commit()
        self._savepoint = self._conn.begin_nested()

    def rollback(self) -> None:
        self._savepoint.rollback()
        self._savepoint = self._conn.begin_nested()

    def close(self) -> None:
        if self._savepoint.is_active:
            self._savepoint.rollback()


def prepare_engine(engine) -> None:
    """pysqlite opens transactions late and never for SAVEPOINTs: on the test's connection SQLAlchemy
    emits BEGIN itself (SQLAlchemy's recipe «Serializable isolation / Savepoints / Transactional DDL»).
    Only there: elsewhere (the `commits` path) a BEGIN before a read would hold SQLite's lock."""

    @event.listens_for(engine, "begin")
    def _begin(conn):
        if conn.info.get(EMIT_BEGIN):
            conn.exec_driver_sql("BEGIN")


EMIT_BEGIN = "tests: emit BEGIN"


@contextlib.contextmanager
def rolled_back():
    """Inside: every session and every `db.engine.connect()` shares one connection whose outer
    transaction is rolled back on exit."""
    engine = db.engine
    monkeypatch = pytest.MonkeyPatch()
    db.session.remove()
    conn = engine.connect()
    raw = conn.connection.dbapi_connection
    driver_level = raw.isolation_level if engine.dialect.name == "sqlite" else None
    if engine.dialect.name == "sqlite":
        raw.isolation_level = None  # the driver leaves transactions to SQLAlchemy
        conn.info[EMIT_BEGIN] = True
    outer = conn.begin()
    conn.name = engine.name  # FAB asks the session's bind for `.name`, which an Engine has and a Connection lacks
    factory = db.session.session_factory
    monkeypatch.setattr(factory, "class_", JoinedSession)
    monkeypatch.setitem(factory.kw, "bind", conn)
    monkeypatch.setitem(factory.kw, "join_transaction_mode", "create_savepoint")
    monkeypatch.setattr(engine, "connect", lambda: SharedConnection(conn))
    try:
        yield conn
    finally:
        db.session.remove()
        monkeypatch.undo()
        if outer.is_active:
            outer.rollback()
        if conn.info.pop(EMIT_BEGIN, False):
            raw.isolation_level = driver_level
        conn.close()


def school_tables():
    """The tables a test may fill, children first (FAB's roles and permissions are kept)."""
    return [t for t in reversed(Model.metadata.sorted_tables) if t.name not in KEEP_TABLES]


def delete_rows(conn) -> None:
    """Every row of the school tables, deleted in the connection's transaction."""
    for table in school_tables():
        conn.execute(table.delete())


def clear(engine) -> None:
    """Every row of the school tables removed and committed (PostgreSQL: ids restart)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(t.name for t in school_tables()) + " RESTART IDENTITY CASCADE"))
        else:
            delete_rows(conn)


def copy_rows(engine) -> dict:
    """Every row of the school tables, parents first, in key order (PostgreSQL returns updated rows in another
    order): the committed world, to `restore` it."""
    with engine.connect() as conn:
        return {t: [dict(r._mapping) for r in conn.execute(select(t).order_by(*(t.primary_key.columns or t.columns)))]
                for t in reversed(school_tables())}


def restore(engine, rows: dict) -> None:
    """The school tables hold `rows` (of copy_rows) again, same ids, and nothing else; on PostgreSQL each
    id sequence continues after the largest id, as after building them."""
    with engine.begin() as conn:
        delete_rows(conn)
        for table, table_rows in rows.items():
            if table_rows:
                conn.execute(table.insert(), table_rows)
        if conn.dialect.name == "postgresql":
            for table in rows:
                column = table.autoincrement_column
                if column is not None:
                    sequence = func.pg_get_serial_sequence(table.name, column.name)
                    conn.execute(select(func.setval(sequence, func.coalesce(func.max(column), 0) + 1, False)))
