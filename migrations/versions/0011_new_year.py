"""the next school year: a closed (read-only) academic year and the promotion decisions of its students

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('academic_year') as batch_op:
        batch_op.add_column(sa.Column('closed', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        'promotion_decision',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('year_id', sa.Integer(), nullable=False),
        sa.Column('student_id', sa.Integer(), nullable=False),
        sa.Column('class_unit_id', sa.Integer(), nullable=False),
        sa.Column('next_class_id', sa.Integer(), nullable=True),
        sa.Column('outcome', sa.Enum('promoted', 'conditional', 'retained', 'graduated', 'left',
                                     name='promotionoutcome', native_enum=False, length=16), nullable=False),
        sa.Column('owed', sa.String(length=500), nullable=False),
        sa.Column('decided_on', sa.Date(), nullable=False),
        sa.Column('decided_by', sa.String(length=100), nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['class_unit_id'], ['class_unit.id']),
        sa.ForeignKeyConstraint(['next_class_id'], ['class_unit.id']),
        sa.ForeignKeyConstraint(['school_id'], ['school.id']),
        sa.ForeignKeyConstraint(['student_id'], ['student.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['year_id'], ['academic_year.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('year_id', 'student_id', name='uq_promotion_decision'),
    )
    with op.batch_alter_table('promotion_decision') as batch_op:
        batch_op.create_index('ix_promotion_decision_year_id', ['year_id'])
        batch_op.create_index('ix_promotion_decision_student_id', ['student_id'])
        batch_op.create_index('ix_promotion_decision_class_unit_id', ['class_unit_id'])
        batch_op.create_index('ix_promotion_decision_school_id', ['school_id'])


def downgrade():
    op.drop_table('promotion_decision')
    with op.batch_alter_table('academic_year') as batch_op:
        batch_op.drop_column('closed')
