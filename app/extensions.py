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


@event.listens_for(Engine, "connect")
def _sqlite_foreign_keys(dbapi_connection, _record) -> None:
    """SQLite enforces foreign keys (and ON DELETE CASCADE) only when asked, per connection: ask, so
    it keeps the same integrity as PostgreSQL (migrations/env.py turns it off while migrating)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
