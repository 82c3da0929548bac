"""export jobs: large exports made in the background, with progress and a file per login

Revision ID: d5e6f7a8b9c0
Revises: a7e13c5d9f01
Create Date: 2026-11-30 20:10:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'd5e6f7a8b9c0'
down_revision: Union[str, Sequence[str], None] = 'a7e13c5d9f01'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'export_job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('staff_user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('params', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('rows_total', sa.Integer(), nullable=False),
        sa.Column('rows_done', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=128), nullable=True),
        sa.Column('error', sa.String(length=500), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['staff_user_id'], ['staff_user.id'], name=op.f('fk_export_job_staff_user_id_staff_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_export_job')),
    )
    op.create_index('ix_export_job_staff_user_id', 'export_job', ['staff_user_id'])


def downgrade() -> None:
    op.drop_index('ix_export_job_staff_user_id', 'export_job')
    op.drop_table('export_job')
