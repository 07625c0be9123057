"""SQLite runs in write-ahead-log mode with synchronous NORMAL on every connection the app makes (issue 19:
a commit no longer waits for the disk twice); an in-memory database, which has no log, still connects."""
import sqlite3

from sqlalchemy import Engine, create_engine, event, text

import app.extensions  # noqa: F401  (the app's connect hook)
from tests import conftest

NORMAL = 1  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL


def pragmas(url: str) -> tuple[str, int, int]:
    """(journal_mode, synchronous, foreign_keys) of a fresh pooled connection of a new engine."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return tuple(connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                         for name in ("journal_mode", "synchronous", "foreign_keys"))
    finally:
        engine.dispose()


def test_a_fresh_file_connection_is_wal_with_synchronous_normal(tmp_path):
    # the suite's own connect hooks (fsync off for its throwaway database) are taken away for this connection
    suites = [f for f in vars(conftest).values() if callable(f) and event.contains(Engine, "connect", f)]
    for hook in suites:
        event.remove(Engine, "connect", hook)
    try:
        assert pragmas(f"sqlite:///{tmp_path}/fresh.db") == ("wal", NORMAL, 1)
    finally:
        for hook in suites:
            event.listen(Engine, "connect", hook)
    assert sqlite3.connect(tmp_path / "fresh.db").execute("PRAGMA journal_mode").fetchone() == ("wal",)  # kept


def test_an_in_memory_database_connects_without_a_log():
    assert pragmas("sqlite://")[0] == "memory"
    with create_engine("sqlite://").begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 1
