"""lifecycles as tables: status_changes for alerts and hand-offs, the hand-off's own states,
channel alarms

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 20:50:00.000000

Hand-offs move from open/calling/done to the lifecycle of alerts.lifecycle.HANDOFF
(queued, offered, claimed, connected, completed, abandoned, expired, failed) and get the times of
their moves. alerts.step_token was written on every move and never read: it goes.
"""
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlmodel
from alembic import op

import alerts.columns

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_TO_NEW = {"open": "queued", "calling": "offered", "done": "completed"}
_STEP_KEYS = ("channel", "contact_point_id", "address", "attempt", "not_before", "deadline",
              "locale", "reason", "copy", "paced", "released_at")


def _typed_plan(plan, created_at, expires_at, locale):
    """Plans are typed from now on (alerts.plans.PlannedStep): give the steps of alerts raised
    before the rules engine (channel, address, wait_seconds) the fields every step has."""
    if not isinstance(created_at, datetime):
        created_at = datetime.fromisoformat(str(created_at))
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    end = expires_at or created_at + timedelta(days=1)
    if not isinstance(end, datetime):
        end = datetime.fromisoformat(str(end))
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    typed = []
    for step in plan or []:
        start = created_at + timedelta(seconds=float(step.get("wait_seconds") or 0))
        full = {
            "contact_point_id": "",
            "attempt": 1,
            "not_before": start.isoformat(),
            "deadline": end.isoformat(),
            "locale": locale or "en",
            "reason": "",
            **{k: v for k, v in step.items() if k in _STEP_KEYS},
        }
        full["contact_point_id"] = str(full["contact_point_id"] or "")
        typed.append(full)
    return typed


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

    # A plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch copy of `alerts` would
    # have to drop a table other rows point at.
    op.drop_column('alerts', 'step_token')
    alerts_table = sa.table(
        'alerts', sa.column('id', sa.Integer), sa.column('plan', sa.JSON),
        sa.column('created_at', alerts.columns.UTCDateTime()),
        sa.column('expires_at', alerts.columns.UTCDateTime()), sa.column('locale', sa.String),
    )
    bind = op.get_bind()
    for row in bind.execute(sa.select(alerts_table)).all():
        if all(set(_STEP_KEYS[:8]) <= set(step) for step in row.plan or []):
            continue
        plan = _typed_plan(row.plan, row.created_at, row.expires_at, row.locale)
        bind.execute(alerts_table.update().where(alerts_table.c.id == row.id).values(plan=plan))

    op.create_table('channel_alarms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('raised_at', alerts.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retry_at', alerts.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cleared_at', alerts.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('held_steps', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel')
    )


def downgrade() -> None:
    op.drop_table('channel_alarms')
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
