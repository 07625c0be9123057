"""Extension objects shared by the factory, models and services."""
import sqlite3

from flask_appbuilder import Model
from flask_appbuilder.utils.legacy import get_sqla_class
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine, event

db = get_sqla_class()(model_class=Model)
migrate = Migrate()
csrf = CSRFProtect()
_IN_TRANSACTION = 2  # psycopg's TransactionStatus.INTRANS (psycopg is imported only on PostgreSQL)


@event.listens_for(Engine, "connect")
def _sqlite_foreign_keys(dbapi_connection, _record) -> None:
    """SQLite enforces foreign keys (and ON DELETE CASCADE) only when asked, per connection: ask, so
    it keeps the same integrity as PostgreSQL (migrations/env.py turns it off while migrating)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA foreign_keys=ON")


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
    if raw.info.transaction_status != _IN_TRANSACTION:
        return
    with raw.cursor() as cursor:
        wrote = cursor.execute("SELECT txid_current_if_assigned() IS NOT NULL").fetchone()[0]
    if not wrote:
        raw.commit()
