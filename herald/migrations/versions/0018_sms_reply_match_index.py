"""an index on delivery_attempts (address, created_at): an SMS reply is matched to the newest
open attempt sent to its number, which read the whole table without it

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 23:10:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        'ix_delivery_attempts_address_created_at',
        'delivery_attempts',
        ['address', 'created_at'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_delivery_attempts_address_created_at', table_name='delivery_attempts')
