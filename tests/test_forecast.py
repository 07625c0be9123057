"""The forecast service (SPEC §4): hand-computed averages, projections, distances and risk flags, the
adjustment toward the student's other subjects, the choice of the current period, the scope, the
backtest on a crafted closed period and the families' digests (consented families only, once a day).
"""
import datetime as dt
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Decision, FinalStatus, FinalValue, Notification, NotificationKind
from app.security.scope import Scope
from app.services.calendar import current_period
from app.services.forecast import (
    RISK_FEW,
    RISK_TWO,
    NotFound,
    Query,
    at_risk,
    forecast,
    next_threshold,
    project,
    projected_average,
    target_query,
)
from app.services.forecast_backtest import backtest, rounded
from app.services.forecast_notify import compose_digests, digest_key
from tests.consent_helpers import add_guardian, record
from tests.factories import student
from tests.forecast_helpers import NOV, REMAINING, TODAY, final, marks, russian
from tests.journal_helpers import actor, add_students, close_period, period_of

pytestmark = pytest.mark.usefixtures("today")


@pytest.fixture
def class_marks(world):
    """Алексеев 5, 4 (weight 1) and 3 (weight 5): 24/7 = 3.42; Борисов 2, 2 (weights 1, 5): 2.00 from
    two marks; Васильев (5Б) 5, 5, 4, 5, 4: 23/5 = 4.60; Гаврилов (school B) one 2. A mark of
    Алексеев after today does not count yet."""
    marks(world, "Алексеев", (NOV[0], 5, 1), (NOV[1], 4, 1), (NOV[2], 3, 5), (dt.date(2026, 11, 23), 2, 5))
    marks(world, "Борисов", (NOV[0], 2, 1), (NOV[1], 2, 5))
    marks(world, "Васильев", *((day, v, 1) for day, v in zip(NOV, (5, 5, 4, 5, 4), strict=False)))
    marks(world, "Гаврилов", (NOV[0], 2, 1))


def by_student(rows):
    return {r.student.split()[0]: r for r in rows}


def test_values_flags_and_distance_are_computed_by_hand(world, class_marks):
    rows = by_student(forecast(actor("director").scope))
    assert set(rows) == {"Алексеев", "Борисов", "Васильев"}
    a, b, v = rows["Алексеев"], rows["Борисов"], rows["Васильев"]
    q2 = period_of(world.year_a, 2)
    assert (a.period_id, a.class_name, a.subject) == (q2.id, "5А", "Математика")
    assert (a.average, a.marks, a.proposal, a.projected, a.next_grade, a.distance, a.flags) == (
        3.42, 3, 3, 3, 4, 0.18, ())
    assert (b.average, b.marks, b.proposal, b.projected, b.next_grade, b.distance, b.flags) == (
        2.0, 2, None, 2, 3, 0.6, (RISK_TWO, RISK_FEW))
    assert (v.average, v.marks, v.projected, v.next_grade, v.distance, v.flags) == (4.6, 5, 5, None, None, ())
    assert b.risk == 3 and a.risk == 0


def test_thresholds_and_distance_at_the_edges():
    assert next_threshold(4.59) == (5, 0.01)
    assert next_threshold(3.6) == (5, 1.0)
    assert next_threshold(2.59) == (3, 0.01)
    assert next_threshold(4.6) == (None, None)
    assert next_threshold(None) == (None, None)
    assert (rounded(3.5), rounded(3.49), rounded(4.5), rounded(1.2)) == (4, 3, 5, 2)


def test_the_projection_is_drawn_toward_the_other_subjects_while_the_period_is_young(world, class_marks):
    marks(world, "Алексеев", *((day, 5, 1) for day in NOV[:3]), assignment=russian(world))
    rows = {r.subject: r for r in forecast(actor("director").scope) if r.student.startswith("Алексеев")}
    # mathematics: 3.42 + 38/55 · 4/(3+4) · (5.00 − 3.42) = 4.04 → 4; Russian: 5.00 − 38/55 · 4/7 · 1.58 = 4.38 → 4
    assert projected_average(3.42, 3, 5.0, REMAINING) == pytest.approx(4.0437, abs=1e-4)
    assert (rows["Математика"].average, rows["Математика"].proposal, rows["Математика"].projected) == (3.42, 3, 4)
    assert (rows["Русский язык"].average, rows["Русский язык"].projected) == (5.0, 4)
    assert project(3.42, 3, 5.0, 0.0) == 3  # at the period's end the average alone decides
    assert project(None, 0, 5.0, 1.0) is None


