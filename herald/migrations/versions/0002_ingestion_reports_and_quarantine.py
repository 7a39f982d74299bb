"""ingestion reports and quarantine (existing file rows get zero counts)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:52:51.260420
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import alerts.columns

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quarantined_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("record_id", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("field", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("created_at", alerts.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", alerts.columns.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["ingest_files.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("file_id", "line", "record_id"),
    )
    with op.batch_alter_table("quarantined_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quarantined_records_file_id"), ["file_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_quarantined_records_status"), ["status"], unique=False)

    with op.batch_alter_table("ingest_files", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "source",
                sqlmodel.sql.sqltypes.AutoString(length=20),
                nullable=False,
                server_default="cli",
            )
        )
        batch_op.add_column(
            sa.Column("quarantined", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("unknown_accounts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("bytes", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("seconds", sa.Float(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("stored_path", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True)
        )
        batch_op.add_column(
            sa.Column("finished_at", alerts.columns.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("ingest_files", schema=None) as batch_op:
        batch_op.drop_column("finished_at")
        batch_op.drop_column("stored_path")
        batch_op.drop_column("seconds")
        batch_op.drop_column("bytes")
        batch_op.drop_column("unknown_accounts")
        batch_op.drop_column("quarantined")
        batch_op.drop_column("source")

    with op.batch_alter_table("quarantined_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantined_records_status"))
        batch_op.drop_index(batch_op.f("ix_quarantined_records_file_id"))

    op.drop_table("quarantined_records")
