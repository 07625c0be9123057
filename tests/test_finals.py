"""The finals service with hand-computed expectations: proposals at the thresholds, too few marks,
pass/fail, н/а and осв, a leaver, deferral, closing, freezing, version conflicts, who decides, year
grades, the audit trail, and the class metrics of SPEC §4."""
import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Enrolment, FinalStatus, FinalValue, TeachingAssignment
from app.services.audit import acting_as
from app.services.errors import RuleViolation
from app.services.finals import (
    close_period,
    defer_final,
    finals_sheet,
    missing_finals,
    propose_finals,
    set_final,
    year_proposal,
)
from app.services.freeze import closed_message
from app.services.journal import Conflict, set_mark
from app.services.results import metrics
from tests.finals_helpers import IN_Q2, final_of, finals_count, give_marks, pe_of, q1, year_period
from tests.journal_helpers import actor, add_lessons, audit_events, math_of, message, period_of, work_type

TEACHER_ONLY = "Only the subject's teacher of the student or the administration decides this final."


@pytest.fixture
def kids(world):
    return world.students["Алексеев"], world.students["Борисов"]


def _sheet(world, period=None):
    return {r.student.surname: r for r in finals_sheet(math_of(world), period or q1(world))}


# --- proposals ---------------------------------------------------------------------------------------

def test_exactly_4_60_proposes_5_and_3_595_proposes_3(world, kids):
    give_marks(world, kids[0], [(5, 1), (5, 1), (5, 1), (4, 1), (4, 1)])  # 23 / 5 = 4.60
    # 19 marks of weight 10 summing 69 and 10 of weight 1 summing 29: (690 + 29) / 200 = 3.595
    pairs = [(4, 10)] * 12 + [(3, 10)] * 7 + [(3, 1)] * 9 + [(2, 1)]
    give_marks(world, kids[1], pairs, start=5)
    rows = _sheet(world)
    assert (rows["Алексеев"].average, rows["Алексеев"].marks, rows["Алексеев"].proposal) == (4.6, 5, FinalValue.five)
    assert (rows["Борисов"].average, rows["Борисов"].marks, rows["Борисов"].proposal) == (3.59, 29, FinalValue.three)


def test_fewer_marks_than_the_minimum_give_no_proposal(world, kids):
    give_marks(world, kids[0], [(5, 5), (5, 5)])
    give_marks(world, kids[1], [(2, 1), (2, 1), (3, 1)], start=2)  # 7/3 = 2.33 → 2
    rows = _sheet(world)
    assert (rows["Алексеев"].average, rows["Алексеев"].proposal) == (5.0, None)
    assert rows["Борисов"].proposal == FinalValue.two
    with acting_as("teacher"):
        assert propose_finals(actor("teacher"), math_of(world), q1(world)) == 2
        db.session.commit()
    first = final_of(kids[0], world.subjects["math"], q1(world))
    assert (first.status, first.proposed_value, first.value, first.average) == (FinalStatus.proposed, None, None, 5.0)
    assert final_of(kids[1], world.subjects["math"], q1(world)).proposed_value == FinalValue.two


def test_cancelled_lessons_do_not_count(world, kids):
    give_marks(world, kids[0], [(5, 1), (5, 1), (5, 1)])
    give_marks(world, kids[0], [(2, 1)], start=3)
    from app.models import Lesson, LessonStatus

    lesson = db.session.query(Lesson).order_by(Lesson.date.desc()).first()
    lesson.status = LessonStatus.cancelled
    db.session.commit()
    assert (_sheet(world)["Алексеев"].average, _sheet(world)["Алексеев"].marks) == (5.0, 3)


# --- values ------------------------------------------------------------------------------------------

def test_pass_fail_subjects_take_only_pass_fail_and_special_values(world, kids):
    pe = pe_of(world)
    with acting_as("teacher"), pytest.raises(RuleViolation) as err:
        set_final(actor("teacher"), kids[0].id, pe.id, q1(world).id, "5", today=IN_Q2)
    assert err.value.message == message("A final in %(subject)s is one of: %(values)s.",
                                        subject=pe.name, values="зач, незач, н/а, осв")
    db.session.rollback()
    assert finals_count() == 0
    for kid, value in zip(kids, ("зач", "осв"), strict=True):
        set_final(actor("teacher"), kid.id, pe.id, q1(world).id, value, today=IN_Q2)
    db.session.commit()
    assert final_of(kids[0], pe, q1(world)).value == FinalValue.passed
    assert final_of(kids[1], pe, q1(world)).value == FinalValue.exempt
    pe_assignment = db.session.scalar(select(TeachingAssignment).where(TeachingAssignment.subject_id == pe.id))
    assert all(r.proposal is None for r in finals_sheet(pe_assignment, q1(world)))


