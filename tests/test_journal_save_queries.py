"""A cell save (`POST /journal/cell`) costs a fixed number of SQL statements with its audit event and its
outbox message, whatever the size of the class and the number of marks: counted with "before_cursor_execute"
during the whole request, signing in (the user with their staff record, FAB's permissions) included and only
the test isolation's SAVEPOINTs left out; deterministic rather than timed. Issue 19 asked for 12: the whole
request went from 17 (after the first round; the save's own were 36 before issue 19) to 12, 13 on PostgreSQL
(the audit chain's advisory lock)."""
import datetime as dt

import pytest

from app.extensions import db
from app.models import AcademicYear, Mark, OutboxMessage
from tests.consent_helpers import record
from tests.journal_helpers import (
    HTTP_TODAY,
    HTTP_WEEK,
    add_lessons,
    add_students,
    close_period,
    period_of,
    statements,
    the_apps,
    work_type,
)
from tests.test_journal_queries import fill

pytestmark = pytest.mark.usefixtures("http_today")
SAVE_STATEMENTS = 12  # the user, their permissions, the lesson with its holidays, the closed periods, the student's
# enrolments with membership and assessment mode, the cell with the work type, the UPDATE, the chain's last hash,
# the audit event, the family's consent, the outbox message, the average (a closed quarter, a consented family)


def save(client, body: dict) -> tuple[list[str], dict]:
    """The statements of one whole save request, and its answer."""
    with statements() as seen:
        response = client.post("/journal/cell", json=body)
    assert response.status_code == 200, response.json
    return the_apps(seen), response.json


@pytest.fixture
def journal(world):
    """A quarter closed (as in any school after its first quarter), last year closed (as in any school after
    its first year), Алексеев's family consented (the save queues a portal message), a lesson today."""
    close_period(world, 1)
    db.session.add(AcademicYear(school=world.school_a, name="2025/2026", start=dt.date(2025, 9, 1),
                                end=dt.date(2026, 8, 31), closed=True))
    db.session.commit()
    record(world)
    return {"wt": work_type(world), "lesson": add_lessons(world, HTTP_TODAY, slot=2)[0],
            "period": period_of(world.year_a, 2).id, "kid": world.students["Алексеев"].id}


def body(journal: dict, value: int | None, seen: list | None = None) -> dict:
    return {"kind": "mark", "lesson_id": journal["lesson"].id, "student_id": journal["kid"],
            "work_type_id": journal["wt"].id, "value": value, "seen": seen or [], "period_id": journal["period"]}


def test_a_save_with_signing_in_audit_and_outbox_costs_at_most_12_statements(world, login_as, journal):
    limit = SAVE_STATEMENTS + (db.engine.dialect.name == "postgresql")  # the audit chain's advisory lock
    teacher = login_as("teacher")
    created, answer = save(teacher, body(journal, 5))
    changed, answer = save(teacher, body(journal, 4, [[answer["cell"]["id"], answer["cell"]["version"]]]))
    assert answer["cell"]["value"] == 4 and answer["average"] == 4.0
    queued = db.session.scalars(db.select(OutboxMessage.entity).where(OutboxMessage.entity == "mark")).all()
    assert len(queued) == 2  # both saves reached the outbox: the statements counted include its INSERT
    assert any(s.lstrip().upper().startswith("INSERT INTO AUDIT_EVENT") for s in changed)
    assert any("ab_user" in s for s in changed)  # signing in is counted
    assert len(created) <= limit, "\n".join(created)
    assert len(changed) <= limit, "\n".join(changed)


def test_the_save_does_not_grow_with_the_class_and_its_marks(world, login_as, journal):
    teacher = login_as("teacher")
    save(teacher, body(journal, 3))  # warm-up: the first request of a login may load more
    db.session.execute(db.delete(Mark))
    db.session.commit()
    small, _ = save(teacher, body(journal, 5))
    add_students(world, "5А", 30, start=HTTP_WEEK[0])  # after the closed quarter
    fill(world, "5А", add_lessons(world, *HTTP_WEEK[:4]))
    db.session.execute(db.delete(Mark).where(Mark.lesson_id == journal["lesson"].id))
    db.session.commit()
    large, answer = save(teacher, body(journal, 5))
    assert answer["cell"]["value"] == 5
    assert len(small) == len(large), "\n".join(large)
