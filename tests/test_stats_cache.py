"""The statistics' results cache (app.services.stats_cache) is never stale: every table the results read has
the triggers that renew the school's token (compared with the SQL of a results computation), a change of each
table, through the app or by raw SQL on another connection, shows in the next API call and renews its school's
token only, a rolled-back change leaves nothing behind, and a warm call sends only the token's statement
besides the request's own. Writers of two schools do not wait for each other (PostgreSQL)."""
import datetime as dt
import os
import re

import pytest
from flask_appbuilder import Model
from sqlalchemy import create_engine, delete, insert, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import (
    AssessmentMode,
    AssessmentRule,
    ClassUnit,
    Enrolment,
    FinalGrade,
    IndividualPlan,
    Mark,
    Staff,
    StatsVersion,
    Stream,
    StudyGroup,
    Subject,
    TeachingAssignment,
    stream_student,
    study_group_student,
)
from app.services import stats_cache
from app.services.periods import reopen_period
from app.services.stats import Filters, resolve
from tests import factories
from tests.journal_helpers import actor, close_period, period_of, statements
from tests.stats_helpers import build_results, final
from tests.test_journal_save_queries import body as cell
from tests.test_journal_save_queries import journal  # noqa: F401 (a fixture)
from tests.test_stats_queries import RESULTS_STATEMENTS, taught_every_way

pytestmark = pytest.mark.usefixtures("http_today")
POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")

TRIGGER_TABLES = ("assessment_rule", "class_unit", "enrolment", "final_grade", "individual_plan", "staff",
                  "stream_student", "study_group_student", "subject", "teaching_assignment")


def built_every_way(world) -> dict:
    """stats_helpers.build_results and every way of teaching (test_stats_queries.taught_every_way), with the ids
    the changes below need."""
    built = build_results(world)
    taught_every_way(world, built)
    eng = db.session.scalar(select(Subject).where(Subject.school_id == world.school_a.id, Subject.name == "Английский"))
    return {**built, "q1_id": built["q1"].id, "eng": eng.id,
            "group_1": db.session.scalar(select(StudyGroup.id).where(StudyGroup.subject_id == eng.id,
                                                                     StudyGroup.name == "1")),
            "stream": db.session.scalar(select(Stream.id).where(Stream.name == "Шахматный клуб")),
            "plan": db.session.scalar(select(IndividualPlan.id).where(IndividualPlan.school_id == world.school_a.id)),
            "ids": {name: s.id for name, s in world.students.items()}}


def raw_change(table: str, world, b: dict):
    """A statement of `table` that changes the figures of the first quarter of school A."""
    s, a = b["ids"], world.school_a.id
    math, unit, unit_b = world.subjects["math"].id, world.classes["5А"].id, world.classes["5Б"].id
    return {
        "final_grade": update(FinalGrade).where(FinalGrade.student_id == s["Алексеев"], FinalGrade.subject_id == math)
        .values(value="2"),
        "enrolment": update(Enrolment).where(Enrolment.student_id == s["Борисов"]).values(class_unit_id=unit_b),
        "class_unit": update(ClassUnit).where(ClassUnit.id == unit).values(letter="Я"),
        "teaching_assignment": update(TeachingAssignment).where(TeachingAssignment.stream_id == b["stream"])
        .values(teacher_id=world.staff["teacher_b"].id),
        "study_group_student": delete(study_group_student).where(study_group_student.c.group_id == b["group_1"],
                                                                 study_group_student.c.student_id == s["Алексеев"]),
        "stream_student": delete(stream_student).where(stream_student.c.stream_id == b["stream"],
                                                       stream_student.c.student_id == s["Васильев"]),
        "individual_plan": update(IndividualPlan).where(IndividualPlan.id == b["plan"])
        .values(student_id=b["s"][0].id),
        "subject": update(Subject).where(Subject.id == math).values(name="Алгебра"),
        "assessment_rule": insert(AssessmentRule).values(school_id=a, grade=5, subject_id=b["orkse"].id,
                                                         mode=AssessmentMode.unmarked),
        "staff": update(Staff).where(Staff.id == world.staff["teacher_b"].id).values(surname="Новикова"),
    }[table]


