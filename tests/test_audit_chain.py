"""The audit trail (SPEC §5): every change of a consent, contact, delivery preference, mark or
attendance entry writes an AuditEvent with its actor and the values before and after, chained to
the previous event by hash; `flask audit verify` passes a clean chain and names the first row that
was edited, deleted or put out of order when the table is tampered with directly."""
import datetime as dt

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import func, select, text, update

from app.extensions import db
from app.models import AuditEvent, ContactKind, ContactPoint, Provenance
from app.services.audit import HASHED_FIELDS, acting_as, event_hash, verify_chain
from app.services.consent import STANDARD_TEXT
from app.services.journal import set_attendance, set_mark
from tests.consent_helpers import SEPT_10, TODAY, add_contact, count, events, record, ru
from tests.journal_helpers import actor, add_lessons, clear_trail, work_type

pytestmark = pytest.mark.usefixtures("school_today")  # the clock reads TODAY

TABLE = AuditEvent.__table__
CONTENT = [c.name for c in TABLE.columns if c.name != "id"]


def user_id(username: str) -> int:
    return db.session.scalar(select(User.id).where(User.username == username))


def assert_chained(trail: list[AuditEvent]) -> None:
    """Each event holds the hash of its own content and the previous event's hash."""
    previous = ""
    for event in trail:
        assert event.prev_hash == previous, event.id
        assert event.hash == event_hash({k: getattr(event, k) for k in HASHED_FIELDS}), event.id
        assert len(event.hash) == 64
        previous = event.hash


# --- events with their actor, chained -------------------------------------------------------------

def test_ui_and_api_changes_write_chained_events_with_their_actor(app, world, login_as):
    registrar, teacher = login_as("registrar"), login_as("teacher")
    kid, mother = world.students["Алексеев"], world.guardians["Алексеева"]
    lesson = add_lessons(world, TODAY)[0]
    clear_trail()

    # The registrar records a consent with the guided form …
    assert registrar.post("/consentview/add", data={
        "student": kid.id, "guardian": mother.id, "decision": "consent", "decided_on": "2026-09-10",
        "document_kind": "paper", "document_number": "12-ПД", "document_date": "2026-09-10",
        **STANDARD_TEXT}).status_code == 302
    # … adds a contact, corrects it and removes it.
    contact_form = {"student": kid.id, "guardian": mother.id, "kind": "phone", "value": "89123456789",
                    "provenance": "written_statement", "document_reference": "Заявление №7", "active": "y"}
    assert registrar.post("/contactpointview/add", data=contact_form).status_code == 302
    contact_id = db.session.scalar(select(ContactPoint.id))
    assert registrar.post(f"/contactpointview/edit/{contact_id}",
                          data={**contact_form, "value": "+79120001122"}).status_code == 302
    assert registrar.post(f"/contactpointview/delete/{contact_id}").status_code == 302
    # The teacher enters a mark, changes it and marks an absence in the journal grid.
    wt = work_type(world)
    cell = {"kind": "mark", "lesson_id": lesson.id, "student_id": kid.id, "work_type_id": wt.id}
    first = teacher.post("/journal/cell", json={**cell, "value": 5})
    assert first.status_code == 200, first.json
    changed = teacher.post("/journal/cell", json={**cell, "value": 4, "version": first.json["cell"]["version"]})
    assert changed.status_code == 200, changed.json
    absent = teacher.post("/journal/cell", json={"kind": "attendance", "lesson_id": lesson.id,
                                                 "student_id": kid.id, "code": "Н"})
    assert absent.status_code == 200, absent.json

    trail = events()
    got = [(e.entity, e.action, e.username, e.user_id) for e in trail]
    reg, tea = user_id("registrar"), user_id("teacher")
    assert got == [
        ("consent", "create", "registrar", reg),
        ("contact_point", "create", "registrar", reg),
        ("contact_point", "update", "registrar", reg),
        ("contact_point", "delete", "registrar", reg),
        ("mark", "create", "teacher", tea),
        ("mark", "update", "teacher", tea),
        ("attendance", "create", "teacher", tea),
    ]
    assert all(e.school_id == world.school_a.id for e in trail)
    consent, created, edited, deleted, mark, remark, entry = trail
    assert consent.before is None and consent.after["decision"] == "consent"
    assert consent.after["student_id"] == kid.id and consent.after["recorded_by"] == "registrar"
    assert consent.entity_id == consent.after["id"]
    assert created.entity_id == edited.entity_id == deleted.entity_id == contact_id
    assert created.before is None and created.after["value"] == "+79123456789"
    assert (edited.before["value"], edited.after["value"]) == ("+79123456789", "+79120001122")
    assert edited.before["document_reference"] == edited.after["document_reference"] == "Заявление №7"
    assert deleted.before["value"] == "+79120001122" and deleted.after is None
    assert mark.after["value"] == 5 and (remark.before["value"], remark.after["value"]) == (5, 4)
    assert mark.entity_id == remark.entity_id is not None
    assert entry.after["code"] == "Н" and entry.after["student_id"] == kid.id
    assert_chained(trail)
    assert verify_chain() == (7, None)


