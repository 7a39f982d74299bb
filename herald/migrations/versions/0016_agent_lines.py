"""agent lines: agent_states.line, the phone an agent takes routed live transfers on

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 12:40:00.000000

An agent with a line (an E.164 number) who is available in the console is put through live
transfers of their queues directly (callcentre.routing). Every existing agent has none, so
transfers keep ringing the centre's number until an agent sets one.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('agent_states', sa.Column('line', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('agent_states') as batch:
        batch.drop_column('line')
