"""The diary message format (SPEC §6, issue 7): the documented examples, readable rejections, and the
payloads the journal builds from its rows — one per kind, deleted ones, a snapshot — all valid."""
import copy
import datetime as dt
import json
import re
import uuid
from collections import Counter
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import event, select

from app.exchange import payloads
from app.exchange.schema import (
    ENTITY_KINDS,
    ENVELOPE,
    KINDS,
    SCHEMA_VERSION,
    RawJSON,
    batch_json,
    envelope,
    errors,
    schema,
)
from app.extensions import db
from app.models import (
    Attendance,
    AttendanceCode,
    ChangeKind,
    Consent,
    ControlWorkPlan,
    Decision,
    ExamKind,
    ExamResult,
    FinalGrade,
    FinalStatus,
    FinalValue,
    Holiday,
    LessonStatus,
    LessonType,
    Mark,
    OutboxMessage,
    PeriodKind,
    Recommendation,
    StudyGroup,
    Subject,
)
from app.services.lessons import reschedule
from tests import factories
from tests.finals_helpers import give_marks, q1
from tests.journal_helpers import SEPT_8, SEPT_9, SEPT_10, SEPT_11, add_lessons, bell_slot, math_of, timetable_entry

DOC = Path(__file__).resolve().parent.parent / "docs" / "exchange.md"
EXAMPLES = [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", DOC.read_text(encoding="utf-8"), re.S)]
BY_KIND = {m["kind"]: m for m in EXAMPLES}


def wrap(kind: str, payload: dict, student=None, school=None) -> dict:
    """The message an outbox row of that kind and payload would send."""
    row = OutboxMessage(id=1, key=uuid.uuid4().hex, kind=kind, payload=payload,
                        created_at=dt.datetime(2026, 11, 20, 9, 15))
    return envelope(row, payloads.student_block(student) if student else BY_KIND["mark"]["student"],
                    payloads.school_block(school) if school else BY_KIND["mark"]["school"])


@pytest.mark.parametrize("message", EXAMPLES, ids=[m["kind"] for m in EXAMPLES])
def test_every_documented_example_is_valid(message):
    assert errors(message) == []


def test_every_kind_has_exactly_one_example():
    Draft202012Validator.check_schema(schema())
    assert Counter(m["kind"] for m in EXAMPLES) == Counter(KINDS)
    assert set(ENTITY_KINDS) < set(KINDS)


def test_the_schema_enumerates_the_journals_values():
    defs = schema()["$defs"]
    values = lambda enum: [m.value for m in enum]
    assert defs["attendance"]["properties"]["code"]["enum"] == values(AttendanceCode)
    assert defs["lesson_change"]["properties"]["change"]["enum"] == values(ChangeKind)
    assert defs["lesson"]["properties"]["lesson_type"]["enum"] == values(LessonType)
    assert defs["control_work"]["properties"]["kind"]["enum"] == values(LessonType)
    assert defs["lesson"]["properties"]["status"]["enum"] == values(LessonStatus)
    assert defs["final_grade"]["properties"]["value"]["enum"] == [*values(FinalValue), None]
    assert defs["final_grade"]["properties"]["period_kind"]["enum"] == values(PeriodKind)
    assert defs["final_grade"]["properties"]["status"]["enum"] == [FinalStatus.final, FinalStatus.deferred]
    assert defs["exam_result"]["properties"]["kind"]["enum"] == values(ExamKind)
    assert set(defs["withdrawal"]["properties"]["decision"]["enum"]) == set(values(Decision)) - {"consent"}


def _set(path: str, value):
    def change(message):
        *parents, last = path.split(".")
        target = message
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value
    return change


@pytest.mark.parametrize(("kind", "change", "expected"), [
    ("mark", _set("kind", "grade"), "kind: 'grade' is not one of ['mark', "),
    ("mark", _set("payload.value", 7), "payload.value: 7 is greater than the maximum of 5"),
    ("mark", _set("payload.subject", KeyError), "payload: 'subject' is a required property"),
    ("mark", _set("payload.colour", "red"), "payload: Additional properties are not allowed ('colour' was unexpected)"),
    ("mark", _set("payload.date", "2026-02-30"), "payload.date: '2026-02-30' is not a 'date'"),
    ("lesson", _set("payload.homework_due", "20.11.2026"), "payload.homework_due: '20.11.2026' is not a 'date'"),
    ("lesson", _set("payload.start_time", "9:30"), "payload.start_time: '9:30' does not match"),
    ("attendance", _set("payload.code", "X"), "payload.code: 'X' is not one of ['Н', 'Б', 'УП', 'ОП']"),
    ("final_grade", _set("payload.status", "proposed"), "payload.status: 'proposed' is not one of"),
    ("forecast", _set("payload.topic", "final_grade"), "payload.topic: 'forecast' was expected"),
    ("withdrawal", _set("payload.decision", "consent"), "payload.decision: 'consent' is not one of"),
    ("snapshot", _set("payload.items.2.payload.value", 9), "payload.items[2].payload.value: 9 is greater than"),
    ("snapshot", _set("payload.items.0.kind", "snapshot"), "payload.items[0].kind: 'snapshot' is not one of"),
    ("mark", _set("student.age", 10), "student: Additional properties are not allowed ('age' was unexpected)"),
    ("mark", _set("idempotency_key", "not-a-key"), "idempotency_key: 'not-a-key' does not match"),
    ("mark", _set("created_at", "2026-11-20 09:15"), "created_at: '2026-11-20 09:15' does not match"),
    ("mark", _set("version", "2.0"), "version: '2.0' does not match"),
    ("mark", _set("payload", {"id": 5310}), "payload: 'deleted' is a required property"),
    ("mark", _set("payload", {"id": 5310, "deleted": False}), "payload: 'lesson_id' is a required property"),
])
def test_bad_messages_are_rejected_readably(kind, change, expected):
    message = copy.deepcopy(BY_KIND[kind])
    change(message)
    found = errors(message)
    assert any(e.startswith(expected) for e in found), found


@pytest.mark.parametrize("ascii_only", [True, False], ids=["escaped", "utf-8"])
def test_payloads_read_as_stored_text_go_out_as_the_same_json(ascii_only):
    """The job reads payloads as the JSON text the outbox stores (older rows «\\u041c…»-escaped, newer ones
    UTF-8) and writes each into the request as it is: the portal reads the same batch as from decoded payloads."""
    stored = [json.dumps(m["payload"], ensure_ascii=ascii_only) for m in EXAMPLES]
    raw = [{**m, "payload": RawJSON(text)} for m, text in zip(EXAMPLES, stored, strict=True)]
    body = batch_json("b1", raw).decode()
    assert json.loads(body) == json.loads(batch_json("b1", EXAMPLES)) == {"batch": "b1", "messages": EXAMPLES}
    assert all(f'"payload":{text}}}' in body for text in stored)  # written in as stored
    mixed = [raw[0], EXAMPLES[1]]  # a decoded payload among them: the batch is encoded whole
    assert json.loads(batch_json("b2", mixed))["messages"] == EXAMPLES[:2]


def test_a_batch_body_is_what_json_dumps_of_its_messages_would_write():
    """batch_json writes the job's envelopes field by field, a student's or school's block shared by several
    messages encoded once: byte for byte what json.dumps of the same messages writes, and a message of another
    shape is encoded whole."""
    made = [wrap(m["kind"], m["payload"]) for m in EXAMPLES]  # one student and school block shared by all
    assert all(tuple(m) == ENVELOPE for m in made) and made[0]["student"] is made[1]["student"]
    unshared = [{**m, "student": dict(m["student"]), "school": dict(m["school"])} for m in made]
    other = {"note": "не конверт", **made[1]}  # its RawJSON payload decoded, as the whole is encoded

    def dumps(messages):
        return json.dumps({"batch": "b", "messages": messages}, ensure_ascii=False, separators=(",", ":")).encode()

    assert batch_json("b", made) == dumps(made) and batch_json("b", unshared) == dumps(unshared)
    assert batch_json("b", [*made, {**other, "payload": RawJSON(json.dumps(other["payload"]))}]) == \
        dumps([*made, other])
    odd = [{**made[0], "id": "7"}, {**made[0], "id": True}, {**made[0], "id": 7.0},  # not an int id or str text:
           {**made[0], "idempotency_key": None}, {**made[0], "kind": 3},  # written as json.dumps writes them,
           {"note": RawJSON('"x"'), **made[0]}]  # a RawJSON other than the payload a string like any other
    assert [batch_json("b", [m]) for m in odd] == [dumps([m]) for m in odd]


def test_messages_made_one_by_one_keep_each_childs_own_blocks():
    """Messages given as they are made (a generator) are dropped once written, and a new block can take a freed
    one's id: each message still carries its own student's block, never the one written before it."""
    mark = BY_KIND["mark"]

    def made():
        for n in range(6):
            yield {**mark, "id": n + 1, "student": {**mark["student"], "id": 100 + n}, "school": dict(mark["school"])}

    assert [m["student"]["id"] for m in json.loads(batch_json("b", made()))["messages"]] == list(range(100, 106))


def test_a_deleted_entry_needs_only_its_id():
    assert errors(wrap("mark", {"id": 5310, "deleted": True})) == []
    assert errors(wrap("lesson", {"id": 880, "deleted": True, "topic": "Дроби"})) == []


def test_the_envelope_carries_the_row_in_utc():
    row = OutboxMessage(id=7, key="ab" * 16, kind="mark", payload={"id": 1, "deleted": True},
                        created_at=dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=3))))
    message = envelope(row, BY_KIND["mark"]["student"], BY_KIND["mark"]["school"])
    assert (message["id"], message["idempotency_key"], message["version"]) == (7, "ab" * 16, SCHEMA_VERSION)
    assert message["created_at"] == "2026-11-20T09:00:00Z"
    assert wrap("mark", {"id": 1, "deleted": True})["created_at"] == "2026-11-20T09:15:00Z"  # naive is UTC
    assert errors(message) == []


