"""convergence: ingest_files.progress_at (an interrupted file is told apart from one still
ingesting) and an index on quarantined_records.record_id (a record sent again in a later file
resolves its earlier open quarantine row)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 12:30:00.000000

Files ingested before this have no progress time; their created_at stands in for it.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import alerts.columns

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        'ingest_files',
        sa.Column('progress_at', alerts.columns.UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index(
        op.f('ix_quarantined_records_record_id'), 'quarantined_records', ['record_id'], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_quarantined_records_record_id'), table_name='quarantined_records')
    op.drop_column('ingest_files', 'progress_at')
