"""per-channel identities, the customer-service window, template notices

Revision ID: c4d5e6f7a8b9
Revises: c9a1d5e7f3b2
Create Date: 2026-11-30 20:00:00.000000

A person reached through WeCom used to have their WeCom UserID in `openid`. Those whose
messages all came through WeCom (processed messages keyed `wecom:`, timeline rows on the
wecom channel) and none through the Official Account get it moved to `wecom_userid`.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'c4d5e6f7a8b9'
down_revision: Union[str, Sequence[str], None] = 'c9a1d5e7f3b2'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_WECOM_ONLY = sa.text("""
    SELECT p.id FROM person p
    WHERE p.openid IS NOT NULL
      AND (EXISTS (SELECT 1 FROM processed_message m WHERE m.sender = p.openid AND m.key LIKE 'wecom:%')
           OR EXISTS (SELECT 1 FROM wish_event e WHERE e.actor_id = p.id AND e.channel = 'wecom'))
      AND NOT EXISTS (SELECT 1 FROM processed_message m WHERE m.sender = p.openid AND m.key LIKE 'wechat:%')
      AND NOT EXISTS (SELECT 1 FROM wish_event e WHERE e.actor_id = p.id AND e.channel = 'wechat')
""")


def upgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wecom_userid', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('last_channel', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('window_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('window_sends', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_unique_constraint(batch_op.f('uq_person_wecom_userid'), ['wecom_userid'])
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template', sa.Text(), nullable=True))
    connection = op.get_bind()
    ids = [row[0] for row in connection.execute(_WECOM_ONLY)]
    for person_id in ids:
        connection.execute(sa.text(
            "UPDATE person SET wecom_userid = openid, openid = NULL, last_channel = 'wecom' WHERE id = :id"),
            {"id": person_id})


def downgrade() -> None:
    connection = op.get_bind()
    connection.execute(sa.text(
        "UPDATE person SET openid = wecom_userid WHERE openid IS NULL AND wecom_userid IS NOT NULL"))
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_column('template')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_person_wecom_userid'), type_='unique')
        batch_op.drop_column('window_sends')
        batch_op.drop_column('window_until')
        batch_op.drop_column('last_channel')
        batch_op.drop_column('wecom_userid')
