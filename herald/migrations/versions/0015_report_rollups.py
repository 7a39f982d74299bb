"""report rollups: daily figures the reports read instead of the raw tables for whole days

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 13:00:00.000000

Adds the rollup tables of alerts.reports.rollup (docs/reports.md, "Performance"); they start
empty and the first refresh builds them from the raw tables. No existing row changes, and
dropping them loses nothing (they are rebuilt from the raw tables). Also three indexes on
created_at (alerts, decisions, hand-offs) that the build and today's raw part range over.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import alerts.columns

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# A run of days of every alert type is a range of these (by alert type first, a whole scan).
INDEXES = (
    ('ix_alerts_created', 'alerts', ['created_at']),
    ('ix_decisions_created', 'decisions', ['created_at']),
    ('ix_handoffs_created', 'handoffs', ['created_at']),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)
    op.create_table('report_alert_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('alert_type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('segment', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('alerts', sa.Integer(), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('delivered', sa.Integer(), nullable=False),
    sa.Column('responded', sa.Integer(), nullable=False),
    sa.Column('routed', sa.Integer(), nullable=False),
    sa.Column('resolved', sa.Integer(), nullable=False),
    sa.Column('expired', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('self_served', sa.Integer(), nullable=False),
    sa.Column('provider_retries', sa.Integer(), nullable=False),
    sa.Column('reached_voice', sa.Integer(), nullable=False),
    sa.Column('answered_voice', sa.Integer(), nullable=False),
    sa.Column('reached_sms', sa.Integer(), nullable=False),
    sa.Column('answered_sms', sa.Integer(), nullable=False),
    sa.Column('reached_email', sa.Integer(), nullable=False),
    sa.Column('answered_email', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_report_alert_days_day', 'report_alert_days', ['day', 'alert_type'], unique=False)
    op.create_table('report_attempt_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('alert_type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('retries', sa.Integer(), nullable=False),
    sa.Column('fallbacks', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_report_attempt_days_day', 'report_attempt_days', ['day'], unique=False)
    op.create_table('report_decision_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('alert_type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('segment', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('why', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('decisions', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_report_decision_days_day', 'report_decision_days', ['day', 'alert_type'], unique=False)
    op.create_table('report_handoff_hours',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('handoffs', sa.Integer(), nullable=False),
    sa.Column('handle_count', sa.Integer(), nullable=False),
    sa.Column('handle_seconds', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_report_handoff_hours_day', 'report_handoff_hours', ['day'], unique=False)
    op.create_table('report_rollup_customers',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('locale', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('segment', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.PrimaryKeyConstraint('customer_id')
    )
    op.create_table('report_rollup_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('built_at', alerts.columns.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_table('report_rollup_marks',
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('last_id', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', alerts.columns.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('source')
    )
    op.create_table('report_timings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('alert_type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_report_timings_kind_day', 'report_timings', ['kind', 'day'], unique=False)

def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
    op.drop_index('ix_report_alert_days_day', table_name='report_alert_days')
    op.drop_index('ix_report_attempt_days_day', table_name='report_attempt_days')
    op.drop_index('ix_report_decision_days_day', table_name='report_decision_days')
    op.drop_index('ix_report_handoff_hours_day', table_name='report_handoff_hours')
    op.drop_index('ix_report_timings_kind_day', table_name='report_timings')
    op.drop_table('report_timings')
    op.drop_table('report_rollup_marks')
    op.drop_table('report_rollup_days')
    op.drop_table('report_rollup_customers')
    op.drop_table('report_handoff_hours')
    op.drop_table('report_decision_days')
    op.drop_table('report_attempt_days')
    op.drop_table('report_alert_days')
