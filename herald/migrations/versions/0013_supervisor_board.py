"""supervisor board: the voice kill switch (voice_pauses) and a queue's agents target

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 07:00:00.000000

No row in voice_pauses means voice runs as before; a queue's agents target starts empty.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import alerts.columns

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'voice_pauses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('alert_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('paused_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('paused_at', alerts.columns.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('alert_type'),
    )
    with op.batch_alter_table('call_queues') as batch:
        batch.add_column(sa.Column('agents_target', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('call_queues') as batch:
        batch.drop_column('agents_target')
    op.drop_table('voice_pauses')