@pytest.mark.parametrize("value", ["зач", "1", "", "4+"])
def test_a_numeric_subject_refuses_other_values(world, kids, value):
    with pytest.raises(RuleViolation) as err:
        set_final(actor("teacher"), kids[0].id, world.subjects["math"].id, q1(world).id, value, today=IN_Q2)
    assert err.value.message == message("A final in %(subject)s is one of: %(values)s.",
                                        subject="Математика", values="5, 4, 3, 2, н/а, осв")
    db.session.rollback()
    assert finals_count() == 0


@pytest.mark.usefixtures("finals_without_marks")
def test_confirm_override_and_special_values(world, kids):
    math, period = world.subjects["math"], q1(world)
    cell = set_final(actor("teacher"), kids[0].id, math.id, period.id, "н/а", today=IN_Q2)
    assert (cell["value"], cell["status"], cell["result_date"]) == ("н/а", "final", "2026-11-20")
    set_final(actor("teacher"), kids[0].id, math.id, period.id, "4", version=cell["version"], today=IN_Q2)
    db.session.commit()
    grade = final_of(kids[0], math, period)
    assert (grade.value, grade.decided_by, grade.version) == (FinalValue.four, "teacher", 2)


# --- leavers, who decides, tampering -----------------------------------------------------------------

def test_a_student_who_left_mid_period_owes_no_final(world, kids):
    enrolment = db.session.query(Enrolment).filter_by(student_id=kids[1].id).one()
    enrolment.end = dt.date(2026, 10, 1)
    db.session.commit()
    assert set(_sheet(world)) == {"Алексеев"}
    missing = {(s.surname, subj.name) for s, subj, _t in missing_finals(q1(world))}
    assert ("Борисов", "Математика") not in missing and ("Алексеев", "Математика") in missing
    with pytest.raises(RuleViolation) as err:
        set_final(actor("director"), kids[1].id, world.subjects["math"].id, q1(world).id, "5", today=IN_Q2)
    assert err.value.message == message(
        "%(student)s is not taught %(subject)s at the end of «%(period)s»: no final is due.",
        student="Борисов И. И.", subject="Математика", period=q1(world).title)
    db.session.rollback()
    assert finals_count() == 0


@pytest.mark.parametrize("username", ["teacher_b", "teacher_other", "classteacher", "auditor"])
def test_only_the_subjects_teacher_or_the_administration_decide(world, kids, username):
    with pytest.raises(RuleViolation) as err:
        set_final(actor(username), kids[0].id, world.subjects["math"].id, q1(world).id, "5", today=IN_Q2)
    allowed = {message(TEACHER_ONLY), message("Choose a reporting period of your school.")}
    assert err.value.message in allowed
    db.session.rollback()
    assert finals_count() == 0


def test_another_schools_student_or_period_is_refused(world):
    stranger = world.students["Гаврилов"]
    with pytest.raises(RuleViolation) as err:
        set_final(actor("director"), stranger.id, world.subjects["math"].id, q1(world).id, "5", today=IN_Q2)
    assert err.value.message == message("The student or the subject is not found.")
    other_period = period_of(world.year_b, 1)
    with pytest.raises(RuleViolation) as err:
        set_final(actor("director"), world.students["Алексеев"].id, world.subjects["math"].id, other_period.id,
                  "5", today=IN_Q2)
    assert err.value.message == message("Choose a reporting period of your school.")
    db.session.rollback()
    assert finals_count() == 0


@pytest.mark.usefixtures("finals_without_marks")
def test_a_stale_version_is_a_conflict_and_changes_nothing(world, kids):
    math, period = world.subjects["math"], q1(world)
    first = set_final(actor("teacher"), kids[0].id, math.id, period.id, "4", today=IN_Q2)
    db.session.commit()
    set_final(actor("director"), kids[0].id, math.id, period.id, "5", version=first["version"], today=IN_Q2)
    db.session.commit()
    with pytest.raises(Conflict) as err:
        set_final(actor("teacher"), kids[0].id, math.id, period.id, "3", version=first["version"], today=IN_Q2)
    assert err.value.current["value"] == "5"
    with pytest.raises(Conflict):  # a new final where one exists
        set_final(actor("teacher"), kids[0].id, math.id, period.id, "3", today=IN_Q2)
    db.session.rollback()
    assert final_of(kids[0], math, period).value == FinalValue.five


# --- deferral, closing, freezing ---------------------------------------------------------------------

