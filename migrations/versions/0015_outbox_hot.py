"""the outbox's waiting index keyed on a generated column `waiting` (status queued or sending) and the table
filled to half a page on PostgreSQL: claiming a message (queued → sending) changes no indexed value, so
PostgreSQL writes it as a HOT update on the same page instead of a new entry in every index (issue 19)

Revision ID: 0015
Revises: 0014
"""
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

WAITING = "status IN ('queued', 'sending')"


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE outbox_message ADD COLUMN waiting BOOLEAN GENERATED ALWAYS AS ({WAITING}) STORED")
        op.drop_index('ix_outbox_waiting', table_name='outbox_message')
        op.execute("CREATE INDEX ix_outbox_waiting ON outbox_message (id) WHERE waiting")
        op.execute("ALTER TABLE outbox_message SET (fillfactor = 50)")
    else:  # SQLite adds only virtual generated columns to a table; it has no HOT updates to win anyway
        op.execute(f"ALTER TABLE outbox_message ADD COLUMN waiting BOOLEAN GENERATED ALWAYS AS ({WAITING}) VIRTUAL")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE outbox_message RESET (fillfactor)")
        op.drop_index('ix_outbox_waiting', table_name='outbox_message')
        op.execute(f"CREATE INDEX ix_outbox_waiting ON outbox_message (id) WHERE {WAITING}")
    op.drop_column('outbox_message', 'waiting')
