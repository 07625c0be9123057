"""A transaction that only read ends by COMMIT on PostgreSQL, so psycopg keeps the statements it prepared
(its ROLLBACK forgets them all and every request ends in one); one that wrote anything — even past
SQLAlchemy, through the driver's own cursor — is still rolled back (app.extensions)."""
import os

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.models import Subject

pytestmark = [pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                                 reason="psycopg's prepared statements are PostgreSQL's"),
              pytest.mark.commits]  # real connections of the pool, not the isolation's shared one


def prepared(conn) -> int:
    return conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one()


def test_reading_transactions_keep_the_prepared_statements(app):
    with db.engine.connect() as conn:
        for _ in range(7):  # psycopg prepares a statement at its fifth run
            conn.execute(select(Subject.id).where(Subject.id == 1)).all()
            conn.rollback()
        assert prepared(conn) >= 1
        assert conn.connection.driver_connection.info.transaction_status.name == "INTRANS"  # the count's own


def test_a_transaction_that_wrote_past_sqlalchemy_is_still_rolled_back(app):
    with db.engine.connect() as conn:
        conn.execute(select(Subject.id)).all()  # SQLAlchemy's transaction begins (as services/bulk.py's COPY does)
        with conn.connection.driver_connection.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE written_past_the_orm (n int)")
        conn.rollback()
        assert conn.execute(text("SELECT to_regclass('pg_temp.written_past_the_orm')")).scalar_one() is None


def test_a_transaction_that_wrote_rolls_back_its_rows(app, world):
    names = select(Subject.id, Subject.name).order_by(Subject.id)
    with db.engine.connect() as conn:
        before = conn.execute(names).all()
        conn.execute(Subject.__table__.update().values(name=Subject.name + " (черновик)"))
        conn.rollback()
        assert conn.execute(names).all() == before != []