def test_service_changes_are_attributed_with_acting_as(world):
    lesson = add_lessons(world, dt.date(2026, 9, 7))[0]
    clear_trail()
    record(world, on=SEPT_10, by="registrar")
    with acting_as("teacher", user_id("teacher")):
        set_mark(actor("teacher"), lesson.id, world.students["Алексеев"].id, work_type(world).id, 3,
                 today=dt.date(2026, 9, 8))
        db.session.commit()
    set_attendance(actor("teacher"), lesson.id, world.students["Борисов"].id, "Б", today=dt.date(2026, 9, 8))
    db.session.commit()  # no request and no acting_as: the system
    trail = events()
    assert [(e.entity, e.username, e.user_id) for e in trail] == [
        ("consent", "registrar", user_id("registrar")), ("mark", "teacher", user_id("teacher")),
        ("attendance", "system", None)]
    assert_chained(trail)


def test_a_refused_or_rolled_back_change_leaves_no_event(world, login_as):
    add_contact(world, "Алексеева", ContactKind.email, "alekseeva@example.ru")
    before = [(e.id, e.hash) for e in events()]
    response = login_as("registrar").post("/contactpointview/add", data={
        "student": world.students["Алексеев"].id, "guardian": world.guardians["Алексеева"].id, "kind": "email",
        "value": "not-an-email",
        "provenance": "written_statement", "document_reference": "Заявление №8", "active": "y"},
        follow_redirects=True)
    assert response.status_code == 200
    assert ru("«%(value)s» is not an e-mail address.", value="not-an-email") in response.get_data(as_text=True)
    contact = ContactPoint(school_id=world.school_a.id, guardian=world.guardians["Васильева"],
                           kind=ContactKind.postal, value="г. Москва", provenance=Provenance.written_statement,
                           document_reference="№9")
    db.session.add(contact)
    db.session.flush()  # the event is written in the transaction …
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == len(before) + 1
    db.session.rollback()  # … and goes with it
    assert [(e.id, e.hash) for e in events()] == before
    assert verify_chain() == (1, None)


def test_an_update_that_changes_nothing_writes_no_event(world):
    contact = add_contact(world, "Алексеева", ContactKind.email, "alekseeva@example.ru")
    contact.value = "alekseeva@example.ru"
    db.session.commit()
    assert [e.action for e in events("contact_point")] == ["create"]


def test_before_values_are_the_real_ones_after_a_commit_expired_the_row(world):
    """The session forgets a row's values at commit; the event still shows what they were."""
    contact = add_contact(world, "Алексеева", ContactKind.phone, "+79123456789", reference="Заявление №7")
    contact.value = "+79120001122"
    db.session.commit()
    db.session.delete(contact)  # expired again by the commit
    db.session.commit()
    created, updated, deleted = events("contact_point")
    assert (created.action, updated.action, deleted.action) == ("create", "update", "delete")
    assert updated.before["value"] == "+79123456789" and updated.after["value"] == "+79120001122"
    assert updated.before["document_reference"] == updated.after["document_reference"] == "Заявление №7"
    assert updated.before["kind"] == "phone" and updated.before["guardian_id"] == world.guardians["Алексеева"].id
    assert deleted.before["value"] == "+79120001122" and deleted.after is None
    assert_chained(events())


