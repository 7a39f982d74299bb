"""The upload API runs at most `max_concurrent_ingests` ingests per process: real concurrent
uploads over HTTP to a running server (uvicorn), the one beyond the limit answered 429."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from herald.app import create_app
from herald.config import Settings
from herald.runtime import Runtime
from tests.api.envelope import error_of
from tests.factories import api_headers
from tests.unit.xml_adapters.support import CAMT054_DATA

SAMPLE = (CAMT054_DATA / "camt054.v8.xml").read_bytes()
APP: Any = None  # the running server's app: its state says how many ingests hold a slot


@pytest.fixture
async def server(settings: Settings, runtime: Runtime) -> AsyncIterator[str]:
    global APP
    app = APP = create_app(settings.model_copy(update={"max_concurrent_ingests": 2}), runtime)
    config = uvicorn.Config(app, host="127.0.0.1", port=settings.api_port, lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield settings.public_url
    server.should_exit = True
    await task


async def _slow_body(gate: asyncio.Event) -> AsyncIterator[bytes]:
    """The sample sent in two halves with a wait between: the upload holds its slot meanwhile."""
    half = len(SAMPLE) // 2
    yield SAMPLE[:half]
    await gate.wait()
    yield SAMPLE[half:]


async def test_uploads_beyond_the_limit_get_429_with_retry_after(
    server: str, settings: Settings
) -> None:
    gate = asyncio.Event()
    async with httpx.AsyncClient(base_url=server, headers=api_headers(settings)) as client:
        holding = [
            asyncio.create_task(
                client.post(
                    "/api/v1/ingest",
                    content=_slow_body(gate),
                    headers={"X-Filename": f"slow-{i}.xml"},
                )
            )
            for i in range(2)
        ]
        for _ in range(1000):  # until both uploads hold their slot in the server
            if getattr(APP.state, "ingests_running", 0) == 2:
                break
            assert not any(t.done() for t in holding), [t.result() for t in holding if t.done()]
            await asyncio.sleep(0.02)
        probe = await client.post("/api/v1/ingest", content=SAMPLE)
        assert probe.status_code == 429
        assert probe.headers["Retry-After"] == "5"
        error = error_of(probe)
        assert error["code"] == "too_many_requests"
        assert "2 ingests are already running" in error["message"]
        assert "send the file again in 5 s" in (error["hint"] or "")
        gate.set()
        done = await asyncio.gather(*holding)
        assert [r.status_code for r in done] == [200, 200]
        assert {r.json()["status"] for r in done} <= {"done", "duplicate_file"}
        # the slots were given back: two more uploads at once are both taken
        again = await asyncio.gather(*(client.post("/api/v1/ingest", content=SAMPLE) for _ in "ab"))
        assert [r.status_code for r in again] == [200, 200]
