"""wish drafts: what someone said they need while the bot asks community, grid or 是

Revision ID: d10a7c3e5b21
Revises: d4e5f6a7b8c9
Create Date: 2026-11-30 20:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'd10a7c3e5b21'
down_revision: Union[str, Sequence[str], None] = 'd4e5f6a7b8c9'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'wish_draft',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('step', sa.String(length=16), nullable=False),
        sa.Column('community_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_wish_draft_community_id_community')),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_wish_draft_person_id_person')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_wish_draft')),
        sa.UniqueConstraint('person_id', name=op.f('uq_wish_draft_person_id')),
    )


def downgrade() -> None:
    op.drop_table('wish_draft')
