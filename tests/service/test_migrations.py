"""Migrations build exactly the tables the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from herald.db import METADATA
from herald.migrate import upgrade
from herald.runtime import Runtime


async def test_models_and_migrations_agree(runtime: Runtime) -> None:
    def diff(connection: Any) -> list[Any]:
        ctx = MigrationContext.configure(connection, opts={"compare_type": False})
        return list(compare_metadata(ctx, METADATA))

    async with runtime.engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == [], f"models changed without a migration: {changes}"


async def test_upgrade_twice_is_harmless(runtime: Runtime) -> None:
    await upgrade(runtime.engine)  # the fixture already upgraded once
