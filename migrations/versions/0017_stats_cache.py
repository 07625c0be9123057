"""stats_version: one row per school holding a random token that database triggers renew on every write to a
column the statistics' results read, in that school (app.services.stats_cache keys its cached results by the
period's school's token). Triggers, not a session hook: raw SQL, COPY, the CLI, another process and later
migrations renew it too. A random token, not a counter: a rolled-back n+1 would come back with other data.
Per school: a writer locks its own school's row until commit, never another school's (issue 19 removed the
one global audit lock; a global token row would have brought one back).

PostgreSQL renews on INSERT and DELETE once per statement and school (statement-level triggers reading the
statement's rows: a COPY of a school's finals renews it once), on UPDATE per row. Row-level triggers renew the
school of the row (NEW's and OLD's when a row moves); the memberships without a
school (study_group_student, stream_student) find it through their group / stream, or the student when the
group is being deleted; a row whose school cannot be found renews every school (never stale). An UPDATE that
changes no column read fires nothing (WHEN … IS DISTINCT FROM). TRUNCATE (PostgreSQL) renews every school.
Every existing school gets its row here, a new school by the trigger on `school`; a reader finding no row
computes uncached (app.services.stats_cache), so a missing row is never served stale.
Only the columns read count: the exchange's `published_at` on final grades, for one, changes no figure.

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

# Every table app.services.stats.results() reads, with the columns it reads (tests/test_stats_cache.py
# compares this with the SQL of a results computation).
READ = {
    "assessment_rule": ("school_id", "grade", "subject_id", "mode"),
    "class_unit": ("id", "school_id", "year_id", "grade", "letter", "period_kind"),
    "enrolment": ("school_id", "student_id", "class_unit_id", "start", "end"),
    "final_grade": ("school_id", "period_id", "student_id", "subject_id", "status", "value"),
    "individual_plan": ("id", "student_id"),
    "staff": ("id", "school_id", "surname", "name", "patronymic"),
    "stream_student": ("stream_id", "student_id"),
    "study_group_student": ("group_id", "student_id"),
    "subject": ("id", "school_id", "name", "pass_fail"),
    "teaching_assignment": ("school_id", "year_id", "teacher_id", "subject_id", "class_unit_id", "group_id",
                            "stream_id", "plan_id"),
}
# The school of a row ({r}: NEW or OLD) of a table without a school_id of its own.
OWNER = {
    "stream_student": "COALESCE((SELECT school_id FROM stream WHERE id = {r}.stream_id),"
                      " (SELECT school_id FROM student WHERE id = {r}.student_id))",
    "study_group_student": "COALESCE((SELECT school_id FROM study_group WHERE id = {r}.group_id),"
                           " (SELECT school_id FROM student WHERE id = {r}.student_id))",
}
PG_TOKEN = "gen_random_uuid()::text"
SQLITE_TOKEN = "lower(hex(randomblob(16)))"


def _school(table: str, row: str) -> str:
    return OWNER.get(table, "{r}.school_id").format(r=row)


def _columns(table: str) -> str:
    return ", ".join(f'"{c}"' for c in READ[table])


def _changed(table: str) -> str:
    """The WHEN of an UPDATE trigger: a column read has another value."""
    return " OR ".join(f'OLD."{c}" IS DISTINCT FROM NEW."{c}"' for c in READ[table])


# The school's lock of the audit chain (app.services.audit.CHAIN_LOCK), taken before its token's row: a school's
# writers take the two in one order, whether they write through a flush (which takes it first) or not.
SCHOOL_LOCK = "PERFORM pg_advisory_xact_lock(7152009, s);"


def _pg_renew(school: str) -> str:
    """plpgsql: renew the token of the school `school` (an expression), or of every school if it is NULL."""
    assign = "" if school == "s" else f"s := {school}; "
    return (f"{assign}IF s IS NULL THEN UPDATE stats_version SET token = {PG_TOKEN};"
            f" ELSE {SCHOOL_LOCK} INSERT INTO stats_version (school_id, token) VALUES (s, {PG_TOKEN})"
            f" ON CONFLICT (school_id) DO UPDATE SET token = EXCLUDED.token; END IF;")


def _pg_function(table: str) -> str:
    new, old = _school(table, "NEW"), _school(table, "OLD")
    return f"""CREATE FUNCTION stats_version_renew_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE s integer; t integer;
BEGIN
  IF TG_OP <> 'DELETE' THEN {_pg_renew(new)} t := s; END IF;
  IF TG_OP <> 'INSERT' THEN
    s := {old};
    IF TG_OP = 'DELETE' OR s IS DISTINCT FROM t THEN {_pg_renew('s')} END IF;
  END IF;
  RETURN NULL;
END $$"""


def _pg_rows_function(table: str) -> str:
    """plpgsql of the statement-level INSERT and DELETE triggers: renew the schools of the statement's rows
    (its transition table `changed`) once each — a bulk load (COPY) renews a school once, not once a row."""
    school = _school(table, "changed")
    return f"""CREATE FUNCTION stats_version_renew_{table}_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE s integer;