def app_change(table: str, world, b: dict, call, client) -> None:
    """The same kind of change through the app: the REST API, or the form of the page."""
    s, math = b["ids"], world.subjects["math"].id
    if table in ("study_group_student", "stream_student"):  # memberships: the group's and the stream's forms
        boris, s2 = s["Борисов"], b["s"][2].id  # Алексеев leaves group 1, Васильев the stream
        url, form = ((f"/studygroupview/edit/{b['group_1']}",
                      {"school": world.school_a.id, "class_unit": world.classes["5А"].id, "name": "1",
                       "subject": b["eng"], "students": [boris]}) if table == "study_group_student" else
                     (f"/streamview/edit/{b['stream']}", {"school": world.school_a.id, "year": world.year_a.id,
                                                         "name": "Шахматный клуб", "students": [s2]}))
        assert client.post(url, data=form).status_code == 302
        return
    if table == "final_grade":
        grade = db.session.scalar(select(FinalGrade).where(FinalGrade.student_id == s["Алексеев"],
                                                           FinalGrade.subject_id == math))
        method, url, body = "put", f"/api/v1/finalgrade/{grade.id}", {"value": "2", "version": grade.version,
                                                                "reason": "Пересмотр по заявлению"}
    elif table == "enrolment":
        enrolment = db.session.scalar(select(Enrolment.id).where(Enrolment.student_id == s["Борисов"]))
        method, url, body = "put", f"/api/v1/enrolment/{enrolment}", {"class_unit": world.classes["5Б"].id}
    elif table == "assessment_rule":
        method, url, body = "post", "/api/v1/assessmentrule/", {
            "school": world.school_a.id, "grade": 5, "subject": b["orkse"].id, "mode": "unmarked"}
    else:
        target, body = {
            "class_unit": (f"classunit/{world.classes['5А'].id}", {"letter": "Я"}),
            "teaching_assignment": (f"teachingassignment/{_stream_assignment(b)}",
                                    {"teacher": world.staff["teacher_b"].id}),
            "individual_plan": (f"individualplan/{b['plan']}", {"student": b["s"][0].id}),
            "subject": (f"subject/{math}", {"name": "Алгебра"}),
            "staff": (f"staff/{world.staff['teacher_b'].id}", {"surname": "Новикова"}),
        }[table]
        method, url = "put", f"/api/v1/{target}"
    response = call("director", method, url, json=body)
    assert response.status_code in (200, 201), response.json


def _stream_assignment(b: dict) -> int:
    return db.session.scalar(select(TeachingAssignment.id).where(TeachingAssignment.stream_id == b["stream"]))


def school_tokens(world) -> dict[str, str | None]:
    """The tokens of school A and school B."""
    return {"A": stats_cache.token(world.school_a.id), "B": stats_cache.token(world.school_b.id)}


def renewed(world, before: dict) -> set[str]:
    """The schools whose token is not what it was (and is there)."""
    return {name for name, token in school_tokens(world).items() if token is None or token != before[name]}


def results_call(call, b: dict):
    """The director's GET /api/v1/stats/results of the first quarter: its body."""
    response = call("director", "get", f"/api/v1/stats/results?period_id={b['q1_id']}")
    assert response.status_code == 200, response.json
    return response.json


def fresh_results(call, b: dict):
    """The same call computed from the data, the cache emptied first."""
    stats_cache.clear()
    return results_call(call, b)


@pytest.mark.parametrize("table", TRIGGER_TABLES)
def test_a_change_through_the_app_shows_in_the_next_call(world, call, login_as, table):
    built = built_every_way(world)
    before = results_call(call, built)
    assert results_call(call, built) == before  # served from the cache
    tokens = school_tokens(world)
    app_change(table, world, built, call, login_as("director"))
    assert renewed(world, tokens) == {"A"}
    after = results_call(call, built)
    assert after != before, "the change changes no figure: it proves nothing"
    assert after == fresh_results(call, built)


