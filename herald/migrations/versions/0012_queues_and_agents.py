"""call centre: centres with queues, agents' skills and states, outcomes; hand-offs routed

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 03:00:00.000000

An existing single-centre set-up becomes one centre ("main") with one queue, "general", its
default queue: every hand-off (queue NULL) is served by it, so nothing changes until an
administrator adds queues and routes response options to them. Outcomes agents close a
hand-off with are seeded with the usual list.
"""
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import alerts.columns

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTCOMES = (
    ('resolved', 'Resolved'),
    ('fraud_confirmed', 'Fraud confirmed'),
    ('card_blocked', 'Card blocked'),
    ('payment_confirmed', 'Payment was the customer\'s'),
    ('callback_failed', 'Callback failed (not reached)'),
    ('follow_up', 'Needs a follow-up'),
)


def upgrade() -> None:
    with op.batch_alter_table('centre_config', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False, server_default='main'))
        batch_op.add_column(sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False, server_default='Customer Care'))
        batch_op.add_column(sa.Column('default_queue', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False, server_default='general'))
    # Only one centre existed before: give any extra rows distinct keys before the constraint.
    centres = sa.table('centre_config', sa.column('id', sa.Integer), sa.column('key', sa.String))
    bind = op.get_bind()
    ids = [row[0] for row in bind.execute(sa.select(centres.c.id).order_by(centres.c.id))]
    for extra in ids[1:]:
        bind.execute(centres.update().where(centres.c.id == extra).values(key=f'centre-{extra}'))
    with op.batch_alter_table('centre_config', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_centre_config_key', ['key'])

    op.create_table('call_queues',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('centre_id', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('priority', sa.Integer(), nullable=False),
        sa.Column('target_answer_seconds', sa.Integer(), nullable=False),
        sa.Column('created_at', alerts.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['centre_id'], ['centre_config.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
    )
    with op.batch_alter_table('call_queues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_queues_centre_id'), ['centre_id'], unique=False)

    op.create_table('agent_skills',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('queue_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['queue_id'], ['call_queues.id'], ),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'queue_id'),
    )
    with op.batch_alter_table('agent_skills', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_skills_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agent_skills_queue_id'), ['queue_id'], unique=False)

    op.create_table('agent_states',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('changed_at', alerts.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column('seen_at', alerts.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id'),
    )

    outcomes = op.create_table('handoff_outcomes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
    )
    op.bulk_insert(outcomes, [
        {'key': key, 'label': label, 'position': i, 'active': True}
        for i, (key, label) in enumerate(OUTCOMES)
    ])

    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('queue', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', alerts.columns.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_handoffs_queue'), ['queue'], unique=False)

    # The one centre of an existing set-up gets its one queue.
    if ids:
        queues = sa.table(
            'call_queues', sa.column('key', sa.String), sa.column('centre_id', sa.Integer),
            sa.column('name', sa.String), sa.column('priority', sa.Integer),
            sa.column('target_answer_seconds', sa.Integer), sa.column('created_at', alerts.columns.UTCDateTime),
        )
        bind.execute(queues.insert().values(
            key='general', centre_id=ids[0], name='General', priority=50, target_answer_seconds=20,
            created_at=datetime.now(UTC),
        ))


def downgrade() -> None:
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handoffs_queue'))
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('queue')
    op.drop_table('handoff_outcomes')
    op.drop_table('agent_states')
    with op.batch_alter_table('agent_skills', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_skills_queue_id'))
        batch_op.drop_index(batch_op.f('ix_agent_skills_user_id'))
    op.drop_table('agent_skills')
    with op.batch_alter_table('call_queues', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_queues_centre_id'))
    op.drop_table('call_queues')
    with op.batch_alter_table('centre_config', schema=None) as batch_op:
        batch_op.drop_constraint('uq_centre_config_key', type_='unique')
        batch_op.drop_column('default_queue')
        batch_op.drop_column('name')
        batch_op.drop_column('key')