# Payloads built from the journal's rows.

@pytest.fixture
def rows(world):
    """One row of every kind families see, about Алексеев of 5А (first quarter of 2026/2027)."""
    kid, teacher, math = world.students["Алексеев"], world.staff["teacher"], world.subjects["math"]
    school = world.school_a
    give_marks(world, kid, [(4, 5)])
    lesson, moved = add_lessons(world, SEPT_8, SEPT_9, topic="Дроби", homework="№ 245", homework_due=SEPT_10)
    english = Subject(school=school, name="Английский язык")
    group = StudyGroup(school=school, class_unit=world.classes["5А"], name="Группа 1", subject=english, students=[kid])
    found = {
        "mark": db.session.scalar(select(Mark)),
        "attendance": Attendance(school=school, lesson=lesson, student=kid, code=AttendanceCode.ill),
        "lesson": lesson,
        "lesson_change": reschedule(moved, SEPT_11, bell_slot(world, 2), "Педагогический совет", "teacher"),
        "timetable": timetable_entry(world, 0),
        "control_work": ControlWorkPlan(school=school, assignment=math_of(world), date=SEPT_10, topic="Числа"),
        "teachers": math_of(world),
        "group_teachers": factories.assign(world.staff["teacher_b"], english, group),
        "holidays": db.session.scalar(select(Holiday)),
        "recommendation": Recommendation(school=school, teacher=teacher, student=kid, text="Повторить", date=SEPT_9),
        "final_grade": FinalGrade(school=school, student=kid, subject=math, period=q1(world), value=FinalValue.four,
                                  status=FinalStatus.final, result_date=dt.date(2026, 10, 25)),
        "deferred_final": FinalGrade(school=school, student=kid, subject=english, period=q1(world),
                                     status=FinalStatus.deferred, deferral_reason="Болезнь",
                                     deferral_deadline=dt.date(2026, 11, 30)),
        "exam_result": ExamResult(school=school, student=kid, kind=ExamKind.competition, name="Олимпиада",
                                  date=SEPT_9, score=34.5, grade="призёр", result_date=SEPT_11),
    }
    db.session.add_all(found.values())
    db.session.commit()
    return found