@pytest.mark.usefixtures("finals_without_marks")
def test_deferral_lifecycle(world, kids):
    math, period = world.subjects["math"], q1(world)
    today = dt.date(2026, 10, 20)
    with pytest.raises(RuleViolation) as err:
        defer_final(actor("teacher"), kids[0].id, math.id, period.id, "болезнь", dt.date(2026, 11, 15), today=today)
    assert err.value.message == message("Only the administration defers a final.")
    with pytest.raises(RuleViolation) as err:
        defer_final(actor("director"), kids[0].id, math.id, period.id, "  ", dt.date(2026, 11, 15), today=today)
    assert err.value.message == message("Give the reason of the deferral (e.g. illness with the certificate's number).")
    for deadline in (None, dt.date(2026, 10, 19)):
        with pytest.raises(RuleViolation) as err:
            defer_final(actor("director"), kids[0].id, math.id, period.id, "болезнь", deadline, today=today)
        assert err.value.message == message("The deadline of a deferred final is a day from today on.")
    db.session.rollback()
    assert finals_count() == 0
    with acting_as("director"):
        cell = defer_final(actor("director"), kids[0].id, math.id, period.id, "болезнь, справка №12",
                           dt.date(2026, 11, 15), today=today)
        set_final(actor("teacher"), kids[1].id, math.id, period.id, "4", today=today)
        set_final(actor("teacher_b"), world.students["Васильев"].id, math.id, period.id, "5", today=today)
        db.session.commit()
    assert (cell["status"], cell["value"], cell["deferral_deadline"]) == ("deferred", None, "2026-11-15")
    close_period(actor("director"), period.id)  # a deferred final does not hold the period open
    db.session.commit()
    with pytest.raises(RuleViolation) as err:  # the decided one is frozen
        set_final(actor("teacher"), kids[1].id, math.id, period.id, "5", version=2, today=IN_Q2)
    assert err.value.message == closed_message(period)
    db.session.rollback()
    with pytest.raises(RuleViolation) as err:  # SPEC §3: only the administration completes it after closing
        set_final(actor("teacher"), kids[0].id, math.id, period.id, "3", version=cell["version"],
                  today=dt.date(2026, 11, 12))
    assert err.value.message == message("Only the administration completes a deferred final of a closed period.")
    db.session.rollback()
    later = set_final(actor("director"), kids[0].id, math.id, period.id, "3", version=cell["version"],
                      today=dt.date(2026, 11, 12))
    db.session.commit()
    grade = final_of(kids[0], math, period)
    assert (grade.status, grade.value) == (FinalStatus.final, FinalValue.three)
    assert grade.result_date == dt.date(2026, 11, 12)
    assert later["deferral_reason"] == "болезнь, справка №12"
    with pytest.raises(RuleViolation):  # and now it is frozen too
        set_final(actor("director"), kids[0].id, math.id, period.id, "4", version=grade.version, today=IN_Q2)
    db.session.rollback()


@pytest.mark.usefixtures("finals_without_marks")
def test_closing_is_refused_while_a_final_is_missing_then_allowed_and_freezes_marks(world, kids):
    math, period = world.subjects["math"], q1(world)
    set_final(actor("teacher"), kids[0].id, math.id, period.id, "5", today=IN_Q2)
    db.session.commit()
    with pytest.raises(RuleViolation) as err:
        close_period(actor("teacher"), period.id)
    assert err.value.message == message("Only the administration closes a period.")
    with pytest.raises(RuleViolation) as err:
        close_period(actor("director"), period.id)
    assert "Борисов И. И. — Математика (5А)" in err.value.message and "Алексеев" not in err.value.message
    assert "Васильев И. И. — Математика (5Б)" in err.value.message
    db.session.rollback()
    assert not period_of(world.year_a, 1).closed
    lesson = add_lessons(world, dt.date(2026, 10, 20))[0]  # closing freezes the lessons too: add it before
    set_final(actor("teacher"), kids[1].id, math.id, period.id, "н/а", today=IN_Q2)
    set_final(actor("teacher_b"), world.students["Васильев"].id, math.id, period.id, "осв", today=IN_Q2)
    close_period(actor("director"), period.id)
    db.session.commit()
    db.session.expire_all()
    assert period_of(world.year_a, 1).closed
    with pytest.raises(RuleViolation) as err:
        set_mark(actor("director"), lesson.id, kids[0].id, work_type(world).id, 5, today=IN_Q2)
    assert err.value.message == closed_message(period)
    with pytest.raises(RuleViolation) as err:
        close_period(actor("director"), period.id)
    assert err.value.message == message("The period «%(period)s» is already closed.", period=period.title)
    db.session.rollback()


@pytest.mark.usefixtures("finals_without_marks")
def test_finals_go_to_the_audit_trail(world, kids):
    math, period = world.subjects["math"], q1(world)
    with acting_as("teacher"):
        first = set_final(actor("teacher"), kids[0].id, math.id, period.id, "4", today=IN_Q2)
        db.session.commit()
        set_final(actor("teacher"), kids[0].id, math.id, period.id, "5", version=first["version"], today=IN_Q2)
        db.session.commit()
    events = audit_events("final_grade")
    assert [(e.action, e.username) for e in events] == [("create", "teacher"), ("update", "teacher")]
    assert events[0].after["value"] == "4" and events[1].before["value"] == "4" and events[1].after["value"] == "5"
    assert events[1].before["version"] == 1 and events[1].after["version"] == 2


