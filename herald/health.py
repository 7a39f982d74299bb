"""Readiness: is this process able to do its work now? The database, Redis, the schema.

``/healthz`` only says the process is alive; ``/readyz`` (and ``herald doctor``) ask each
dependency with a short timeout and say what is wrong, so a load balancer stops sending
traffic to an API whose database or Redis is away, and sends it again once they are back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass

from sqlalchemy import text

from herald.migrate import current_revision, head_revision
from herald.runtime import Runtime

CHECK_TIMEOUT_S = 3.0


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


async def _bounded(name: str, work: Awaitable[Check]) -> Check:
    try:
        return await asyncio.wait_for(work, timeout=CHECK_TIMEOUT_S)
    except TimeoutError:
        return Check(name, False, f"no answer within {CHECK_TIMEOUT_S:g}s")
    except Exception as exc:
        return Check(name, False, f"{type(exc).__name__}: {exc}"[:300])


async def _database(runtime: Runtime) -> Check:
    async with runtime.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return Check("database", True, "reachable")


async def _schema(runtime: Runtime) -> Check:
    current, head = await current_revision(runtime.engine), head_revision()
    if current != head:
        return Check(
            "migrations",
            False,
            f"the database is at schema {current or 'none'}, this Herald needs {head}: "
            "run `herald migrate`",
        )
    return Check("migrations", True, f"at head ({head})")


async def _redis(runtime: Runtime) -> Check:
    await runtime.pool.ping()
    return Check("redis", True, "reachable")


async def readiness(runtime: Runtime) -> list[Check]:
    """Every check, run together, each bounded by CHECK_TIMEOUT_S."""
    database = await _bounded("database", _database(runtime))
    checks = await asyncio.gather(
        _bounded("redis", _redis(runtime)),
        _bounded("migrations", _schema(runtime))
        if database.ok
        else _skipped("migrations", "the database is not reachable"),
    )
    return [database, *checks]


async def _skipped(name: str, why: str) -> Check:
    return Check(name, False, f"not checked: {why}")
