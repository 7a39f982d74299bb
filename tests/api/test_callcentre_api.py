"""Call-centre hours and real-time load through the API."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from callcentre.state import CentreStatus, centre_status
from herald.app import create_app
from herald.config import Settings
from herald.runtime import Runtime
from tests.api.envelope import lines_of


async def status_at(runtime: Runtime, now: datetime) -> CentreStatus:
    async with runtime.deps.sessions() as session:
        return await centre_status(session=session, now=now)


async def test_hours_load_and_status(client: httpx.AsyncClient, runtime: Runtime) -> None:
    bad = await client.put(
        "/api/v1/callcentre/hours", json={"timezone": "Mars/Base", "weekly": {"mon": ["9-5"]}}
    )
    assert bad.status_code == 422 and "IANA" in bad.text and "08:00-20:00" in bad.text
    ok = await client.put(
        "/api/v1/callcentre/hours",
        json={
            "timezone": "Europe/Amsterdam",
            "weekly": {"mon": ["09:00-17:00"]},
            "holidays": ["2026-12-28"],
        },
    )
    assert ok.status_code == 200
    wrong = await client.post(
        "/api/v1/callcentre/load",
        json={"agents_logged_in": 3, "agents_available": 5, "queue_length": 0},
    )
    assert wrong.status_code == 422
    assert lines_of(wrong) == ["body: agents_available cannot exceed agents_logged_in"]
    pushed = await client.post(
        "/api/v1/callcentre/load",
        json={
            "agents_logged_in": 40,
            "agents_available": 12,
            "queue_length": 7,
            "longest_wait_seconds": 35,
        },
    )
    assert pushed.status_code == 201
    status = (await client.get("/api/v1/callcentre/status")).json()
    assert status["load"]["queue_length"] == 7 and status["load"]["stale"] is False
    # Monday 23 Nov 2026 10:00 in Amsterdam is open; Monday 28 Dec is a holiday.
    open_now = await status_at(runtime, datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    assert open_now.open is True and open_now.next_opening is None
    holiday = await status_at(runtime, datetime(2026, 12, 28, 9, 0, tzinfo=UTC))
    assert holiday.open is False
    # 09:00 Amsterdam, next Monday
    assert holiday.next_opening == datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
    stale = await status_at(runtime, datetime(2030, 1, 1, tzinfo=UTC))
    assert stale.load is not None and stale.load.stale is True


async def test_needs_the_token(settings: Settings, runtime: Runtime) -> None:
    app = create_app(settings, runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=settings.public_url
    ) as c:
        assert (await c.get("/api/v1/callcentre/status")).status_code == 401