# --- the year ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("quarters", "expected"), [
    (["5", "4", "4", "5"], "5"),  # 4.5 → 5 (half up)
    (["4", "3", "3", "4"], "4"),  # 3.5 → 4
    (["4", "3", "3", "3"], "3"),  # 3.25 → 3
    (["5", "н/а", "5", "5"], None),
    (["осв", "осв", "осв", "осв"], "осв"),
    (["осв", "5", "4", "4"], "4"),  # 4.33 → 4
])
@pytest.mark.usefixtures("finals_without_marks")
def test_year_grade_from_the_period_finals(world, kids, quarters, expected):
    math = world.subjects["math"]
    year = year_period(world)
    for number, value in enumerate(quarters, start=1):
        set_final(actor("director"), kids[0].id, math.id, period_of(world.year_a, number).id, value,
                  today=dt.date(2027, 5, 26))
    db.session.commit()
    assert year_proposal(kids[0].id, math, year) == (FinalValue(expected) if expected else None)
    rows = _sheet(world, year)
    assert rows["Алексеев"].proposal == (FinalValue(expected) if expected else None)


@pytest.mark.usefixtures("finals_without_marks")
@pytest.mark.parametrize("quarters", [["5", "4"], ["5", "4", "5", "deferred"]])
def test_no_year_grade_while_a_period_final_is_missing_or_deferred(world, kids, quarters):
    math, day = world.subjects["math"], dt.date(2027, 5, 26)
    for number, value in enumerate(quarters, start=1):
        period = period_of(world.year_a, number)
        if value == "deferred":
            defer_final(actor("director"), kids[0].id, math.id, period.id, "болезнь", day, today=day)
        else:
            set_final(actor("director"), kids[0].id, math.id, period.id, value, today=day)
    db.session.commit()
    assert year_proposal(kids[0].id, math, year_period(world)) is None


def test_the_year_closes_only_after_its_periods(world, kids):
    year = year_period(world)
    with pytest.raises(RuleViolation) as err:
        close_period(actor("director"), year.id)
    assert err.value.message.startswith(message("Close the periods of the year first: %(periods)s.", periods="")
                                        .rstrip("."))
    assert q1(world).title in err.value.message
    db.session.rollback()
    assert not year_period(world).closed


@pytest.mark.usefixtures("finals_without_marks")
def test_deferring_a_published_final_unpublishes_it(world, kids):
    math, period = world.subjects["math"], q1(world)
    set_final(actor("teacher"), kids[0].id, math.id, period.id, "4", today=IN_Q2)
    grade = final_of(kids[0], math, period)
    grade.published_at = dt.datetime(2026, 11, 5, 12, 0)
    db.session.commit()
    defer_final(actor("director"), kids[0].id, math.id, period.id, "болезнь", dt.date(2026, 12, 1),
                version=grade.version, today=IN_Q2)
    db.session.commit()
    grade = final_of(kids[0], math, period)
    assert (grade.status, grade.value, grade.published_at) == (FinalStatus.deferred, None, None)


# --- the metrics of SPEC §4 --------------------------------------------------------------------------

def test_metrics_computed_by_hand():
    # 8 students: 5, 5, 4, 3, 2, н/а, осв, no final → N = 8 − 1 − 1 = 6
    got = metrics(["5", "5", "4", "3", "2", "н/а", "осв", None])
    assert got["n"] == 6
    assert got["success"] == 66.67  # (2 + 1 + 1) / 6
    assert got["quality"] == 50.0  # (2 + 1) / 6
    assert got["sou"] == 53.83  # (200 + 64 + 36 + 16 + 7) / 6 = 323 / 6 = 53.833…
    assert got["average"] == 3.8  # (10 + 4 + 3 + 2) / 5
    assert got["counts"]["н/а"] == 1 and got["counts"]["осв"] == 1


def test_metrics_edge_cases():
    empty = metrics([])
    assert empty["n"] == 0
    assert (empty["success"], empty["quality"], empty["sou"], empty["average"]) == (None, None, None, None)
    assert metrics(["осв", "осв"])["success"] is None
    passfail = metrics(["зач", "зач", "незач", "н/а"], pass_fail=True)
    assert (passfail["n"], passfail["success"], passfail["quality"], passfail["sou"]) == (4, 50.0, None, None)
    assert metrics(["н/а"])["success"] == 0.0 and metrics(["н/а"])["sou"] == 7.0
