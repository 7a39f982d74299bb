"""staff: roles (editor, publisher, viewer), disabled users, personal API tokens, the audit log

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10 10:00:00.000000

Users keep their role (admin, agent and supervisor mean what they did); a role Herald does not
know any more becomes viewer (read only) rather than locking the user out or granting more.
On PostgreSQL a trigger refuses UPDATE and DELETE on audit_entries: the log is append-only.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import alerts.columns

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = ('admin', 'publisher', 'editor', 'supervisor', 'agent', 'viewer')


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('last_login_at', alerts.columns.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('auth_version', sa.Integer(), nullable=False, server_default='0'))
    users = sa.table('users', sa.column('role', sa.String))
    op.execute(users.update().where(users.c.role.not_in(ROLES)).values(role='viewer'))

    op.create_table('api_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('token_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('prefix', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('created_at', alerts.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', alerts.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', alerts.columns.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_sha256'),
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('audit_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', alerts.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('via', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('ip', sqlmodel.sql.sqltypes.AutoString(length=45), nullable=True),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('entity_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('before', sa.JSON(), nullable=True),
        sa.Column('after', sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_actor'), ['actor'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_kind'), ['kind'], unique=False)

    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "CREATE FUNCTION herald_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_entries is append-only: % refused', TG_OP; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries "
            "FOR EACH ROW EXECUTE FUNCTION herald_audit_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries")
        op.execute("DROP FUNCTION IF EXISTS herald_audit_append_only()")
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entries_kind'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_actor'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_at'))
    op.drop_table('audit_entries')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))
    op.drop_table('api_tokens')
    users = sa.table('users', sa.column('role', sa.String))
    # The roles before 0008 are admin, agent, supervisor; the new ones become the least of them.
    op.execute(users.update().where(users.c.role.in_(['publisher', 'editor', 'viewer'])).values(role='agent'))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('auth_version')
        batch_op.drop_column('last_login_at')
        batch_op.drop_column('disabled')
