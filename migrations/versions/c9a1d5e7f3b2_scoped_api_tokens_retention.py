"""scoped API tokens; processed messages indexed by age for the retention purge

Revision ID: c9a1d5e7f3b2
Revises: d10a7c3e5b21
Create Date: 2026-11-30 20:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'c9a1d5e7f3b2'
down_revision: Union[str, Sequence[str], None] = 'd10a7c3e5b21'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Tokens made before scopes existed keep reading everything, without contact fields.
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('community_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('grid_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('contacts', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_foreign_key('fk_api_token_community_id_community', 'community', ['community_id'], ['id'])
        batch_op.create_foreign_key('fk_api_token_grid_id_grid', 'grid', ['grid_id'], ['id'])
    op.create_index('ix_processed_message_created_at', 'processed_message', ['created_at'])


def downgrade() -> None:
    op.drop_index('ix_processed_message_created_at', table_name='processed_message')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_constraint('fk_api_token_grid_id_grid', type_='foreignkey')
        batch_op.drop_constraint('fk_api_token_community_id_community', type_='foreignkey')
        batch_op.drop_column('contacts')
        batch_op.drop_column('grid_id')
        batch_op.drop_column('community_id')
