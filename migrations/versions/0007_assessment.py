"""assessment rules: unmarked and pass/fail learning per grade and subject

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 20:34:49.095585

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('assessment_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grade', sa.SmallInteger(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('mode', sa.Enum('unmarked', 'pass_fail', name='assessmentmode', native_enum=False, length=12), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], ),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('school_id', 'grade', 'subject_id', name='uq_assessment_rule')
    )
    with op.batch_alter_table('assessment_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_rule_school_id'), ['school_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessment_rule_subject_id'), ['subject_id'], unique=False)



def downgrade():
    with op.batch_alter_table('assessment_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_rule_subject_id'))
        batch_op.drop_index(batch_op.f('ix_assessment_rule_school_id'))

    op.drop_table('assessment_rule')