# --- `flask audit verify` ---------------------------------------------------------------------------

@pytest.fixture
def trail(world):
    """Seven chained events: a consent, a contact created and changed twice, a mark set and changed,
    an attendance entry."""
    lesson = add_lessons(world, dt.date(2026, 9, 7))[0]
    clear_trail()
    record(world, on=SEPT_10, by="registrar")
    with acting_as("registrar", user_id("registrar")):
        contact = add_contact(world, "Алексеева", ContactKind.phone, "+79123456789")
        contact.value = "+79120001122"
        db.session.commit()
        contact.document_reference = "Заявление №7, исправлено"
        db.session.commit()
    kid, wt = world.students["Алексеев"], work_type(world)
    with acting_as("teacher", user_id("teacher")):
        cell = set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 5, today=dt.date(2026, 9, 8))
        db.session.commit()
        set_mark(actor("teacher"), lesson.id, kid.id, wt.id, 4, version=cell["version"], today=dt.date(2026, 9, 8))
        db.session.commit()
        set_attendance(actor("teacher"), lesson.id, kid.id, "Н", today=dt.date(2026, 9, 8))
        db.session.commit()
    ids = [e.id for e in events()]
    assert len(ids) == 7
    return ids


def verify(runner):
    result = runner.invoke(args=["audit", "verify"])
    return result.exit_code, result.output


def tamper(sql, **params) -> None:
    """Change the table behind the application's back (a DBA, a restored backup, an attacker)."""
    with db.engine.begin() as conn:
        conn.execute(text(sql) if isinstance(sql, str) else sql, params)
    db.session.expire_all()


def rechain(conn, compute=None, start: int = 0) -> None:
    """Recompute every hash from row `start` on as the writers chain them: each event after the previous one of
    its school (`compute`: the hash function, default the keyed one)."""
    heads: dict = {}
    for event in conn.execute(select(TABLE).order_by(TABLE.c.id)).mappings().all():
        if event["id"] >= start:
            content = {**event, "prev_hash": heads.get(event["school_id"], "")}
            conn.execute(update(TABLE).where(TABLE.c.id == event["id"])
                         .values(prev_hash=content["prev_hash"], hash=(compute or event_hash)(content)))
            heads[event["school_id"]] = (compute or event_hash)(content)
        else:
            heads[event["school_id"]] = event["hash"]


def row(pk: int) -> dict:
    with db.engine.connect() as conn:
        return dict(conn.execute(select(TABLE).where(TABLE.c.id == pk)).mappings().one())


def test_verify_passes_a_clean_chain(runner, trail):
    code, output = verify(runner)
    assert code == 0, output
    assert "Журнал аудита цел: проверено записей 7" in output


def test_verify_passes_an_empty_trail(runner, world):
    code, output = verify(runner)
    assert code == 0 and "проверено записей 0" in output


def test_verify_reads_the_chain_across_batches(world, trail):
    assert verify_chain(batch=2) == (7, None)
    tamper("UPDATE audit_event SET username = 'director' WHERE id = :id", id=trail[4])
    school = world.school_a.id
    changed = f"цепочка школы №{school}: запись №{trail[4]}: содержимое изменено после записи"
    assert verify_chain(batch=2) == (4, changed)


@pytest.mark.parametrize(("what", "position"), [("username", 2), ("after", 4), ("at", 0), ("entity_id", 6),
                                                ("action", 3), ("before", 2)])
