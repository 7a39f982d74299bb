"""Shared fixtures: a migrated database (SQLite, and PostgreSQL when configured or in CI), a real
private Redis, the alert runtime, and the full stack (API server, Twilio simulator, SMTP sink)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as redis_sync

from channels.twilio_sim import LoopbackServer, Scenario, SimulatorConfig, SimulatorServer
from channels.twilio_sim.scenario import parse_scenario
from herald.app import create_app
from herald.config import Settings
from herald.demo import tune_for_demo
from herald.embedded import PrivateRedis, SmtpSink, free_port
from herald.migrate import upgrade
from herald.runtime import Runtime
from tests.factories import api_headers

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get(
    "HERALD_TEST_POSTGRES_URL"
)  # e.g. postgresql://postgres@127.0.0.1:5433/postgres
REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "examples" / "feeds"


def missing_infrastructure(reason: str) -> None:
    """Skip on a laptop; fail under CI=true, where every promised test must run."""
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def _backends() -> list[str]:
    return ["sqlite", "postgres"] if (PG_ADMIN_URL or IN_CI) else ["sqlite"]


@pytest.fixture(params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    if not PG_ADMIN_URL:
        missing_infrastructure("HERALD_TEST_POSTGRES_URL is not set (PostgreSQL tests)")
    import psycopg

    assert PG_ADMIN_URL is not None
    name = f"herald_test_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        missing_infrastructure(f"PostgreSQL at HERALD_TEST_POSTGRES_URL is not reachable: {exc}")
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One real private Redis server for the session (the same binary `herald` embeds)."""
    base = Path("/tmp") / f"herald-test-{uuid.uuid4().hex[:8]}"  # per run; short for a socket
    settings = Settings(_env_file=None, data_dir=base, redis_url=None)
    try:
        server = PrivateRedis.ensure(settings)
    except Exception as exc:
        missing_infrastructure(f"cannot start a Redis server: {exc}")
        raise
    assert server is not None
    yield server.socket_path
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def redis_url(redis_socket: Path) -> str:
    client = redis_sync.Redis(unix_socket_path=str(redis_socket))
    client.flushall()
    client.close()
    return f"unix://{redis_socket}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_url: str) -> Settings:
    """Settings of one test: its own data dir and database, free ports for every server it may
    start (so two runs of the suite can share a machine), nothing read from a .env file."""
    api_port = free_port()
    return Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        database_url=database_url,
        redis_url=redis_url,
        public_url=f"http://127.0.0.1:{api_port}",
        api_port=api_port,
        api_token="test-api-token",
        secret_key="test-secret-key-0123456789",
        twilio={"simulator_port": free_port()},
        smtp={"sink_port": free_port(), "bounce_port": free_port()},
    )


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = await Runtime.start(settings)
    await upgrade(rt.engine)
    async with rt.deps.sessions() as session:
        # The call centre open around the clock and large_debit falling back at once, so that
        # tests do not depend on the time of day; tests of hours and policies set their own.
        await tune_for_demo(session, fallback_wait_seconds=0)
    try:
        yield rt
    finally:
        await rt.close()


@pytest.fixture
async def client(
    request: pytest.FixtureRequest, settings: Settings, runtime: Runtime
) -> AsyncIterator[httpx.AsyncClient]:
    """Herald's app in-process over httpx, at the public URL.

    In a test of the JSON API (a module named ``test_*_api.py``) it sends the API token, as an
    integration would; anywhere else (admin pages, customers' pages) it sends none, like a
    browser, so those tests also prove the pages need no token.
    """
    headers = api_headers(settings) if request.module.__name__.endswith("_api") else {}
    transport = httpx.ASGITransport(app=create_app(settings, runtime))
    async with httpx.AsyncClient(
        transport=transport, base_url=settings.public_url, headers=headers
    ) as c:
        yield c


@dataclass
class Stack:
    settings: Settings
    runtime: Runtime
    sim: SimulatorServer
    sink: SmtpSink
    api: LoopbackServer

    async def idle(self) -> bool:
        return self.sim.simulator.idle if hasattr(self.sim.simulator, "idle") else True

    def set_scenario(self, data: dict[str, Any]) -> None:
        self.sim.simulator.scenario = parse_scenario(data)


def sim_config(settings: Settings, scenario: Scenario) -> SimulatorConfig:
    return SimulatorConfig(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        numbers={settings.twilio.from_number: f"{settings.public_url}/webhooks/twilio/sms/inbound"},
        scenario=scenario,
        delay=0.01,
    )


@pytest.fixture
async def stack(settings: Settings, runtime: Runtime, tmp_path: Path) -> AsyncIterator[Stack]:
    sink = SmtpSink(directory=tmp_path / "mail", port=settings.smtp.sink_port).start()
    scenario = parse_scenario({"default": {"voice": {"answer": "human", "presses": []}}})
    sim = SimulatorServer(sim_config(settings, scenario), port=settings.twilio.simulator_port)
    api = LoopbackServer(create_app(settings, runtime), port=settings.api_port)
    async with sim, api:
        try:
            yield Stack(settings=settings, runtime=runtime, sim=sim, sink=sink, api=api)
        finally:
            sink.stop()
