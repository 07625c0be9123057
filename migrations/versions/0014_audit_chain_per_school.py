"""the audit chain per school: the head of a school's chain found by an index (school_id, id), and the id
from which events are chained per school (the trail written before stays one chain and verifies as such)

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_audit_event_school_id_id', 'audit_event', ['school_id', 'id'])
    op.create_table(
        'audit_chain_start',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('per_school_from', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.execute("INSERT INTO audit_chain_start (id, per_school_from) "
               "SELECT 1, COALESCE(MAX(id), 0) + 1 FROM audit_event")


def downgrade():
    op.drop_table('audit_chain_start')
    op.drop_index('ix_audit_event_school_id_id', table_name='audit_event')
