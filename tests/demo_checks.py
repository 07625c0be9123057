"""The demo looks like a school (issue 18.4): one control work a day per journal, numbered in order; olympiad
standings that fit the marks; recommendations written by the subject's own teacher; published results
whose `published_at` is the receipt time of the outbox message that carried them. One load, checked from
each side,
on the load `tests/test_cli.py` already makes (a demo load costs seconds of the CI budget)."""
from collections import Counter

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    ControlWorkPlan,
    ExamResult,
    FinalGrade,
    Mark,
    OutboxMessage,
    OutboxStatus,
    Recommendation,
    ReportingPeriod,
    Staff,
)
from app.security.scope import Scope, teaches
from app.services.results import period_marks, thresholds

WINNER, PRIZE = 45, 38  # the demo's score bands: a winner scores above 45, a prize-winner above 38


def the_demo_data_fit_together() -> None:
    """Every check below, on the loaded demo."""
    _control_works_are_one_a_day_and_numbered_in_order()
    _olympiad_standings_fit_the_marks()
    _recommendations_come_from_the_subjects_teachers()
    _published_results_carry_their_receipt_time()
    _marks_were_entered_around_their_lessons()


def _control_works_are_one_a_day_and_numbered_in_order():
    works = db.session.execute(select(ControlWorkPlan.assignment_id, ControlWorkPlan.date, ControlWorkPlan.topic)
                               .order_by(ControlWorkPlan.assignment_id, ControlWorkPlan.date)).all()
    assert works
    same_day = Counter((a, d) for a, d, _t in works)
    assert max(same_day.values()) == 1, "two control works of one journal on one day"
    numbers = Counter()
    for assignment, _day, topic in works:
        numbers[assignment] += 1
        assert topic == f"Контрольная работа № {numbers[assignment]}"


def _olympiad_standings_fit_the_marks():
    """A winner's average in the subject up to the olympiad is that of a «5», a prize-winner's of a «4» or
    better (the average the journal shows: `results.period_marks`)."""
    results = db.session.scalars(select(ExamResult)).all()
    assert results
    day = results[0].date
    first = db.session.scalar(select(ReportingPeriod).where(ReportingPeriod.start <= day, ReportingPeriod.end >= day)
                              .order_by(ReportingPeriod.start, ReportingPeriod.end).limit(1))
    averages = period_marks(first, up_to=day)
    five, four, _three = thresholds()
    standings = Counter(r.grade for r in results)
    assert standings["победитель"] + standings["призёр"] > 0
    for r in results:
        average = averages.get((r.student_id, r.subject_id), (None, 0))[0]
        assert r.grade == ("победитель" if r.score > WINNER else "призёр" if r.score > PRIZE else "участник")
        if r.grade == "победитель":
            assert average is not None and average >= five, (r, average)
        elif r.grade == "призёр":
            assert average is not None and average >= four, (r, average)


def _recommendations_come_from_the_subjects_teachers():
    advice = db.session.scalars(select(Recommendation)).all()
    assert advice
    for r in advice:
        teacher = db.session.get(Staff, r.teacher_id)
        assert teacher.user is not None and r.subject_id is not None and r.text
        assert teaches(Scope(school_id=r.school_id, staff_id=r.teacher_id), r.student_id, r.subject_id), r


def _published_results_carry_their_receipt_time():
    for model, kind in ((FinalGrade, "final_grade"), (ExamResult, "exam_result")):
        published = {row.id: row for row in db.session.scalars(select(model).where(model.published_at.is_not(None)))}
        assert published, kind
        receipts = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)).all()
        assert {m.entity_id for m in receipts} == set(published)
        for m in receipts:
            row = published[m.entity_id]
            assert m.status == OutboxStatus.accepted and m.accepted_at == row.published_at
            assert m.student_id == row.student_id and m.payload["id"] == row.id
            assert m.created_at <= m.accepted_at


def _marks_were_entered_around_their_lessons():
    """Marks carry the time a teacher typed them (mostly the lesson's day), not the load's moment."""
    from app.models import Lesson

    days = Counter(
        (created.date() - lesson_day).days
        for created, lesson_day in db.session.execute(select(Mark.created_at, Lesson.date).join(Lesson)))
    total = sum(days.values())
    assert min(days) >= 0 and days[0] / total > 0.8 and sum(v for d, v in days.items() if d > 3) > 0
    assert db.session.scalar(select(func.count(Mark.id))) == total
