"""The isolation's own promise on the `commits` path (tests/isolation.py): after a test that really
commits, the world is back as it was built, row for row, and new rows get new ids; and the order the
workers get the modules in (tests/conftest.py's slowest_first); the live server stops at once."""
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import delete, func, insert, select, update

from app.extensions import db
from app.models import School, StudentGuardian
from tests import isolation
from tests.conftest import SLOWEST_FIRST, serving, slowest_first
from tests.journal_helpers import statements

TESTS = Path(__file__).resolve().parent


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


def test_modules_are_handed_out_slowest_first(request):
    """The listed slowest modules exist and come first, slowest first; the rest most tests first, each module's
    own order kept; xdist hands them out in that order."""
    missing = [n for n in SLOWEST_FIRST if not (TESTS / (n.replace(".", "/") + ".py")).exists()]
    assert not missing, f"SLOWEST_FIRST names modules that are gone: {missing}"
    fake = [SimpleNamespace(module=SimpleNamespace(__name__=f"tests.{m}"), n=i) for i, m in enumerate(
        ["test_smoke", "test_consent", "test_consent", "test_api_fuzz", "test_route_fuzz", "test_api_fuzz",
         "browser.test_russian_pages", "test_smoke", "test_consent"])]
    slowest_first(fake)
    assert [(f.module.__name__[6:], f.n) for f in fake] == [
        ("test_route_fuzz", 4), ("test_api_fuzz", 3), ("test_api_fuzz", 5), ("browser.test_russian_pages", 6),
        ("test_consent", 1), ("test_consent", 2), ("test_consent", 8), ("test_smoke", 0), ("test_smoke", 7)]
    if hasattr(request.config.option, "loadscopereorder"):
        assert request.config.option.loadscopereorder is False


@pytest.mark.commits
def test_the_live_server_stops_at_once(app):
    """Stopping the live server does not wait out a long poll of its loop (werkzeug's default 0.5 s)."""
    stops = []
    for _ in range(4):
        with serving(app) as url:
            assert httpx.get(f"{url}/login/").status_code == 200
            started = time.perf_counter()
        stops.append(time.perf_counter() - started)
    assert max(stops) < 0.25, stops
