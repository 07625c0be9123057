"""The extracts form defaults: the chosen student's (or class's) current period of its own scheme — a
half-year class gets its half-year, not the quarter — the regulation's sections all ticked, and a
searchable student picker."""
import datetime as dt
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import PeriodKind, ReportingPeriod
from app.services.extracts_data import SECTIONS
from tests import factories
from tests.journal_helpers import HTTP_TODAY, freeze_today

pytestmark = pytest.mark.usefixtures("isolated")


@pytest.fixture
def half_year_class(app, world):
    """10А of school A follows half-years; today (20.11.2026) is in the first half-year and the 2nd quarter."""
    freeze_today(app, HTTP_TODAY)
    year = world.year_a
    halves = [ReportingPeriod(school=world.school_a, year=year, kind=PeriodKind.half_year, number=n, start=s, end=e)
              for n, s, e in ((1, dt.date(2026, 9, 1), dt.date(2026, 12, 28)),
                              (2, dt.date(2027, 1, 12), dt.date(2027, 5, 26)))]
    db.session.add_all(halves)
    cls = factories.class_unit(year, 10, "А")
    cls.period_kind = PeriodKind.half_year
    kid = factories.student(cls, "Яковлев")
    db.session.commit()
    return kid, halves[0]


def chosen_period(page: str) -> str:
    select = page[page.index('name="period_id"'):]
    return re.search(r'<option value="(\d+)" selected>', select[:select.index("</select>")]).group(1)


def q2_id(world) -> str:
    """The second quarter (period_of would also match the second half-year: same number)."""
    return str(db.session.scalar(select(ReportingPeriod.id).where(
        ReportingPeriod.year_id == world.year_a.id, ReportingPeriod.kind == PeriodKind.quarter,
        ReportingPeriod.number == 2)))


def test_the_form_defaults_to_the_students_own_current_period(world, login_as, half_year_class):
    kid, first_half = half_year_class
    client = login_as("director")
    assert chosen_period(client.get(f"/extracts/?student_id={kid.id}").get_data(as_text=True)) == str(first_half.id)
    assert chosen_period(client.get(f"/extracts/?class_id={kid.class_unit_id}").get_data(as_text=True)) == \
        str(first_half.id)
    alekseev = world.students["Алексеев"].id
    assert chosen_period(client.get(f"/extracts/?student_id={alekseev}").get_data(as_text=True)) == q2_id(world)
    page = client.get("/extracts/").get_data(as_text=True)
    assert chosen_period(page) == q2_id(world)  # 5А comes first: its current quarter
    # Each option carries its class's period, for the picker to switch when another student is chosen.
    assert f'<option value="{kid.id}" data-period="{first_half.id}"' in page
    assert 'class="form-control extract-pick" name="student_id"' in page and "js/extract_form.js" in page


def test_the_regulations_sections_are_ticked_by_default(world, login_as, half_year_class):
    page = login_as("director").get("/extracts/").get_data(as_text=True)
    for key in SECTIONS:
        assert re.search(rf'name="sections" value="{key}"\s+checked', page), key
