"""the pending events indexed alone: a partial index on events (id) WHERE NOT evaluated replaces
the index on the flag, so the claim finds the next pending ids in order without a scan, and an
event it marks evaluated adds no entry to it (the full index took one per decided event)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 01:10:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PENDING = sa.text('evaluated = false')


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_evaluated')
    op.create_index(  # after the batch: a table SQLite rebuilt keeps its partial index
        'ix_events_pending',
        'events',
        ['id'],
        unique=False,
        postgresql_where=_PENDING,
        sqlite_where=_PENDING,
    )


def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_evaluated', ['evaluated'], unique=False)
    op.drop_index('ix_events_pending', table_name='events')
