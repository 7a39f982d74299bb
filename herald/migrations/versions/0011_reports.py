"""reports: the telephony system's inbound call counts, and the indexes the reports group by

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 03:00:00.000000

Adds one table (inbound_call_counts, imported from CSV; nothing else writes it) and four
indexes on existing tables; no existing row changes.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import alerts.columns

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ('ix_alerts_type_created', 'alerts', ['alert_type', 'created_at']),
    ('ix_decisions_type_created', 'decisions', ['alert_type', 'created_at']),
    ('ix_delivery_attempts_created', 'delivery_attempts', ['created_at']),
    ('ix_preference_changes_created', 'preference_changes', ['created_at']),
)


def upgrade() -> None:
    op.create_table('inbound_call_counts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('alert_type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('calls', sa.Integer(), nullable=False),
        sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('imported_at', alerts.columns.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('day', 'reason'),
    )
    with op.batch_alter_table('inbound_call_counts', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_call_counts_type_day', ['alert_type', 'day'], unique=False)
    for name, table, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
    with op.batch_alter_table('inbound_call_counts', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_call_counts_type_day')
    op.drop_table('inbound_call_counts')