BEGIN
  IF EXISTS (SELECT 1 FROM changed WHERE ({school}) IS NULL) THEN
    UPDATE stats_version SET token = {PG_TOKEN};
  ELSE
    FOR s IN SELECT DISTINCT {school} AS school FROM changed ORDER BY 1 LOOP {SCHOOL_LOCK} END LOOP;
    INSERT INTO stats_version (school_id, token)
      SELECT school, {PG_TOKEN} FROM (SELECT DISTINCT {school} AS school FROM changed) schools ORDER BY school
      ON CONFLICT (school_id) DO UPDATE SET token = EXCLUDED.token;
  END IF;
  RETURN NULL;
END $$"""


def _upgrade_postgresql() -> None:
    op.execute(f"INSERT INTO stats_version (school_id, token) SELECT id, {PG_TOKEN} FROM school")
    op.execute(f"""CREATE FUNCTION stats_version_renew_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN UPDATE stats_version SET token = {PG_TOKEN}; RETURN NULL; END $$""")
    op.execute(f"""CREATE FUNCTION stats_version_new_school() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO stats_version (school_id, token) VALUES (NEW.id, {PG_TOKEN})
  ON CONFLICT (school_id) DO UPDATE SET token = EXCLUDED.token; RETURN NULL; END $$""")
    op.execute("CREATE TRIGGER stats_version_school AFTER INSERT ON school FOR EACH ROW"
               " EXECUTE FUNCTION stats_version_new_school()")
    for table in READ:
        op.execute(_pg_function(table))
        op.execute(_pg_rows_function(table))
        for event, rows in (("insert", "NEW"), ("delete", "OLD")):
            op.execute(f"CREATE TRIGGER stats_version_{table}_{event} AFTER {event.upper()} ON {table}"
                       f" REFERENCING {rows} TABLE AS changed FOR EACH STATEMENT"
                       f" EXECUTE FUNCTION stats_version_renew_{table}_rows()")
        op.execute(f"CREATE TRIGGER stats_version_{table}_update AFTER UPDATE OF {_columns(table)} ON {table}"
                   f" FOR EACH ROW WHEN ({_changed(table)}) EXECUTE FUNCTION stats_version_renew_{table}()")
        op.execute(f"CREATE TRIGGER stats_version_{table}_truncate AFTER TRUNCATE ON {table}"
                   f" FOR EACH STATEMENT EXECUTE FUNCTION stats_version_renew_all()")


def _sqlite_renew(school: str, when: str = "1") -> str:
    """SQLite: if `when`, renew the token of the school `school` (an expression), or of every school if it is
    NULL."""
    return (f"INSERT INTO stats_version (school_id, token) SELECT {school}, {SQLITE_TOKEN}"
            f" WHERE {when} AND {school} IS NOT NULL ON CONFLICT (school_id) DO UPDATE SET token = excluded.token;"
            f" UPDATE stats_version SET token = {SQLITE_TOKEN} WHERE {when} AND {school} IS NULL;")


def _upgrade_sqlite() -> None:
    op.execute(f"INSERT INTO stats_version (school_id, token) SELECT id, {SQLITE_TOKEN} FROM school")
    op.execute(f"CREATE TRIGGER stats_version_school AFTER INSERT ON school FOR EACH ROW BEGIN"
               f" {_sqlite_renew('NEW.id')} END")
    for table in READ:
        new, old = _school(table, "NEW"), _school(table, "OLD")
        op.execute(f"CREATE TRIGGER stats_version_{table}_insert AFTER INSERT ON {table} FOR EACH ROW BEGIN"
                   f" {_sqlite_renew(new)} END")
        op.execute(f"CREATE TRIGGER stats_version_{table}_delete AFTER DELETE ON {table} FOR EACH ROW BEGIN"
                   f" {_sqlite_renew(old)} END")
        changed = _changed(table).replace("IS DISTINCT FROM", "IS NOT")
        op.execute(f"CREATE TRIGGER stats_version_{table}_update AFTER UPDATE OF {_columns(table)} ON {table}"
                   f" FOR EACH ROW WHEN {changed} BEGIN {_sqlite_renew(new)} {_sqlite_renew(old, f'{old} IS NOT {new}')}"
                   f" END")


def upgrade():
    op.create_table('stats_version',
                    sa.Column('school_id', sa.Integer(), autoincrement=False, nullable=False),
                    sa.Column('token', sa.String(length=36), nullable=False),
                    sa.PrimaryKeyConstraint('school_id'))
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in READ:
        for event in ("insert", "delete", "update") + (("truncate",) if postgresql else ()):
            op.execute(f"DROP TRIGGER stats_version_{table}_{event}" + (f" ON {table}" if postgresql else ""))
        if postgresql:
            op.execute(f"DROP FUNCTION stats_version_renew_{table}()")
            op.execute(f"DROP FUNCTION stats_version_renew_{table}_rows()")
    op.execute("DROP TRIGGER stats_version_school" + (" ON school" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION stats_version_renew_all()")
        op.execute("DROP FUNCTION stats_version_new_school()")
    op.drop_table('stats_version')
