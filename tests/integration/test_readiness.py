"""/healthz says alive; /readyz says whether the database, Redis and the schema are ready, and
answers 503 with the reason when one is not: Redis stopped (then started again), a database at
an older migration."""

from __future__ import annotations

import gc
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from herald.app import create_app
from herald.config import Settings
from herald.embedded import PrivateRedis
from herald.migrate import head_revision, upgrade
from herald.runtime import Runtime

pytestmark = [
    pytest.mark.integration,
    # arq's pool leaves a socket to the stopped Redis for the garbage collector.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


class StoppableRedis:
    """A Redis server of this test's own, stopped and started again on the same socket."""

    def __init__(self) -> None:
        self.base = Path("/tmp") / f"herald-ready-{uuid.uuid4().hex[:8]}"  # short: a socket path
        self.settings = Settings(_env_file=None, data_dir=self.base, redis_url=None)
        self.server: PrivateRedis | None = None

    def start(self) -> None:
        self.server = PrivateRedis.ensure(self.settings)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@pytest.fixture
def stoppable() -> Iterator[StoppableRedis]:
    redis = StoppableRedis()
    redis.start()
    yield redis
    redis.stop()
    shutil.rmtree(redis.base, ignore_errors=True)
    gc.collect()


@pytest.fixture
def redis_url(stoppable: StoppableRedis) -> str:  # this module's settings use the own server
    assert stoppable.server is not None
    return f"unix://{stoppable.server.socket_path}"


async def _ready(client: httpx.AsyncClient) -> tuple[int, dict[str, dict[str, object]]]:
    resp = await client.get("/readyz")
    body = resp.json()
    assert body["status"] == ("ready" if resp.status_code == 200 else "not ready")
    return resp.status_code, body["checks"]


async def test_ready_then_not_while_redis_is_stopped_then_ready_again(
    client: httpx.AsyncClient, stoppable: StoppableRedis
) -> None:
    assert (await client.get("/healthz")).status_code == 200
    status, checks = await _ready(client)
    assert status == 200, checks
    assert set(checks) == {"database", "redis", "migrations"}
    assert all(c["ok"] for c in checks.values())

    stoppable.stop()
    status, checks = await _ready(client)
    assert status == 503
    assert checks["redis"]["ok"] is False and checks["redis"]["detail"]
    assert checks["database"]["ok"] is True and checks["migrations"]["ok"] is True
    assert (await client.get("/healthz")).status_code == 200  # alive all the same

    stoppable.start()
    status, checks = await _ready(client)
    assert status == 200, checks


@pytest.fixture
async def behind(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API over a database one migration behind the code."""
    rt = await Runtime.start(settings)
    await upgrade(rt.engine, _previous())
    try:
        app = create_app(settings, rt)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as c:
            yield c
    finally:
        await rt.close()


def _previous() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from herald.migrate import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_revision(str(head_revision()))
    assert head is not None and isinstance(head.down_revision, str)
    return head.down_revision


async def test_a_database_at_an_older_migration_is_not_ready(behind: httpx.AsyncClient) -> None:
    status, checks = await _ready(behind)
    assert status == 503
    assert checks["database"]["ok"] is True and checks["redis"]["ok"] is True
    detail = str(checks["migrations"]["detail"])
    assert checks["migrations"]["ok"] is False
    assert _previous() in detail and str(head_revision()) in detail
    assert "herald migrate" in detail
