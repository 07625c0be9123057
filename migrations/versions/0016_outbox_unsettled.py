"""the outbox's student and school indexes partial on PostgreSQL, over unsettled messages (a generated column
`unsettled`: waiting, failed, or held by a worker's lease): writing the receipt that settles a message then adds
index entries to the primary key and the key only, where it added four, and a claim stays a HOT update — it
changes no indexed value (issue 19). SQLite keeps the two indexes whole, under the new names.

Revision ID: 0016
Revises: 0015
"""
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

UNSETTLED = "status IN ('queued', 'sending', 'failed') OR claimed_until IS NOT NULL"
RENAMED = {"ix_outbox_message_school_id": ("ix_outbox_unsettled_school", "school_id"),
           "ix_outbox_message_student_id": ("ix_outbox_unsettled_student", "student_id")}


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    # SQLite adds only virtual generated columns to a table (as `waiting` in 0015)
    op.execute(f"ALTER TABLE outbox_message ADD COLUMN unsettled BOOLEAN GENERATED ALWAYS AS ({UNSETTLED}) "
               + ("STORED" if postgresql else "VIRTUAL"))
    for old, (name, column) in RENAMED.items():
        op.drop_index(old, table_name='outbox_message')
        if postgresql:
            op.execute(f"CREATE INDEX {name} ON outbox_message ({column}) WHERE unsettled")
        else:
            op.create_index(name, 'outbox_message', [column])


def downgrade():
    for old, (name, column) in RENAMED.items():
        op.drop_index(name, table_name='outbox_message')
        op.create_index(old, 'outbox_message', [column])
    op.drop_column('outbox_message', 'unsettled')
