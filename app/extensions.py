"""Extension objects shared by the factory, models and services."""
import json
import sqlite3

from flask_appbuilder import Model
from flask_appbuilder.utils.legacy import get_sqla_class
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine, event

db = get_sqla_class()(model_class=Model)
migrate = Migrate()
csrf = CSRFProtect()


def stored_json(value) -> str:
    """How JSON columns are written: UTF-8 text, not «\\u041c…» escapes (a third of the size for Russian text,
    and the exchange job sends a payload as stored)."""
    return json.dumps(value, ensure_ascii=False)


# SQLite's write-ahead log: readers and the one writer no longer block each other, and a commit appends to the
# log instead of rewriting pages through a rollback journal. With synchronous NORMAL a commit does not wait for
# the disk (the log is synced at checkpoints): safe against the app crashing, may lose the last commits on a
# power loss (issue 19: the exchange job's commit per batch and the cell save; see README, Benchmarks).
SQLITE_PRAGMAS = ("PRAGMA foreign_keys=ON", "PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite enforces foreign keys (and ON DELETE CASCADE) only when asked, per connection: ask, so it keeps
    the same integrity as PostgreSQL (migrations/env.py turns it off while migrating). The journal mode is kept
    in the file (an in-memory database answers «memory» and stays as it is); `synchronous` is per connection."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        for pragma in SQLITE_PRAGMAS:
            dbapi_connection.execute(pragma)


@event.listens_for(Engine, "rollback")
def _end_a_reading_transaction_by_commit(connection) -> None:
    """psycopg forgets its prepared statements at every ROLLBACK (and sends DEALLOCATE ALL), and every request
    ends in one when its session closes: PostgreSQL planned each statement of each request anew (the signing-in
    statement alone 3 ms). A transaction the database says wrote nothing (no transaction id assigned: no row
    written, locked or created, by the ORM, Core or COPY alike) ends by COMMIT instead — the same for the
    database — and the connection keeps what it prepared. Anything else is rolled back as before."""
    if connection.dialect.driver != "psycopg" or connection.invalidated or connection.closed:
        return
    raw = connection.connection.driver_connection
    if raw.info.transaction_status.name != "INTRANS":  # idle, or failed: a rollback as ever
        return
    with raw.cursor() as cursor:
        wrote = cursor.execute("SELECT txid_current_if_assigned() IS NOT NULL").fetchone()[0]
    if not wrote:
        raw.commit()
