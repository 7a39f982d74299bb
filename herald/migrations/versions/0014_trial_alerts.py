"""studio trials: alerts.trial marks an alert made by "Try it as the customer"

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 07:00:00.000000

A trial alert is rendered from the alert type's draft, is never delivered and is left out of
the reports. Every existing alert is a real one (false).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (a batch copy of alerts would trip SQLite's foreign keys).
    op.add_column('alerts', sa.Column('trial', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.drop_column('alerts', 'trial')