def test_an_edited_row_is_named(runner, trail, what, position):
    pk = trail[position]
    original = row(pk)
    changes = {
        "username": {"username": "director"},
        "after": {"after": {**(original["after"] or {}), "value": 2}},
        "at": {"at": original["at"] - dt.timedelta(days=30)},
        "entity_id": {"entity_id": (original["entity_id"] or 0) + 100},
        "action": {"action": "create"},
        "before": {"before": {**(original["before"] or {}), "value": "+70000000000"}},
    }[what]
    tamper(update(TABLE).where(TABLE.c.id == pk).values(**changes))
    code, output = verify(runner)
    assert code == 1
    assert f"запись №{pk}: содержимое изменено после записи" in output
    assert f"проверено записей до неё: {position}" in output
    # The rows before it still check.
    assert verify_chain()[0] == position


def test_a_deleted_middle_row_is_named_by_its_successor(runner, trail):
    tamper("DELETE FROM audit_event WHERE id = :id", id=trail[3])
    code, output = verify(runner)
    assert code == 1
    assert f"запись №{trail[4]}: не совпадает хеш предыдущей записи" in output
    assert "проверено записей до неё: 3" in output


def test_a_deleted_first_row_is_detected(runner, trail):
    tamper("DELETE FROM audit_event WHERE id = :id", id=trail[0])
    code, output = verify(runner)
    assert code == 1 and f"запись №{trail[1]}: не совпадает хеш предыдущей записи" in output


def _swap(a: int, b: int, columns: list[str]) -> None:
    first, second = row(a), row(b)
    with db.engine.begin() as conn:
        conn.execute(update(TABLE).where(TABLE.c.id == a).values(**{c: second[c] for c in columns}))
        conn.execute(update(TABLE).where(TABLE.c.id == b).values(**{c: first[c] for c in columns}))
    db.session.expire_all()


def test_two_rows_swapped_whole_are_a_reorder(runner, trail):
    """The rows 3 and 4 exchange everything but their ids (hashes included): the order is broken."""
    _swap(trail[2], trail[3], CONTENT)
    assert row(trail[2])["hash"] == events()[2].hash  # the swap really happened …
    code, output = verify(runner)
    assert code == 1
    assert f"запись №{trail[2]}: не совпадает хеш предыдущей записи" in output  # … and is caught at the first
    assert "проверено записей до неё: 2" in output


def test_two_rows_swapped_content_only_are_detected(runner, trail):
    """Only the content moves, each row keeps its hashes: the content no longer matches."""
    _swap(trail[4], trail[5], [c for c in CONTENT if c not in ("hash", "prev_hash")])
    code, output = verify(runner)
    assert code == 1
    assert f"запись №{trail[4]}: содержимое изменено после записи" in output


def test_a_row_inserted_out_of_order_is_detected(runner, trail):
    """A forged event whose own hash is right but which links to an old event, not the last one."""
    forged = {"at": dt.datetime(2026, 9, 1, 9, 0), "school_id": None, "user_id": None, "username": "director",
              "entity": "consent", "entity_id": 999, "action": "delete", "before": {"decision": "refusal"},
              "after": None, "prev_hash": row(trail[1])["hash"]}
    forged["hash"] = event_hash(forged)
    tamper(TABLE.insert().values(**forged))
    code, output = verify(runner)
    assert code == 1
    assert count(AuditEvent) == 8
    forged_id = db.session.scalar(select(func.max(AuditEvent.id)))
    assert forged_id > max(trail)
    assert f"запись №{forged_id}: не совпадает хеш предыдущей записи" in output
    assert "проверено записей до неё: 7" in output


def test_a_recomputed_forgery_in_the_middle_breaks_the_next_link(runner, trail):
    """Editing a row and recomputing its own hash still breaks the link of the row after it."""
    original = row(trail[2])
    forged = {k: original[k] for k in HASHED_FIELDS} | {"username": "teacher"}
    tamper(update(TABLE).where(TABLE.c.id == trail[2]).values(username="teacher", hash=event_hash(forged)))
    code, output = verify(runner)
    assert code == 1
    assert f"запись №{trail[3]}: не совпадает хеш предыдущей записи" in output
