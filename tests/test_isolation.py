"""The isolation's own promise on the `commits` path (tests/isolation.py): after a test that really
commits, the world is back as it was built, row for row, and new rows get new ids."""
import pytest
from sqlalchemy import delete, func, insert, select, update

from app.extensions import db
from app.models import School, StudentGuardian
from tests import isolation
from tests.journal_helpers import statements


@pytest.mark.commits
def test_a_committing_test_leaves_the_world_as_it_was_built(app, world):
    built = app.extensions["test_world_rows"]
    assert isolation.copy_rows(db.engine) == built
    db.session.rollback()  # the world was read in a transaction: PostgreSQL's TRUNCATE would wait for it
    with db.engine.begin() as conn:  # what a committing test may do: change and delete rows…
        conn.execute(update(School).values(address="ул. Другая, 2"))
        conn.execute(delete(StudentGuardian))
    isolation.clear(db.engine)  # …start from nothing (PostgreSQL: the ids restart), add rows
    with db.engine.begin() as conn:
        conn.execute(insert(School).values(full_name="Новая", short_name="Новая", address="ул. Новая, 1",
                                           director="Новиков Н. Н.", study_days_per_week=6))
    assert isolation.copy_rows(db.engine) != built

    with statements() as seen:
        isolation.restore(db.engine, built)
    assert isolation.copy_rows(db.engine) == built
    # One DELETE per table and one INSERT per filled table (not one per row, not the factories' ORM flushes).
    tables = len(isolation.school_tables())
    assert len([s for s in seen if s.lstrip().upper().startswith("INSERT")]) == len([t for t in built.values() if t])
    assert len([s for s in seen if s.lstrip().upper().startswith("DELETE")]) == tables

    with db.engine.begin() as conn:  # the ids go on after the restored ones (PostgreSQL: the sequences)
        new = conn.execute(insert(School).values(full_name="Ещё", short_name="Ещё", address="ул. Новая, 2",
                                                 director="Новиков Н. Н.", study_days_per_week=5)
                           .returning(School.id)).scalar_one()
        assert new > conn.execute(select(func.max(School.id)).where(School.id != new)).scalar_one()