def test_a_raw_change_by_another_connection_shows_in_the_next_call(world, call, database_url):
    """Another process's write (raw SQL on a connection of its own, committed), table after table: it renews
    school A's token, not school B's."""
    built = built_every_way(world)
    other = create_engine(database_url)
    stale = []
    try:
        for table in TRIGGER_TABLES:
            before = results_call(call, built)
            tokens = school_tokens(world)
            with other.begin() as conn:
                conn.execute(raw_change(table, world, built))
            db.session.rollback()  # the test's own session: a new transaction sees the other's commit
            after = results_call(call, built)
            if renewed(world, tokens) != {"A"} or after == before or after != fresh_results(call, built):
                stale.append(table)
    finally:
        other.dispose()
    assert stale == []


def test_a_rolled_back_change_leaves_no_stale_entry(world):
    """Change, compute, roll back, another change committed: its figures, not the rolled-back ones (a counter
    token would come back as the same n+1 after the rollback and serve them)."""
    built = built_every_way(world)
    f = Filters(built["q1"])
    before = stats_cache.results(f)
    db.session.execute(raw_change("final_grade", world, built))
    assert stats_cache.results(f) != before
    db.session.rollback()
    assert stats_cache.results(f) == before
    db.session.execute(raw_change("stream_student", world, built))
    db.session.commit()
    changed = stats_cache.results(f)
    stats_cache.clear()
    assert changed == stats_cache.results(f) != before


def test_a_warm_call_reads_only_the_token(world, call):
    built = built_every_way(world)
    stats_cache.clear()
    with statements() as cold:
        body = results_call(call, built)
    with statements() as warm:
        assert results_call(call, built) == body
    tokens = [s for s in warm if "stats_version" in s]
    assert len(tokens) == 1 and len([s for s in cold if "stats_version" in s]) == 1
    assert len(warm) == len(cold) - RESULTS_STATEMENTS, "\n".join(warm)
    assert not any("final_grade" in s for s in warm), "\n".join(warm)


def test_the_frequent_writes_keep_the_cache(world, login_as, journal):  # noqa: F811 (the imported fixture)
    """Signing in, a cell save (marks, audit, outbox) and the portal's receipt of a final (`published_at`, the
    exchange's UPDATE) change nothing the results read: the token stays, the cache keeps serving."""
    q2 = period_of(world.year_a, 2)  # the fixture closed the first quarter
    final(world.students["Борисов"], world.subjects["math"], q2, "4")
    db.session.commit()
    tokens = school_tokens(world)
    teacher = login_as("teacher")
    assert teacher.post("/journal/cell", json=cell(journal, 5)).status_code == 200
    db.session.execute(update(FinalGrade).where(FinalGrade.period_id == q2.id)
                       .values(published_at=dt.datetime(2026, 11, 20, 10)))
    db.session.commit()
    assert db.session.scalar(select(Mark.value).where(Mark.student_id == journal["kid"])) == 5
    assert renewed(world, tokens) == set()


def test_closing_and_reopening_the_period_shows_in_the_next_call(world, call):
    """The period (its title, «closed») is no part of the cached figures: every call adds it from the row the
    request read, so closing and reopening show at once and keep the cache (the figures do not change)."""
    built = built_every_way(world)
    before = results_call(call, built)
    tokens = school_tokens(world)
    close_period(world, 1)
    assert results_call(call, built)["period"]["closed"] is True
    reopen_period(actor("director"), built["q1_id"], "Исправление итоговой отметки")
    db.session.commit()
    after = results_call(call, built)
    assert before["period"]["closed"] is after["period"]["closed"] is False
    assert after == before and renewed(world, tokens) == set()


# ---- one token per school -------------------------------------------------------------------------------------