def test_at_risk_puts_projected_2_first(world, class_marks):
    add_students(world, "5А", 1)  # no marks at all: too few, no projection
    rows = at_risk(forecast(actor("director").scope))
    assert [(r.student.split()[0], r.flags) for r in rows] == [
        ("Борисов", (RISK_TWO, RISK_FEW)), ("Ученик00", (RISK_FEW,))]


def test_the_current_period_is_the_one_containing_today(world, class_marks):
    marks(world, "Алексеев", (dt.date(2026, 10, 5), 4, 1))
    q1, q2 = period_of(world.year_a, 1), period_of(world.year_a, 2)
    director = actor("director").scope
    alexeev = lambda rows: by_student(rows)["Алексеев"]
    assert alexeev(forecast(director, today=dt.date(2026, 10, 20))).period_id == q1.id
    holidays = alexeev(forecast(director, today=dt.date(2026, 10, 28)))  # Q1 over, not closed yet
    assert (holidays.period_id, holidays.average, holidays.marks) == (q1.id, 4.0, 1)
    assert alexeev(forecast(director, Query(period=q1))).average == 4.0  # a given period
    close_period(world, 1)
    assert alexeev(forecast(director, today=dt.date(2026, 10, 28))).period_id == q2.id
    periods = [q1, q2]
    assert current_period(periods, dt.date(2026, 8, 20)) == q1
    assert current_period([], TODAY) is None


def test_a_student_who_left_is_not_forecast(world, class_marks):
    (gone,) = add_students(world, "5А", 1, end=dt.date(2026, 11, 10), prefix="Ушедший")
    world.students["Ушедший00"] = gone
    marks(world, "Ушедший00", (NOV[0], 2, 1))
    assert all(r.student_id != gone.id for r in forecast(actor("director").scope))


def test_teachers_see_their_own_subjects_and_class_teachers_their_class(world, class_marks):
    marks(world, "Алексеев", (NOV[0], 5, 1), assignment=russian(world))
    pairs = lambda user, q=Query(): {(r.student.split()[0], r.subject) for r in forecast(actor(user).scope, q)}
    assert pairs("teacher") == {("Алексеев", "Математика"), ("Борисов", "Математика")}
    assert pairs("teacher_b") == {("Васильев", "Математика"), ("Алексеев", "Русский язык"),
                                  ("Борисов", "Русский язык")}
    assert pairs("classteacher") == {("Алексеев", "Математика"), ("Борисов", "Математика"),
                                     ("Алексеев", "Русский язык"), ("Борисов", "Русский язык")}
    assert pairs("teacher_other") == {("Гаврилов", "Математика")}
    five_a = world.classes["5А"].id
    assert pairs("teacher_b", target_query(actor("teacher_b").scope, "class_id", five_a)) == {
        ("Алексеев", "Русский язык"), ("Борисов", "Русский язык")}
    for user in ("teacher", "teacher_other"):
        with pytest.raises(NotFound):
            target_query(actor(user).scope, "class_id", world.classes["5Б"].id)
    assert forecast(Scope()) == []


# --- backtest ----------------------------------------------------------------------------------------

@pytest.fixture
def closed_quarter(world):
    """The first quarter (01.09–25.10, midpoint 28.09) closed with finals:
    Алексеев 4, 5 before the midpoint (4.50: forecast 4, rounding 5), final 4;
    Борисов 3, 4 (3.50: forecast 3, rounding 4), final 4; Васильев 2 (2.00: both 2), final 3;
    Ученик00 5, 4 (4.50), final 4; Ученик01 marks only after the midpoint, final 3;
    Ученик02 н/а and Ученик03 deferred (not numeric); Гаврилов's quarter in school B is still open."""
    sep7, sep8, oct5 = dt.date(2026, 9, 7), dt.date(2026, 9, 8), dt.date(2026, 10, 5)
    u0, u1, u2, u3 = add_students(world, "5А", 4)
    for kid in (u0, u1, u2, u3):
        world.students[kid.surname] = kid
    marks(world, "Алексеев", (sep7, 4, 1), (sep8, 5, 1), (oct5, 3, 1))
    marks(world, "Борисов", (sep7, 3, 1), (sep8, 4, 1))
    marks(world, "Васильев", (sep7, 2, 1))
    marks(world, "Ученик00", (sep7, 5, 1), (sep8, 4, 1))
    marks(world, "Ученик01", (oct5, 3, 1))
    marks(world, "Гаврилов", (sep7, 5, 1))
    for kid, value in (("Алексеев", "4"), ("Борисов", "4"), ("Васильев", "3"), ("Ученик00", "4"),
                       ("Ученик01", "3"), ("Ученик02", "н/а"), ("Гаврилов", "5")):
        final(world, kid, FinalValue(value))
    final(world, "Ученик03", None, status=FinalStatus.deferred)
    close_period(world, 1)


