"""The audit trail of marks and attendance (lessons and the rest: tests/test_audit_coverage.py): every
create, update and delete writes exactly one AuditEvent with who, when, what, before and after, in the
same transaction as the change; a refused entry, a conflict and a rolled-back transaction leave none."""
import datetime as dt

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Mark
from app.services.audit import acting_as
from app.services.errors import RuleViolation
from app.services.journal import Conflict, set_attendance, set_mark
from tests.journal_helpers import (
    ENTRIES,
    HTTP_WEEK,
    SEPT_7,
    SEPT_8,
    actor,
    add_lessons,
    audit_events,
    committed,
    count,
    work_type,
)


@pytest.fixture
def lesson(world):
    return add_lessons(world, SEPT_7)[0]


def user_id(username: str) -> int:
    return db.session.scalar(select(User.id).where(User.username == username))


def test_create_update_delete_of_a_mark_each_write_one_event(world, lesson):
    kid, wt = world.students["Алексеев"], work_type(world)
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1)
    with acting_as("teacher", user_id("teacher")):
        cell = set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 5, comment="Отлично", today=SEPT_8)
        db.session.commit()
        assert len(audit_events(ENTRIES)) == 1
        set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 4, version=1, today=SEPT_8)
        db.session.commit()
        assert len(audit_events(ENTRIES)) == 2
        set_mark(actor("teacher"), lesson.id, kid.id, wt.id, None, version=2, today=SEPT_8)
        db.session.commit()
    created, updated, deleted = audit_events(ENTRIES)
    for event in (created, updated, deleted):
        assert (event.entity, event.entity_id, event.username, event.user_id, event.school_id) == (
            "mark", cell["id"], "teacher", user_id("teacher"), world.school_a.id)
        assert started <= event.at <= dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=1)
    assert created.action == "create" and created.before is None
    assert {k: created.after[k] for k in ("value", "comment", "student_id", "lesson_id", "work_type_id", "version")} \
        == {"value": 5, "comment": "Отлично", "student_id": kid.id, "lesson_id": lesson.id, "work_type_id": wt.id,
            "version": 1}
    assert updated.action == "update"
    assert (updated.before["value"], updated.after["value"], updated.after["version"]) == (5, 4, 2)
    assert deleted.action == "delete" and deleted.after is None
    assert (deleted.before["value"], deleted.before["version"]) == (4, 2)


def test_the_before_of_an_update_has_the_old_version(world, lesson):
    kid, wt = world.students["Алексеев"], work_type(world)
    with acting_as("teacher"):
        set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 5, today=SEPT_8)
        db.session.commit()
        set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 4, version=1, today=SEPT_8)
        db.session.commit()
    updated = audit_events(ENTRIES)[-1]
    assert (updated.before["version"], updated.after["version"]) == (1, 2)


def test_attendance_changes_are_audited_with_their_codes(world, lesson):
    kid = world.students["Борисов"]
    with acting_as("director", user_id("director")):
        set_attendance(actor("director"), lesson.id, kid.id, "Н", today=SEPT_8)
        db.session.commit()
        set_attendance(actor("director"), lesson.id, kid.id, "УП", version=1, today=SEPT_8)
        db.session.commit()
    created, updated = audit_events("attendance")
    assert (created.action, created.after["code"], created.username) == ("create", "Н", "director")
    assert (updated.action, updated.before["code"], updated.after["code"]) == ("update", "Н", "УП")


def test_saving_the_same_value_again_writes_no_event(world, lesson):
    kid, wt = world.students["Алексеев"], work_type(world)
    with acting_as("teacher"):
        set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 5, today=SEPT_8)
        db.session.commit()
        cell = set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 5, version=1, today=SEPT_8)
        db.session.commit()
    assert cell["version"] == 1
    assert [e.action for e in audit_events(ENTRIES)] == ["create"]


def test_a_refused_entry_writes_no_event(world, lesson):
    kid, wt = world.students["Алексеев"], work_type(world)
    with acting_as("teacher"), pytest.raises(RuleViolation):
        set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 7, today=SEPT_8)
    db.session.commit()
    with acting_as("teacher_b"), pytest.raises(RuleViolation):
        set_attendance(actor("teacher_b"), lesson.id, kid.id, "Н", today=SEPT_8)
    db.session.commit()
    assert audit_events(ENTRIES) == []


def test_a_conflict_writes_no_event(world, lesson):
    kid, wt = world.students["Алексеев"], work_type(world)
    with acting_as("teacher"):
        set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 5, today=SEPT_8)
        db.session.commit()
        with pytest.raises(Conflict):
            set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 3, today=SEPT_8)
        db.session.commit()
    assert [e.action for e in audit_events(ENTRIES)] == ["create"]


def test_a_rolled_back_transaction_leaves_no_event(world, lesson):
    kid, wt = world.students["Алексеев"], work_type(world)
    with acting_as("teacher"):
        set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 5, today=SEPT_8)
        set_attendance(actor("teacher"), lesson.id, world.students["Борисов"].id, "Н", today=SEPT_8)
    # flushed: the change and its events are in the transaction together …
    assert count(Mark) == 1 and count(AuditEvent, AuditEvent.entity.in_(ENTRIES)) == 2
    db.session.rollback()
    # … and go together
    assert committed(Mark) == [] and committed(AuditEvent, AuditEvent.entity.in_(ENTRIES)) == []


def test_a_change_through_the_journal_page_names_the_signed_in_user(world, login_as, isolated, http_today):
    lesson = add_lessons(world, HTTP_WEEK[0])[0]
    kid, wt = world.students["Алексеев"], work_type(world)
    client = login_as("teacher")
    client.post("/journal/cell", json={"lesson_id": lesson.id, "student_id": kid.id, "kind": "mark",
                                       "work_type_id": wt.id, "value": 4})
    refused = client.post("/journal/cell", json={"lesson_id": lesson.id, "student_id": kid.id, "kind": "mark",
                                                 "work_type_id": wt.id, "value": 9, "version": 1})
    assert refused.status_code == 422
    events = audit_events(ENTRIES)
    assert [(e.action, e.entity, e.username, e.user_id, e.after["value"]) for e in events] == [
        ("create", "mark", "teacher", user_id("teacher"), 4)]
