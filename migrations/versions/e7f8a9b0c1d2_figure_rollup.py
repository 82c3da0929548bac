"""figure roll-up: counts per month, area, category and member for the figures page, and what
was counted of each wish and claim, built by the clock; wish_event.created_at indexed (what
changed since the clock's last look); verified service claims by when they ended; on
PostgreSQL the durations to claim and to complete by bucket (the medians of all months)

Revision ID: e7f8a9b0c1d2
Revises: d5e6f7a8b9c0
Create Date: 2026-12-01 03:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'e7f8a9b0c1d2'
down_revision: Union[str, Sequence[str], None] = 'd5e6f7a8b9c0'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'figure_tally',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('community_id', sa.Integer(), nullable=False),
        sa.Column('grid_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=20), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_figure_tally')),
    )
    op.create_index('ix_figure_tally_area', 'figure_tally', ['community_id', 'grid_id'])
    op.create_index('ix_figure_tally_month_kind', 'figure_tally', ['month', 'kind'])
    op.create_table(
        'figure_sum',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('category', sa.String(length=20), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_figure_sum')),
    )
    op.create_index('ix_figure_sum_kind_month', 'figure_sum', ['kind', 'month'])
    op.create_table(
        'figure_wish',
        sa.Column('wish_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('community_id', sa.Integer(), nullable=False),
        sa.Column('grid_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=20), nullable=False),
        sa.Column('collected', sa.String(length=7), nullable=True),
        sa.Column('published', sa.String(length=7), nullable=True),
        sa.Column('claimed', sa.String(length=7), nullable=True),
        sa.Column('completed', sa.String(length=7), nullable=True),
        sa.Column('confirmed', sa.String(length=7), nullable=True),
        sa.Column('to_claim', sa.Integer(), nullable=True),
        sa.Column('to_complete', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('wish_id', name=op.f('pk_figure_wish')),
    )
    op.create_table(
        'figure_claim',
        sa.Column('claim_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('wish_id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('taken', sa.String(length=7), nullable=True),
        sa.Column('done', sa.String(length=7), nullable=True),
        sa.PrimaryKeyConstraint('claim_id', name=op.f('pk_figure_claim')),
    )
    op.create_index('ix_figure_claim_wish_id', 'figure_claim', ['wish_id'])
    op.create_table(
        'figure_state',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('max_wish_id', sa.Integer(), nullable=False),
        sa.Column('rebuilt_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_figure_state')),
    )
    op.create_index('ix_wish_event_created_at', 'wish_event', ['created_at'])
    verified = sa.text("status = 'completed' AND hours_verified_at IS NOT NULL")
    op.create_index('ix_claim_verified_ended_at', 'claim', ['ended_at'], sqlite_where=verified,
                    postgresql_where=verified)
    if op.get_bind().dialect.name == "postgresql":
        # The medians of all months: a duration's bucket, then the duration (bot.rollup.DURATIONS).
        for name, start, end in (("to_claim", "published_at", "claimed_at"),
                                 ("to_complete", "claimed_at", "completed_at")):
            seconds = f"CAST(EXTRACT(epoch FROM {end} - {start}) AS FLOAT)"
            op.execute(f"CREATE INDEX ix_wish_{name}_seconds ON wish "
                       f"((CAST(floor(ln(greatest({seconds}, 0) + 1) * 64) AS INTEGER)), ({seconds})) "
                       f"WHERE {start} IS NOT NULL AND {end} IS NOT NULL")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_wish_to_claim_seconds")
        op.execute("DROP INDEX ix_wish_to_complete_seconds")
    op.drop_index('ix_claim_verified_ended_at', table_name='claim')
    op.drop_index('ix_wish_event_created_at', table_name='wish_event')
    op.drop_table('figure_state')
    op.drop_index('ix_figure_claim_wish_id', table_name='figure_claim')
    op.drop_table('figure_claim')
    op.drop_table('figure_wish')
    op.drop_index('ix_figure_sum_kind_month', table_name='figure_sum')
    op.drop_table('figure_sum')
    op.drop_index('ix_figure_tally_month_kind', table_name='figure_tally')
    op.drop_index('ix_figure_tally_area', table_name='figure_tally')
    op.drop_table('figure_tally')
