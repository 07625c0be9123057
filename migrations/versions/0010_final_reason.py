"""final grades: the recorded reason of a final set before finals open or on too few marks

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('final_grade') as batch_op:
        batch_op.add_column(sa.Column('decision_reason', sa.String(length=300), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('final_grade') as batch_op:
        batch_op.drop_column('decision_reason')