def test_backtest_scores_the_forecast_and_the_baseline(world, closed_quarter):
    result = backtest(0.5)
    assert (result.periods, result.finals, result.without_marks, result.compared) == (1, 5, 1, 4)
    assert (result.forecast.exact, result.forecast.within_one) == (2, 4)
    assert (result.thresholds.exact, result.thresholds.within_one) == (2, 4)
    assert (result.baseline.exact, result.baseline.within_one) == (1, 4)
    assert (result.rate(result.forecast.exact), result.rate(result.baseline.exact)) == (50.0, 25.0)


def test_backtest_command_prints_the_rates(world, closed_quarter, runner):
    result = runner.invoke(args=["forecast", "backtest"])
    assert result.exit_code == 0, result.output
    assert "50.0%" in result.output and "25.0%" in result.output and "100.0%" in result.output
    assert "+25.0" in result.output
    for bad in ("0", "1.5", "half"):
        refused = runner.invoke(args=["forecast", "backtest", "--midpoint", bad])
        assert refused.exit_code != 0 and "--midpoint" in refused.output


def test_backtest_without_closed_periods_says_so(world, runner):
    result = runner.invoke(args=["forecast", "backtest"])
    assert result.exit_code == 0 and re.search(r"\b0\b", result.output)
    assert backtest().compared == 0


# --- families' digests -------------------------------------------------------------------------------

@pytest.fixture
def families(world):
    """Алексеев: consent; Борисов: no representative; Васильев: refusal; Дмитриев: consent withdrawn
    on 02.11; Евгеньев: consent from 18.11; Гаврилов (school B): no decision. Each has a mark."""
    for surname in ("Дмитриев", "Евгеньев"):
        world.students[surname] = student(world.classes["5А"], surname)
        add_guardian(world, surname, surname + "а")
    db.session.commit()
    record(world, Decision.consent)
    record(world, Decision.refusal, kid="Васильев", guardian="Васильева")
    record(world, Decision.consent, kid="Дмитриев", guardian="Дмитриева")
    record(world, Decision.withdrawal, kid="Дмитриев", guardian="Дмитриева", on=dt.date(2026, 11, 2), number="13")
    record(world, Decision.consent, kid="Евгеньев", guardian="Евгеньева", on=dt.date(2026, 11, 18))
    for kid in ("Алексеев", "Борисов", "Васильев", "Дмитриев", "Евгеньев", "Гаврилов"):
        marks(world, kid, (NOV[0], 4, 1))
    marks(world, "Алексеев", (NOV[1], 3, 1))


def notified() -> dict[int, Notification]:
    db.session.expire_all()
    return {n.student_id: n for n in db.session.scalars(select(Notification))}


def numbers(output: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", output)]


def test_notify_composes_digests_for_consented_families_only(world, families, runner):
    result = runner.invoke(args=["forecast", "notify", "--date", "2026-11-20"])
    assert result.exit_code == 0, result.output
    assert numbers(result.output) == [2, 4, 0, 0]  # composed, paper, already, without marks
    rows = notified()
    alexeev, evgeniev = world.students["Алексеев"], world.students["Евгеньев"]
    assert set(rows) == {alexeev.id, evgeniev.id}
    digest = rows[alexeev.id]
    assert (digest.kind, digest.key, digest.period_id, digest.status.value) == (
        NotificationKind.forecast, digest_key(alexeev.id, TODAY), period_of(world.year_a, 2).id, "pending")
    assert "Математика" in digest.body and "3.50" in digest.body and "20.11.2026" in digest.body


def test_notify_is_idempotent_per_day_and_reads_consent_at_the_date(world, families, runner):
    assert runner.invoke(args=["forecast", "notify", "--date", "2026-11-20"]).exit_code == 0
    again = runner.invoke(args=["forecast", "notify", "--date", "2026-11-20"])
    assert numbers(again.output) == [0, 4, 2, 0] and len(notified()) == 2
    earlier = compose_digests(dt.date(2026, 11, 17))  # Евгеньев's consent dates from 18.11
    db.session.commit()
    assert (earlier.composed, earlier.paper) == (1, 5)
    keys = {n.key for n in db.session.scalars(select(Notification))}
    assert digest_key(world.students["Алексеев"].id, dt.date(2026, 11, 17)) in keys
    assert digest_key(world.students["Евгеньев"].id, dt.date(2026, 11, 17)) not in keys


@pytest.mark.parametrize("bad", ["2026-02-30", "20.11.2026", "tomorrow"])
def test_notify_refuses_a_bad_date_and_writes_nothing(world, families, runner, bad):
    result = runner.invoke(args=["forecast", "notify", "--date", bad])
    assert result.exit_code != 0 and bad in result.output
    assert notified() == {}
