"""The 24-hour report tells the truth (issue 15, p.5): the clock of a result starts when the family became
entitled to it (the later of the result and the start of its consent), exam results are timed from their
result date, `--days` chooses late deliveries by the time of the acknowledgement, and never-acknowledged
results of consented families are always listed. Timelines are built by hand."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from app.exchange import sla
from app.extensions import db
from app.models import Decision, ExamKind, ExamResult, FinalGrade, FinalStatus, FinalValue
from app.services import clock
from app.services.consent import consent_spells
from tests.consent_helpers import NOV_2, OCT_1, SEPT_10, TODAY, add_guardian, record, ru
from tests.finals_helpers import q1

pytestmark = pytest.mark.usefixtures("school_today")  # the clock reads TODAY

HOUR = dt.timedelta(hours=1)


def final(world, kid: str, decided: dt.datetime, published: dt.datetime | None = None) -> FinalGrade:
    student = world.students[kid]
    row = FinalGrade(school_id=student.school_id, student_id=student.id, subject_id=world.subjects["math"].id,
                     period_id=q1(world).id, value=FinalValue.four, status=FinalStatus.final,
                     result_date=decided.date(), decided_by="teacher", decided_at=decided, published_at=published)
    db.session.add(row)
    db.session.commit()
    return row


def exam(world, kid: str, result_date: dt.date, typed_in: dt.datetime, published: dt.datetime | None = None,
         name: str = "Олимпиада по математике") -> ExamResult:
    student = world.students[kid]
    row = ExamResult(school_id=student.school_id, student_id=student.id, kind=ExamKind.competition, name=name,
                     date=result_date, result_date=result_date, recorded_at=typed_in, published_at=published)
    db.session.add(row)
    db.session.commit()
    return row


def lines(items) -> list[tuple]:
    return [(i.kind, i.id, i.state, i.since, i.deadline) for i in items]


def test_each_line_of_the_report_on_hand_built_timelines(world, app):
    start = sla.day_start
    now = start(TODAY) + 20 * HOUR  # 20:00 school time on the day Алексеев's family consents
    record(world, on=TODAY)
    record(world, kid="Васильев", guardian="Васильева")  # consented on SEPT_10, before every result
    add_guardian(world, "Борисов", "Борисова")
    record(world, Decision.refusal, kid="Борисов", guardian="Борисова")
    october = start(dt.date(2026, 10, 25)) + 10 * HOUR
    # Алексеев: decided in October without consent, delivered by today's snapshot — in time
    final(world, "Алексеев", october, published=now - 2 * HOUR)
    pending = exam(world, "Алексеев", dt.date(2026, 10, 28), typed_in=start(dt.date(2026, 10, 28)) + 12 * HOUR)
    # Васильев: a final delivered 48 hours after its decision, 24 days ago
    late_final = final(world, "Васильев", october, published=october + 48 * HOUR)
    # an olympiad obtained on 18.11, typed in on 19.11 and acknowledged 19 hours later: late from its result date
    late_exam = exam(world, "Васильев", dt.date(2026, 11, 18), typed_in=start(dt.date(2026, 11, 19)) + 18 * HOUR,
                     published=now - HOUR, name="Конкурс чтецов")
    never = exam(world, "Васильев", dt.date(2026, 11, 10), typed_in=start(dt.date(2026, 11, 10)) + 9 * HOUR,
                 name="Первенство по шахматам")
    final(world, "Борисов", october)  # refused: a paper family, not the portal's rule
    day = 24 * HOUR
    assert lines(sla.report(now, days=60)) == [
        ("final_grade", late_final.id, sla.LATE, october, october + day),
        ("exam_result", never.id, sla.BREACH, start(dt.date(2026, 11, 10)), start(dt.date(2026, 11, 11))),
        ("exam_result", late_exam.id, sla.LATE, start(dt.date(2026, 11, 18)), start(dt.date(2026, 11, 19))),
        ("exam_result", pending.id, sla.DUE_SOON, start(TODAY), start(TODAY) + day),  # the clock began today
    ]
    assert [i.id for i in sla.report(now, days=7)] == [never.id, late_exam.id, pending.id]
    assert [i.id for i in sla.report(now, days=1)] == [never.id, late_exam.id, pending.id]
    assert [sla.breaches(now, days) for days in (60, 7, 1)] == [3, 2, 2]
    (item,) = [i for i in sla.report(now, days=1) if i.id == pending.id]
    assert item.result_at == start(dt.date(2026, 10, 28)) and item.published_at is None
    # four hours later Алексеев's exam result breaches too
    assert sla.breaches(start(TODAY) + day + HOUR, days=7) == 3


def test_a_delivery_is_judged_by_the_consent_spell_it_fell_in(world):
    record(world, on=SEPT_10)
    record(world, Decision.withdrawal, on=OCT_1, number="40-ПД")
    record(world, on=NOV_2, number="41-ПД")
    kid = world.students["Алексеев"].id
    assert consent_spells([kid]) == {kid: [(SEPT_10, OCT_1), (NOV_2, None)]}
    decided = sla.day_start(dt.date(2026, 9, 20)) + 10 * HOUR
    final(world, "Алексеев", decided, published=decided + 30 * HOUR)  # late, within the first spell
    now = sla.day_start(TODAY) + 12 * HOUR
    assert [(i.state, i.since) for i in sla.report(now, days=90)] == [(sla.LATE, decided)]


@pytest.fixture
def real_today(app):
    """The school's today is the real date in the school's zone: the command and the pages read the real clock."""
    today = dt.datetime.now(ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])).date()
    app.config["SCHOOL_TODAY"] = today.isoformat()
    return today


def test_the_command_and_the_dashboard_after_a_consent_today(world, runner, login_as, real_today):
    now = clock.utcnow()
    record(world, on=real_today)
    october = now - dt.timedelta(days=45)
    final(world, "Алексеев", october, published=now - dt.timedelta(minutes=1))  # today's snapshot carried it
    result = runner.invoke(args=["exchange", "sla", "--days", "60"])
    assert result.exit_code == 0, result.output
    assert "Алексеев" not in result.output
    record(world, kid="Васильев", guardian="Васильева", on=real_today - dt.timedelta(days=60))
    late = final(world, "Васильев", now - 30 * HOUR, published=now - HOUR)  # delivered late today
    for days in ("1", "7"):
        result = runner.invoke(args=["exchange", "sla", "--days", days])
        assert result.exit_code == 1, result.output
        (line,) = [x for x in result.output.splitlines() if world.students["Васильев"].full_name in x]
        assert line.startswith(ru("delivered late")) and f"{late.published_at:%d.%m.%Y %H:%M}" in line
        assert "Алексеев" not in result.output
    page = login_as("director").get("/exchange/").get_data(as_text=True)
    assert ru("Breaches of the 24-hour rule: %(count)d", count=1) in page
    home = login_as("director").get("/").get_data(as_text=True)
    assert ru("Breaches of the 24-hour rule: %(count)d", count=1) in home.split('home-exchange"')[1]


def test_the_command_names_when_the_familys_consent_started_the_clock(world, runner, real_today, app):
    app.config["EXCHANGE_SLA_WARN_HOURS"] = 24  # listed as «the deadline is near» whatever the hour
    record(world, on=real_today)
    final(world, "Алексеев", clock.utcnow() - dt.timedelta(days=45))  # not delivered yet
    result = runner.invoke(args=["exchange", "sla"])
    since = sla.day_start(real_today)
    assert result.output.startswith(ru("the deadline is near")), result.output
    assert ru("the family's consent from %(at)s", at=f"{since:%d.%m.%Y %H:%M}") in result.output