KINDS_OF_ROWS = {"group_teachers": "teachers", "deferred_final": "final_grade"}
ROW_NAMES = [*ENTITY_KINDS, *KINDS_OF_ROWS]


@pytest.mark.parametrize("name", ROW_NAMES)
def test_every_kind_of_row_gives_a_valid_message(world, rows, name):
    kid = world.students["Алексеев"]
    kind, payload = payloads.describe(rows[name])
    assert kind == KINDS_OF_ROWS.get(name, name)
    assert errors(wrap(kind, payload, kid, kid.school)) == []
    assert payload["id"] == rows[name].id and payload["deleted"] is False
    assert payloads.describe(rows[name], deleted=True) == (kind, {"id": rows[name].id, "deleted": True})
    assert errors(wrap(kind, {"id": rows[name].id, "deleted": True})) == []


def test_payloads_say_what_families_see(world, rows):
    assert payloads.describe(rows["mark"])[1] | {"id": 0, "lesson_id": 0} == {
        "id": 0, "deleted": False, "lesson_id": 0, "date": "2026-09-01", "subject": "Математика",
        "work_type": "Вес 5", "weight": 5, "value": 4, "comment": "", "teacher": "Учителева Анна Петровна",
        "version": 1}
    change = payloads.describe(rows["lesson_change"])[1]
    assert (change["change"], change["old_date"], change["new_date"]) == ("rescheduling", "2026-09-09", "2026-09-11")
    assert (change["old_slot"], change["new_slot"], change["new_teacher"]) == (1, 2, None)
    group = payloads.describe(rows["group_teachers"])[1]
    assert (group["scope"], group["scope_name"]) == ("group", "5А Группа 1")
    final = payloads.describe(rows["final_grade"])[1]
    assert (final["value"], final["period"], final["result_date"]) == ("4", "1 четверть 2026/2027", "2026-10-25")
    lesson = payloads.describe(rows["lesson"])[1]
    assert (lesson["topic"], lesson["homework"], lesson["homework_due"]) == ("Дроби", "№ 245", "2026-09-10")


