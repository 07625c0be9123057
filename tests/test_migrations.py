"""The Alembic migrations (migrations/versions) build exactly the models' schema and undo it.

`flask db upgrade` / `flask db downgrade base` run on a fresh SQLite file of their own; `flask db
check` (the models and the migrations agree) runs on the session's database, which is PostgreSQL
when TEST_DATABASE_URL is set.
"""
import sys

import pytest
from flask_appbuilder import Model
from sqlalchemy import inspect, text

from app import create_app
from app.extensions import db, migrate

NO_CHANGES = "No new upgrade operations detected"


def _app(url: str):
    return create_app("config.TestConfig", {"SQLALCHEMY_DATABASE_URI": url})


def _tables() -> set[str]:
    return set(inspect(db.engine).get_table_names())


@pytest.fixture(autouse=True)
def alembic_prints_to_the_runner(monkeypatch):
    """Alembic's Config binds `sys.stdout` at import time; point it at the CLI runner's stdout."""

    def current_stdout(config):
        config.stdout = sys.stdout
        return config

    monkeypatch.setattr(migrate, "configure_callbacks", [*migrate.configure_callbacks, current_stdout])


def _invoke(app, caplog, *args: str) -> tuple[int, str]:
    """Run `flask db ...`: the exit code, and what it printed and logged (errors are logged)."""
    caplog.clear()
    result = app.test_cli_runner().invoke(args=["db", *args])
    return result.exit_code, result.output + caplog.text


@pytest.fixture
def fresh_sqlite(tmp_path):
    app = _app(f"sqlite:///{tmp_path}/migrations.db")
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_upgrade_builds_every_table_and_downgrade_removes_them(fresh_sqlite, caplog):
    expected = set(Model.metadata.tables)
    assert {"school", "student", "enrolment", "teaching_assignment", "curriculum_item", "ab_user"} <= expected
    assert _tables() == set()

    code, output = _invoke(fresh_sqlite, caplog, "upgrade")
    assert code == 0, output
    assert _tables() == expected | {"alembic_version"}
    with db.engine.connect() as conn:
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    code, output = _invoke(fresh_sqlite, caplog, "heads")
    assert code == 0 and head in output, output

    code, output = _invoke(fresh_sqlite, caplog, "check")
    assert code == 0 and NO_CHANGES in output, output

    # The check can fail: a column the models do not know is reported.
    with db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE school ADD COLUMN stray_column INTEGER"))
    code, output = _invoke(fresh_sqlite, caplog, "check")
    assert code != 0
    assert "stray_column" in output and NO_CHANGES not in output, output

    code, output = _invoke(fresh_sqlite, caplog, "downgrade", "base")
    assert code == 0, output
    assert _tables() == {"alembic_version"}
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 0


def test_the_session_database_matches_the_models(database_url, caplog):
    """`flask db check` on the database the tests run on (SQLite or PostgreSQL)."""
    app = _app(database_url)
    with app.app_context():
        try:
            code, output = _invoke(app, caplog, "check")
            assert code == 0 and NO_CHANGES in output, output
            code, output = _invoke(app, caplog, "current")
            assert code == 0 and "(head)" in output, output
        finally:
            db.session.remove()
            db.engine.dispose()
