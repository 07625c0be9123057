"""the outbox archive: accepted messages moved out of the job's table by `exchange prune`

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'outbox_archive',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('key', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('student_id', sa.Integer(), nullable=False),
        sa.Column('entity', sa.String(length=40), nullable=False),
        sa.Column('entity_id', sa.Integer(), nullable=True),
        sa.Column('entity_version', sa.Integer(), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('worker', sa.String(length=60), nullable=False),
        sa.Column('accepted_at', sa.DateTime(), nullable=False),
        sa.Column('archived_at', sa.DateTime(), nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['school_id'], ['school.id'], ),
        sa.ForeignKeyConstraint(['student_id'], ['student.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
    )
    with op.batch_alter_table('outbox_archive', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_archive_accepted_at'), ['accepted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_archive_school_id'), ['school_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_archive_student_id'), ['student_id'], unique=False)


def downgrade():
    with op.batch_alter_table('outbox_archive', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_archive_student_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_archive_school_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_archive_accepted_at'))
    op.drop_table('outbox_archive')