def test_each_kind_of_write_renews_the_schools_of_its_rows_only(world):
    """An insert, an update that changes no column read (none), one moving the row to the other school (both),
    a delete; a membership deleted with its group (found through the student); a new school has its token."""
    a, b, q1 = world.school_a.id, world.school_b.id, period_of(world.year_a, 1)
    made = {}  # the rows, made in their step (a token read before would flush them)

    def grade():
        return FinalGrade.id == made["grade"].id

    steps = [
        ("insert", lambda: made.update(grade=final(world.students["Алексеев"], world.subjects["math"], q1, "4")),
         {"A"}),
        ("no change", lambda: db.session.execute(update(FinalGrade).where(grade()).values(
            value=FinalGrade.value, published_at=dt.datetime(2026, 11, 20, 10))), set()),
        ("moved", lambda: db.session.execute(update(FinalGrade).where(grade()).values(school_id=b)), {"A", "B"}),
        ("delete", lambda: db.session.execute(delete(FinalGrade).where(grade())), {"B"}),
        ("group added", lambda: db.session.add(made.setdefault("group", StudyGroup(
            school_id=a, class_unit_id=world.classes["5А"].id, name="Кружок", students=[world.students["Борисов"]]))),
         {"A"}),
        ("group deleted", lambda: db.session.execute(delete(StudyGroup).where(StudyGroup.id == made["group"].id)),
         {"A"}),
    ]
    seen = {}
    for name, write, expected in steps:
        tokens = school_tokens(world)
        write()
        db.session.flush()
        seen[name] = (renewed(world, tokens), expected)
    assert {name: got for name, (got, expected) in seen.items() if got != expected} == {}
    assert stats_cache.token(factories.school("Школа В").id) is not None


def test_a_school_without_a_token_is_computed_every_time(world):
    """No row: no token to key by, so nothing is cached (the data may have changed since any fixed value)."""
    built = built_every_way(world)
    db.session.execute(delete(StatsVersion).where(StatsVersion.school_id == world.school_a.id))
    stats_cache.clear()
    f = Filters(built["q1"])
    for _ in range(2):
        with statements() as seen:
            figures = stats_cache.results(f)
        assert any("final_grade" in s for s in seen), "\n".join(seen)
    stats_cache.clear()
    assert figures == stats_cache.stats.results(f) | {"period": figures["period"], "filters": figures["filters"]}


def test_the_migration_gives_every_existing_school_its_token(tmp_path):
    """0017 on a database with schools (and their data, written before any trigger): each has a row, so the
    cache keys their results by a token no earlier figures were cached under."""
    from tests.test_migrations import _app

    app = _app(f"sqlite:///{tmp_path}/legacy.db")
    with app.app_context():
        runner = app.test_cli_runner()
        assert runner.invoke(args=["db", "upgrade", "0015"]).exit_code == 0
        with db.engine.begin() as conn:
            for n in (1, 2):
                conn.execute(text("INSERT INTO school (id, full_name, short_name, address, director,"
                                  " study_days_per_week) VALUES (:n, :name, :name, '', '', 5)"),
                             {"n": n, "name": f"Школа {n}"})
        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        with db.engine.connect() as conn:  # the migrated file's (db.session is the test's own)
            tokens = dict(conn.execute(select(StatsVersion.school_id, StatsVersion.token)).tuples().all())
        db.engine.dispose()
    assert set(tokens) == {1, 2} and len(set(tokens.values())) == 2