def test_a_proposed_final_and_foreign_rows_are_not_told(world, rows):
    final = rows["final_grade"]
    final.status = FinalStatus.proposed
    assert payloads.describe(final) is None
    assert payloads.describe(final, deleted=True) is None
    assert payloads.describe(world.students["Алексеев"]) is None


def test_student_school_and_withdrawal_blocks(world):
    kid = world.students["Алексеев"]
    kid.file_number = "А-117"
    assert payloads.student_block(kid) == {"id": kid.id, "file_number": "А-117", "name": "Алексеев Иван Иванович",
                                           "class": "5А"}
    assert payloads.school_block(kid.school) == {"id": kid.school_id, "name": "МБОУ «Школа А»"}
    consent = Consent(decision=Decision.withdrawal, decided_on=dt.date(2026, 12, 10))
    message = wrap("withdrawal", payloads.withdrawal(consent), kid, kid.school)
    assert errors(message) == []
    assert message["payload"]["decided_on"] == "2026-12-10"


def test_a_snapshot_holds_the_students_year_and_is_valid(world, rows):
    kid, other = world.students["Алексеев"], world.students["Борисов"]
    give_marks(world, other, [(2, 1)], start=5)
    add_lessons(world, SEPT_8, cls="5Б")
    as_of = dt.date(2026, 9, 20)
    snap = payloads.snapshot(kid, as_of)
    assert errors(wrap("snapshot", snap, kid, kid.school)) == []
    kinds = Counter(item["kind"] for item in snap["items"])
    assert kinds == {"mark": 1, "attendance": 1, "lesson": 4, "lesson_change": 1, "timetable": 1,
                     "control_work": 1, "teachers": 2, "holidays": 1, "recommendation": 1, "final_grade": 2,
                     "exam_result": 1}
    assert snap["as_of"] == "2026-09-20"
    ids = {(item["kind"], item["payload"]["id"]) for item in snap["items"]}
    assert ("mark", rows["mark"].id) in ids and ("final_grade", rows["deferred_final"].id) in ids
    rows["final_grade"].status = FinalStatus.proposed
    db.session.commit()
    assert ("final_grade", rows["final_grade"].id) not in {
        (i["kind"], i["payload"]["id"]) for i in payloads.snapshot(kid, as_of)["items"]}


def test_a_snapshot_reads_each_kind_of_row_at_once(world, rows):
    kid = world.students["Алексеев"]

    def queries() -> int:
        db.session.expire_all()
        counted = []
        listen = lambda *args: counted.append(1)
        event.listen(db.engine, "before_cursor_execute", listen)
        try:
            payloads.snapshot(kid, dt.date(2026, 9, 20))
        finally:
            event.remove(db.engine, "before_cursor_execute", listen)
        return len(counted)

    before = queries()
    give_marks(world, kid, [(5, 1), (3, 2), (4, 5)], start=10)
    add_lessons(world, dt.date(2026, 9, 15), dt.date(2026, 9, 16), topic="Ещё", homework="№ 1")
    assert queries() == before <= 20


def test_no_year_no_snapshot(world):
    assert payloads.snapshot(world.students["Алексеев"], dt.date(2030, 1, 10)) == {"as_of": "2030-01-10", "items": []}


def test_the_registry_of_message_kinds_builds_exactly_the_schemas_row_kinds():
    """One registry (payloads.KINDS) says how each kind is built, who reads it and what the sync sends."""
    assert sorted(kind.name for kind in payloads.KINDS.values()) == sorted(ENTITY_KINDS)
