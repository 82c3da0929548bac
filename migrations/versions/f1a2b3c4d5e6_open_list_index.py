"""open list index: a community's published wishes, most urgent first (心愿列表), as a partial
index both databases use for the page and its count

Revision ID: f1a2b3c4d5e6
Revises: e7f8a9b0c1d2
Create Date: 2026-12-01 06:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'f1a2b3c4d5e6'
down_revision: Union[str, Sequence[str], None] = 'e7f8a9b0c1d2'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PUBLISHED = sa.text("status = 'published'")


def upgrade() -> None:
    op.create_index('ix_wish_open_list', 'wish', ['community_id', sa.text('urgency DESC'), 'id'],
                    sqlite_where=PUBLISHED, postgresql_where=PUBLISHED)


def downgrade() -> None:
    op.drop_index('ix_wish_open_list', table_name='wish')
