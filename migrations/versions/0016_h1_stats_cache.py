"""stats_version: one row holding a random token that database triggers renew on every write to a column the
statistics' results read (app.services.stats_cache keys its cached results by it). Triggers, not a session
hook: raw SQL, COPY, the CLI, another process and later migrations renew it too. A random token, not a
counter: a rolled-back n+1 would come back with other data and make a cached entry stale.

PostgreSQL: one plpgsql function, one statement-level trigger per table (INSERT, UPDATE OF the columns read,
DELETE, TRUNCATE). SQLite (row-level triggers only): one trigger per table and event.
Only the columns read count: the exchange's `published_at` on final grades, for one, changes no figure.

Revision ID: 0016h1
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = '0016h1'
down_revision = '0015'
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
PG_TOKEN = "gen_random_uuid()::text"
SQLITE_TOKEN = "lower(hex(randomblob(16)))"


def _columns(table: str) -> str:
    return ", ".join(f'"{c}"' for c in READ[table])


def upgrade():
    op.create_table('stats_version',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('token', sa.String(length=36), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"INSERT INTO stats_version (id, token) VALUES (1, {PG_TOKEN})")
        op.execute(f"""CREATE FUNCTION stats_version_renew() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN UPDATE stats_version SET token = {PG_TOKEN}; RETURN NULL; END $$""")
        for table in READ:
            op.execute(f"CREATE TRIGGER stats_version_{table} AFTER INSERT OR UPDATE OF {_columns(table)} OR DELETE"
                       f" OR TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION stats_version_renew()")
        return
    op.execute(f"INSERT INTO stats_version (id, token) VALUES (1, {SQLITE_TOKEN})")
    renew = f"BEGIN UPDATE stats_version SET token = {SQLITE_TOKEN}; END"
    for table in READ:
        for event in ("INSERT", "DELETE", f"UPDATE OF {_columns(table)}"):
            name = f"stats_version_{table}_{event.split()[0].lower()}"
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW {renew}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in READ:
            op.execute(f"DROP TRIGGER stats_version_{table} ON {table}")
        op.execute("DROP FUNCTION stats_version_renew()")
    else:
        for table in READ:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER stats_version_{table}_{event}")
    op.drop_table('stats_version')
