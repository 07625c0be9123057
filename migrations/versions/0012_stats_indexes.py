"""statistics: the school's final finals of a period in one covering index (school, period, status, then
the student, subject and value the results count), so every results query reads only that school's period

Revision ID: 0012
Revises: 0011
"""
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_final_grade_school_period', 'final_grade',
                    ['school_id', 'period_id', 'status', 'student_id', 'subject_id', 'value'])


def downgrade():
    op.drop_index('ix_final_grade_school_period', table_name='final_grade')
