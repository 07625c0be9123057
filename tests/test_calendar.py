"""The current year and the current period (app/services/calendar.py), one rule for every caller."""
import datetime as dt

import pytest

from app.exchange.payloads import snapshot
from app.services.calendar import current_period, current_year
from app.services.finals_sheet import _default_period, sheet_periods
from app.services.forecast import forecast
from app.services.stats import default_period
from app.views.journal import current_period as journal_period
from tests.journal_helpers import actor, add_lessons, close_period, math_of, period_of

HOLIDAYS = dt.date(2026, 10, 28)  # autumn holidays: Q1 ended 25.10, Q2 starts 3.11


def test_the_current_period_at_the_edges_of_the_year(world):
    q = [period_of(world.year_a, n) for n in (1, 2, 3, 4)]
    assert current_period(q, dt.date(2026, 8, 20)) == q[0]  # before the first: the first
    assert current_period(q, dt.date(2026, 10, 25)) == q[0]  # its last day
    assert current_period(q, HOLIDAYS) == q[0]  # holidays, Q1 still open
    assert current_period(reversed(q), dt.date(2026, 11, 3)) == q[1]  # order of the input does not matter
    close_period(world, 1)
    assert current_period(q, HOLIDAYS) == q[1]  # Q1 closed: the next one
    close_period(world, 4)
    assert current_period(q, dt.date(2027, 6, 15)) == q[3]  # after the last, closed or not: the last
    assert current_period([], HOLIDAYS) is None


def test_the_current_year_is_none_in_the_summer(world):
    assert current_year(world.school_a.id, dt.date(2026, 9, 1)) == world.year_a
    assert current_year(world.school_a.id, dt.date(2027, 8, 31)) == world.year_a
    assert current_year(world.school_a.id, dt.date(2026, 8, 31)) is None
    assert current_year(world.school_b.id, dt.date(2026, 9, 1)) == world.year_b


@pytest.mark.parametrize("closed", [False, True])
def test_every_caller_takes_the_same_period_in_the_holidays(world, closed):
    """The journal, the finals sheet, the dashboard, the forecast and the portal snapshot used to
    differ here (the last begun period, or the next one, whether closed or not)."""
    (lesson,) = add_lessons(world, dt.date(2026, 10, 20))
    if closed:
        close_period(world, 1)
    expected = period_of(world.year_a, 2 if closed else 1)
    cls, assignment = world.classes["5А"], math_of(world)
    assert journal_period("class_id", cls.id, world.subjects["math"].id, HOLIDAYS) == expected.id
    assert _default_period(sheet_periods(assignment), HOLIDAYS) == expected
    assert default_period([period_of(world.year_a, n) for n in (1, 2, 3, 4)], HOLIDAYS) == expected
    assert {r.period_id for r in forecast(actor("director").scope, today=HOLIDAYS)} == {expected.id}
    lessons = [i for i in snapshot(world.students["Алексеев"], HOLIDAYS)["items"] if i["kind"] == "lesson"]
    assert [i["payload"]["id"] for i in lessons] == ([] if closed else [lesson.id])