@pytest.mark.skipif(not POSTGRES, reason="row locks of concurrent transactions: PostgreSQL")
@pytest.mark.commits
def test_writers_of_two_schools_do_not_wait_for_each_other(app, world):
    """School A's finals written, its transaction open: school B's finals are written and committed at once
    (a lock_timeout fails a regression fast); another write of school A's data waits for A's token."""
    a, b = world.school_a.id, world.school_b.id
    final(world.students["Алексеев"], world.subjects["math"], period_of(world.year_a, 1), "4")
    final(world.students["Гаврилов"], world.subjects["math_b"], period_of(world.year_b, 1), "4")
    db.session.commit()
    with db.engine.connect() as first, db.engine.connect() as second:
        writer_a, writer_b = Session(bind=first), Session(bind=second)
        try:
            writer_a.execute(update(FinalGrade).where(FinalGrade.school_id == a).values(value="5"))
            writer_b.execute(text("SET LOCAL lock_timeout = '2s'"))
            writer_b.execute(update(FinalGrade).where(FinalGrade.school_id == b).values(value="3"))
            writer_b.commit()  # not blocked by school A's open transaction
            writer_b.execute(text("SET LOCAL lock_timeout = '300ms'"))
            with pytest.raises(OperationalError, match="lock timeout"):
                writer_b.execute(update(Subject).where(Subject.id == world.subjects["math"].id).values(name="Алгебра"))
            writer_b.rollback()
            writer_a.commit()
        finally:
            writer_a.close()
            writer_b.close()
    db.session.rollback()
    assert dict(db.session.execute(select(FinalGrade.school_id, FinalGrade.value)).tuples().all()) == {a: "5", b: "3"}


# ---- the triggers cover exactly what the results read ----------------------------------------------------------

# table.column; a table's numbered alias (`enrolment_1.`) counts as the table
QUALIFIED = re.compile(r'\b([a-z_]+?)(?:_\d+)?\."?([a-z_]+)"?')
FROM = re.compile(r'\b(?:FROM|JOIN)\s+"?([a-z_]+)"?')


def read_by_results(world, built) -> dict[str, set[str]]:
    """Table → columns in the SQL of the results, over every filter (class, grade, subject, teacher)."""
    q1, tables, scope = built["q1_id"], set(Model.metadata.tables), actor("director").scope
    variants = [resolve(scope, q1, **narrowed) for narrowed in (
        {}, {"class_id": world.classes["5А"].id}, {"grade": 5}, {"subject_id": world.subjects["math"].id},
        {"teacher_id": world.staff["teacher_b"].id})]  # as a request resolves them (the period's year loaded)
    stats_cache.clear()
    with statements() as seen:
        for f in variants:
            stats_cache.stats.results(f)
    read: dict[str, set[str]] = {}
    for sql in seen:
        for table in FROM.findall(sql):
            if table in tables:
                read.setdefault(table, set())
        for table, column in QUALIFIED.findall(sql):
            if table in tables:
                read.setdefault(table, set()).add(column)
    return read


def triggers() -> dict[str, dict]:
    """Table → {"events": the events that renew the token, "columns": those of its UPDATE OF}, from the
    database's catalogue."""
    found: dict[str, dict] = {}
    if db.engine.dialect.name == "postgresql":
        rows = db.session.execute(text(
            "SELECT c.relname, pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE NOT t.tgisinternal AND pg_get_triggerdef(t.oid) LIKE '%stats_version_renew_%'")).all()
    else:
        rows = db.session.execute(text("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"
                                       " AND sql LIKE '%INSERT INTO stats_version%' AND tbl_name <> 'school'")).all()
    for table, sql in rows:
        entry = found.setdefault(table, {"events": set(), "columns": set()})
        head = sql.split(" ON ")[0]
        entry["events"] |= set(re.findall(r"\b(INSERT|UPDATE|DELETE|TRUNCATE)\b", head))
        of = re.search(r"UPDATE OF (.*)$", head)
        if of:
            entry["columns"] |= {c.strip().strip('"') for c in of.group(1).split(" OR ")[0].split(",")}
    return found


def test_the_triggers_cover_exactly_what_the_results_read(world):
    read = read_by_results(world, built_every_way(world))
    present = triggers()
    assert set(present) == set(read) == set(TRIGGER_TABLES)
    events = {"INSERT", "UPDATE", "DELETE"} | ({"TRUNCATE"} if db.engine.dialect.name == "postgresql" else set())
    assert {table: t["events"] for table, t in present.items()} == {table: events for table in read}
    assert {table: t["columns"] for table, t in present.items()} == read
