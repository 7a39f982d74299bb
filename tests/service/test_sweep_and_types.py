"""The outbox sweep finds work stranded between commit and enqueue; alert types change as data."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
from sqlmodel import select

from alerts.alert_types import get_type
from alerts.columns import utcnow
from alerts.evaluate import evaluate_pending
from alerts.models import Decision, Event
from alerts.sweep import sweep
from herald.app import create_app
from herald.config import Settings
from herald.runtime import Runtime
from tests.factories import api_headers, make_customer, make_event


class LostQueue:
    """A queue whose enqueues vanish, as when the process dies right after the commit."""

    async def enqueue_step(self, **_: object) -> bool:
        return True


class RecordingQueue:
    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []

    async def enqueue_step(self, **kwargs: object) -> bool:
        self.calls.append(kwargs)
        return True


async def test_sweep_enqueues_alerts_whose_job_was_lost(runtime: Runtime) -> None:
    deps = runtime.deps
    await make_customer(deps)
    await make_event(deps)
    real = deps.queue
    deps.queue = LostQueue()
    [alert_id] = await evaluate_pending(deps=deps, now=utcnow())
    recording = RecordingQueue()
    deps.queue = recording
    assert await sweep(deps=deps, now=utcnow()) == 0  # within the grace period: maybe in flight
    later = utcnow() + timedelta(seconds=30)
    assert await sweep(deps=deps, now=later) == 1
    assert recording.calls == [{"alert_id": alert_id, "step_index": 0, "channel": "voice"}]
    deps.queue = real


async def test_sweep_decides_events_stranded_before_evaluation(runtime: Runtime) -> None:
    deps = runtime.deps
    deps.queue = RecordingQueue()
    await make_customer(deps)
    await make_event(deps)  # stored, never evaluated (the ingesting process died)
    assert await sweep(deps=deps, now=utcnow()) == 1
    async with deps.sessions() as session:
        assert (await session.exec(select(Event))).one().evaluated
        assert (await session.exec(select(Decision))).one().outcome == "alert"


async def test_threshold_is_data_changed_through_the_api(
    settings: Settings, runtime: Runtime
) -> None:
    deps = runtime.deps
    deps.queue = RecordingQueue()
    await make_customer(deps)
    app = create_app(settings, runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=settings.public_url
    ) as client:
        await evaluate_pending(deps=deps, now=utcnow())  # seeds the built-in type
        bad = await client.patch(
            "/api/v1/alert-types/account_activity",
            headers=api_headers(settings),
            json={"params": {"threshold": "x"}},
        )
        ok = await client.patch(
            "/api/v1/alert-types/account_activity",
            headers=api_headers(settings),
            json={"params": {"threshold": "1000.00"}},
        )
        listed = await client.get("/api/v1/alert-types", headers=api_headers(settings))
    assert bad.status_code == 422 and "not a number" in bad.text
    assert ok.status_code == 200 and ok.json()["params"]["threshold"] == "1000.00"
    assert [t["key"] for t in listed.json()] == ["account_activity"]
    await make_event(deps, amount="750.00", event_id="E-2")
    assert await evaluate_pending(deps=deps, now=utcnow()) == []
    async with deps.sessions() as session:
        decision = (await session.exec(select(Decision))).one()
        alert_type = await get_type(session=session, key="account_activity")
    assert decision.reason == "debit 750.00 EUR is below the threshold 1000.00"
    assert alert_type is not None and Decimal(alert_type.params["threshold"]) == 1000


async def test_content_is_checked_when_edited(settings: Settings, runtime: Runtime) -> None:
    deps = runtime.deps
    deps.queue = RecordingQueue()
    await evaluate_pending(deps=deps, now=utcnow())  # seeds the built-in type
    app = create_app(settings, runtime)
    url = "/api/v1/alert-types/account_activity"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=settings.public_url
    ) as client:
        unknown_var = await client.patch(
            url,
            headers=api_headers(settings),
            json={"params": {"content": {"sms": "Balance: {{ balance }}"}}},
        )
        too_long = await client.patch(
            url,
            headers=api_headers(settings),
            json={
                "params": {
                    "content": {"sms": "Façade " + "{{ merchant }} " * 5},
                    "sms_max_segments": 1,
                }
            },
        )
        fine = await client.patch(
            url,
            headers=api_headers(settings),
            json={
                "params": {
                    "content": {
                        "sms": "{{ brand }}: {{ amount }} {{ currency }} to "
                        "{{ merchant }}. Reply 1 for an agent."
                    }
                }
            },
        )
    assert unknown_var.status_code == 422 and "balance" in unknown_var.text
    assert too_long.status_code == 422 and "UCS-2" in too_long.text
    assert "'ç'" in too_long.text
    assert fine.status_code == 200
