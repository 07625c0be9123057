"""Attendance codes own their rules: which count as missed lessons (reports and extracts), and what a teacher
types for each one in the grid (the page hands the grid's script that map)."""
import json
import re

import pytest

from app.models import AttendanceCode
from app.models.journal import ATTENDANCE_KEYS, MISSED_CODES
from tests.journal_helpers import HTTP_WEEK, add_lessons
from tests.test_journal_http import grid_url


def test_missed_lessons_are_absent_ill_and_excused_but_not_late():
    assert set(MISSED_CODES) == {AttendanceCode.absent, AttendanceCode.ill, AttendanceCode.excused}
    assert not AttendanceCode.late.missed


@pytest.mark.parametrize("typed, code", [("н", "Н"), ("n", "Н"), ("б", "Б"), ("b", "Б"), ("уп", "УП"), ("оп", "ОП")])
def test_each_code_can_be_typed(typed, code):
    assert ATTENDANCE_KEYS[typed] == code


def test_every_code_is_reachable_from_the_keyboard():
    assert set(ATTENDANCE_KEYS.values()) == {code.value for code in AttendanceCode}


@pytest.mark.usefixtures("isolated", "http_today")
def test_the_grid_page_hands_its_script_the_codes(world, login_as):
    add_lessons(world, *HTTP_WEEK)
    html = login_as("teacher").get(grid_url(world)).get_data(as_text=True)
    embedded = re.search(r'<script id="journal-attendance-keys" type="application/json">(.*?)</script>', html)
    assert embedded and json.loads(embedded.group(1)) == ATTENDANCE_KEYS
