"""lifecycles as tables: status_changes for alerts and hand-offs, the hand-off's own states

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 20:50:00.000000

Hand-offs move from open/calling/done to the lifecycle of alerts.lifecycle.HANDOFF
(queued, offered, claimed, connected, completed, abandoned, expired, failed) and get the times of
their moves. alerts.step_token was written on every move and never read: it goes.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import alerts.columns

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_TO_NEW = {"open": "queued", "calling": "offered", "done": "completed"}


def upgrade() -> None:
    op.create_table('status_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entity', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('event', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('to_status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('applied', sa.Boolean(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', alerts.columns.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('status_changes', schema=None) as batch_op:
        batch_op.create_index('ix_status_changes_entity', ['entity', 'entity_id'], unique=False)

    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', alerts.columns.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_at', alerts.columns.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_handoffs_status'), ['status'], unique=False)
    handoffs = sa.table('handoffs', sa.column('status', sa.String), sa.column('created_at'), sa.column('closed_at'))
    for old, new in _OLD_TO_NEW.items():
        op.execute(handoffs.update().where(handoffs.c.status == old).values(status=new))
    op.execute(
        handoffs.update()
        .where(handoffs.c.status == 'completed')
        .values(closed_at=handoffs.c.created_at)
    )

    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('step_token')


def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('step_token', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False, server_default=''))
    handoffs = sa.table('handoffs', sa.column('status', sa.String))
    for old, new in _OLD_TO_NEW.items():
        op.execute(handoffs.update().where(handoffs.c.status == new).values(status=old))
    op.execute(handoffs.update().where(handoffs.c.status.in_(['claimed', 'connected'])).values(status='calling'))
    op.execute(handoffs.update().where(handoffs.c.status.in_(['abandoned', 'expired', 'failed'])).values(status='done'))
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handoffs_status'))
        batch_op.drop_column('closed_at')
        batch_op.drop_column('updated_at')

    with op.batch_alter_table('status_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_status_changes_entity')

    op.drop_table('status_changes')
