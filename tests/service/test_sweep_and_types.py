"""The outbox sweep finds work stranded between commit and enqueue; alert types change as data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from alerts.alert_types.store import AlertTypeError, get_spec, save_spec, versions
from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from alerts.delivery.sweep import sweep
from alerts.models import Alert, Decision, Event
from herald.runtime import Runtime
from tests.factories import make_customer, make_event


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


async def test_the_condition_is_data_an_administrator_changes(runtime: Runtime) -> None:
    deps = runtime.deps
    deps.queue = RecordingQueue()
    await make_customer(deps)
    async with deps.sessions() as session:
        spec = await get_spec(session, "large_debit")
        assert spec is not None
        data: dict[str, Any] = spec.as_json()
        data["trigger"] = {**data["trigger"], "condition": "event.amount >= 1000"}
        saved = await save_spec(session, data, actor="test", note="raise the threshold")
    assert saved.version == spec.version + 1
    await make_event(deps, amount="750.00", event_id="E-2")
    assert await evaluate_pending(deps=deps, now=utcnow()) == []
    async with deps.sessions() as session:
        decision = (await session.exec(select(Decision))).one()
        history = await versions(session, "large_debit")
    assert decision.outcome == "skip" and decision.alert_type == "large_debit"
    assert "event.amount >= 1000" in decision.reason and "750" in decision.reason
    assert [v.version for v in history][:2] == [saved.version, spec.version]


async def test_a_broken_template_is_refused_when_saved(runtime: Runtime) -> None:
    async with runtime.deps.sessions() as session:
        spec = await get_spec(session, "large_debit")
        assert spec is not None
        data: dict[str, Any] = spec.as_json()
        data["content"]["en"]["sms"]["body"] = "Balance: {{ balance }}"
        with pytest.raises(AlertTypeError) as caught:
            await save_spec(session, data, actor="test")
        assert any(
            "content.en.sms.body" in line and "balance" in line for line in caught.value.lines
        )
        assert (await get_spec(session, "large_debit")) == spec  # nothing stored


async def test_events_no_alert_type_wants_are_skipped_with_a_reason(runtime: Runtime) -> None:
    deps = runtime.deps
    deps.queue = RecordingQueue()
    await make_customer(deps)
    await make_event(deps, event_type="fee_charged")
    assert await evaluate_pending(deps=deps, now=utcnow()) == []
    async with deps.sessions() as session:
        decision = (await session.exec(select(Decision))).one()
    assert decision.reason == "no alert type is triggered by fee_charged"


async def test_two_evaluators_at_once_decide_each_event_once(runtime: Runtime) -> None:
    import asyncio

    deps = runtime.deps
    deps.queue = RecordingQueue()
    await make_customer(deps)
    for n in range(40):
        await make_event(deps, event_id=f"E-{n}")
    now = utcnow()
    first, second = await asyncio.gather(
        evaluate_pending(deps=deps, now=now, batch=7), evaluate_pending(deps=deps, now=now, batch=7)
    )
    assert len(first) + len(second) == 40 and not set(first) & set(second)
    async with deps.sessions() as session:
        decisions = (await session.exec(select(Decision))).all()
    assert len(decisions) == 40  # one large_debit decision per event, none twice


async def test_a_sweep_looks_at_a_bounded_number_and_the_next_goes_on(runtime: Runtime) -> None:
    """Seven stranded alerts, three looked at per sweep: each sweep costs the same, the cursor
    takes the next one on where the last stopped, and every alert is found within three."""
    from alerts.delivery.sweep import SweepCursor

    deps = runtime.deps
    real = deps.queue
    deps.queue = LostQueue()
    for i in range(7):
        await make_customer(deps, ref=f"C-{i}", account=f"NL{i:02d}SWEEP", phone=f"+1555000{i:04d}")
        await make_event(deps, account=f"NL{i:02d}SWEEP", event_id=f"E-{i}")
    ids = sorted(await evaluate_pending(deps=deps, now=utcnow()))
    assert len(ids) == 7
    later = utcnow() + timedelta(seconds=30)
    cursor = SweepCursor()
    seen: list[list[object]] = []
    for _ in range(3):
        recording = RecordingQueue()
        deps.queue = recording
        assert await sweep(deps=deps, now=later, cursor=cursor, limit=3, page=2) == 3
        seen.append([c["alert_id"] for c in recording.calls])
    deps.queue = real
    assert seen == [ids[0:3], ids[3:6], [ids[6], ids[0], ids[1]]]
    assert cursor.after is not None and cursor.after[1] == ids[1]


async def test_a_sweep_that_walks_everything_looks_at_each_alert_once(runtime: Runtime) -> None:
    from alerts.delivery.sweep import SweepCursor

    deps = runtime.deps
    real = deps.queue
    deps.queue = LostQueue()
    for i in range(4):
        await make_customer(deps, ref=f"C-{i}", account=f"NL{i:02d}SWEEP", phone=f"+1555000{i:04d}")
        await make_event(deps, account=f"NL{i:02d}SWEEP", event_id=f"E-{i}")
    ids = sorted(await evaluate_pending(deps=deps, now=utcnow()))
    recording = RecordingQueue()
    deps.queue = recording
    async with deps.sessions() as session:
        second = await session.get(Alert, ids[1])
    assert second is not None and second.next_step_at is not None
    cursor = SweepCursor(after=(second.next_step_at, ids[1]))  # a sweep stopped half-way
    later = utcnow() + timedelta(seconds=30)
    assert await sweep(deps=deps, now=later, cursor=cursor, limit=100, page=3) == 4
    deps.queue = real
    assert [c["alert_id"] for c in recording.calls] == [ids[2], ids[3], ids[0], ids[1]]
    assert cursor.after is None  # every due alert was looked at: the next sweep starts afresh
