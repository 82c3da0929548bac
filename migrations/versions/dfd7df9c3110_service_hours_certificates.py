"""service hours and certificates

Revision ID: dfd7df9c3110
Revises: b3c9d2e4f5a6
Create Date: 2026-11-30 19:55:55.676642

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'dfd7df9c3110'
down_revision: Union[str, Sequence[str], None] = 'b3c9d2e4f5a6'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table("certificate",
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('services', sa.Integer(), nullable=False),
    sa.Column('hours', sa.Float(), nullable=False),
    sa.Column('lines_json', sa.Text(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_certificate_community_id_community')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['person.id'], name=op.f('fk_certificate_issued_by_id_person')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_certificate_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate')),
    sa.UniqueConstraint('number', name=op.f('uq_certificate_number'))
    )
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_person_id'), ['person_id'], unique=False)

    # SQLite adds plain columns in place; recreating `claim` in batch mode could lose the
    # partial unique index on active claims. PostgreSQL gets the foreign keys as well.
    postgres = op.get_bind().dialect.name == "postgresql"
    for name in ("hours_recorded_by_id", "hours_verified_by_id"):
        foreign = [sa.ForeignKey("person.id", name=f"fk_claim_{name}_person")] if postgres else []
        op.add_column("claim", sa.Column(name, sa.Integer(), *foreign, nullable=True))
    op.add_column("claim", sa.Column("hours", sa.Float(), nullable=True))
    op.add_column("claim", sa.Column("hours_recorded_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("claim", sa.Column("hours_verified_at", sa.DateTime(timezone=True), nullable=True))
    # Services of wishes confirmed before hours existed were verified by that confirmation.
    op.execute("""
        UPDATE claim SET
            hours_verified_at = (SELECT wish.confirmed_at FROM wish WHERE wish.id = claim.wish_id),
            hours_verified_by_id = (SELECT wish.confirmed_by_id FROM wish WHERE wish.id = claim.wish_id)
        WHERE status = 'completed'
          AND wish_id IN (SELECT id FROM wish WHERE status = 'confirmed')
    """)


def downgrade() -> None:
    for name in ("hours_verified_at", "hours_verified_by_id", "hours_recorded_at", "hours_recorded_by_id", "hours"):
        op.drop_column("claim", name)  # drops its foreign key with it on PostgreSQL; SQLite 3.35+

    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_person_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_community_id'))

    op.drop_table('certificate')
