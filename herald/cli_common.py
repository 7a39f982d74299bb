"""Shared pieces of the command line: settings loading, clear errors, the running runtime."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from herald.config import Settings
from herald.embedded import EmbeddedServiceError
from herald.logs import configure
from herald.migrate import SchemaNotCurrentError

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def load_settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        lines = []
        for e in exc.errors():
            message = e["msg"].removeprefix("Value error, ")
            if e["loc"]:  # one setting; otherwise the settings together (e.g. production's)
                message = "HERALD_" + "__".join(str(p).upper() for p in e["loc"]) + ": " + message
            lines.append(f"  {message}")
        fail(
            "invalid configuration:\n" + "\n".join(lines) + "\nSee .env.example for every setting."
        )
        raise
    configure(settings.log_level, json_format=settings.log_format == "json")
    return settings


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run an async command; user-caused errors become one clear line, never a traceback."""
    from sqlalchemy.exc import OperationalError

    from alerts.alert_types.content import ContentError
    from herald.worker import DrainTimeoutError
    from xml_adapters.base import IngestError, MappingError

    try:
        return asyncio.run(coro_fn())  # type: ignore[arg-type]
    except KeyboardInterrupt:
        err.print("stopped.")
        raise typer.Exit(130) from None
    except (
        DrainTimeoutError,
        EmbeddedServiceError,
        SchemaNotCurrentError,
        IngestError,
        MappingError,
        ContentError,
        FileNotFoundError,
        UserInputError,
    ) as exc:
        fail(str(exc))
    except OperationalError as exc:
        fail(
            f"cannot use the database: {exc.orig}. Check HERALD_DATABASE_URL and run "
            "`herald migrate`."
        )
    except OSError as exc:
        fail(f"{exc}. Is Redis reachable (HERALD_REDIS_URL)?")
    raise AssertionError("unreachable")


class UserInputError(Exception):
    """Something the user asked for cannot be done; the message says why."""


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Any]:
    """The runtime (and a private Redis unless one is configured), migrated, closed on exit."""
    from herald.embedded import PrivateRedis
    from herald.migrate import ensure_schema
    from herald.runtime import Runtime

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    redis = PrivateRedis.ensure(settings)
    try:
        rt = await Runtime.start(settings)
        try:
            await ensure_schema(rt.engine, embedded=settings.database_url is None)
            yield rt
        finally:
            await rt.close()
    finally:
        if redis:
            redis.stop()
