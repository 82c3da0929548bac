"""indexes for a city's history: the stage timestamps, claims by date and unit, people by
community, notices by fallback, and trigram text search on PostgreSQL

Revision ID: a7e13c5d9f01
Revises: c4d5e6f7a8b9
Create Date: 2026-11-30 20:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'a7e13c5d9f01'
down_revision: Union[str, Sequence[str], None] = 'c4d5e6f7a8b9'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PLAIN = (  # table, column
    ('wish', 'created_at'), ('wish', 'published_at'), ('wish', 'claimed_at'),
    ('wish', 'completed_at'), ('wish', 'confirmed_at'),
    ('claim', 'created_at'), ('claim', 'ended_at'),
    ('person', 'community_id'), ('person', 'grid_id'),
    ('notice', 'fallback_for_id'), ('notice', 'created_at'),
)
TRIGRAM = (('wish', 'content'), ('person', 'name'))  # what the ledger's text search looks in
ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    for table, column in PLAIN:
        op.create_index(f'ix_{table}_{column}', table, [column])
    # The ledger's unit filter reads (unit, status, wish) from the index alone.
    op.create_index('ix_claim_unit_id_status_wish_id', 'claim', ['unit_id', 'status', 'wish_id'])
    # An area's wishes in id order: a community's or grid's ledger export walks these.
    op.create_index('ix_wish_community_id_id', 'wish', ['community_id', 'id'])
    op.create_index('ix_wish_grid_id_id', 'wish', ['grid_id', 'id'])
    # The sweeps look only at active claims, by age.
    op.create_index('ix_claim_active_created_at', 'claim', ['created_at'],
                    sqlite_where=ACTIVE, postgresql_where=ACTIVE)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        for table, column in TRIGRAM:
            op.execute(f'CREATE INDEX ix_{table}_{column}_trgm ON {table} USING gin ({column} gin_trgm_ops)')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table, column in TRIGRAM:
            op.execute(f'DROP INDEX IF EXISTS ix_{table}_{column}_trgm')
    op.drop_index('ix_claim_active_created_at', 'claim')
    op.drop_index('ix_claim_unit_id_status_wish_id', 'claim')
    op.drop_index('ix_wish_grid_id_id', 'wish')
    op.drop_index('ix_wish_community_id_id', 'wish')
    for table, column in PLAIN:
        op.drop_index(f'ix_{table}_{column}', table)
