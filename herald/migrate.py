"""Alembic migrations run programmatically (`herald migrate`), for SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.db import normalise_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database to `revision` on an existing engine (runs in the engine's loop)."""

    def _do(connection: object) -> None:
        cfg = alembic_config(str(engine.url.render_as_string(hide_password=False)))
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(_do)


class SchemaNotCurrentError(RuntimeError):
    """The configured database is behind the code: someone has to run `herald migrate`."""


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.migration import MigrationContext

    def _read(connection: Any) -> str | None:
        rev: str | None = MigrationContext.configure(connection).get_current_revision()
        return rev

    async with engine.connect() as conn:
        return await conn.run_sync(_read)


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head: str | None = ScriptDirectory.from_config(cfg).get_current_head()
    return head


async def ensure_schema(engine: AsyncEngine, *, embedded: bool) -> None:
    """The embedded SQLite file is migrated on the spot; a configured (shared) database is
    only checked — migrating it is one deliberate `herald migrate`, not a race between the
    API and worker processes starting together."""
    if embedded:
        await upgrade(engine)
        return
    current, head = await current_revision(engine), head_revision()
    if current != head:
        raise SchemaNotCurrentError(
            f"the database at HERALD_DATABASE_URL is at schema {current or 'none'}, this Herald "
            f"needs {head}: run `herald migrate` once, then start the API and workers"
        )
