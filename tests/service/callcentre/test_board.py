"""The supervisor board's figures and actions, on SQLite and PostgreSQL: agents by state per
queue, waiting transfers and tasks, today's answered-within-target, speed of answer and
abandoned transfers against 3 %, calls placed per alert type; the voice kill switch moves a
voice step on to SMS (for one alert type or all), and resuming places calls again; queue targets
and moving waiting work are checked and audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts.columns import utcnow
from alerts.delivery.steps import RetryLater, run_step
from alerts.models import Alert, HandOff
from callcentre.board import BoardError, QueueTargetsIn, board, move_waiting, set_queue_targets
from callcentre.models import ALL_ALERT_TYPES, DEFAULT_HOURS
from callcentre.queues import first_centre, set_agent_state
from callcentre.voice_switch import pause_voice, resume_voice, voice_paused
from herald.runtime import Runtime
from tests.factories import make_customer, planned_step
from tests.service.alerts.responses.conftest import OPTIONS
from tests.service.alerts.wiring import RecordingQueue
from tests.service.callcentre.test_agent_console import _agent, _pressed_agent, _queues


async def test_the_board_counts_agents_waiting_work_and_todays_service_level(
    runtime: Runtime,
) -> None:
    deps = runtime.deps
    await _queues(deps)  # general, fraud (target 30 s)
    fiona = await _agent(deps, "fiona", ["fraud"])
    frank = await _agent(deps, "frank", ["fraud"])
    gary = await _agent(deps, "gary", ["general"])
    now = utcnow()
    async with deps.sessions() as session:
        await set_agent_state(session=session, user_id=fiona.id, state="available", now=now)
        await set_agent_state(session=session, user_id=frank.id, state="wrap_up", now=now)
        await set_agent_state(session=session, user_id=gary.id, state="on_call", now=now)
    waiting = await _pressed_agent(deps, "C-1", "fraud")
    quick = await _pressed_agent(deps, "C-2", "fraud")
    slow = await _pressed_agent(deps, "C-3", "fraud")
    gone = await _pressed_agent(deps, "C-4", "fraud")
    async with deps.sessions() as session:
        for handoff, waited, status in ((quick, 10, "claimed"), (slow, 50, "completed")):
            row = await session.get(HandOff, handoff.id)
            assert row is not None
            row.status, row.claimed_by = status, "fiona"
            row.claimed_at = row.created_at + timedelta(seconds=waited)
            session.add(row)
        row = await session.get(HandOff, gone.id)
        assert row is not None
        row.status = "abandoned"
        session.add(row)
        await session.commit()
        data = await board(session=session, now=utcnow())
    fraud = next(q for q in data.queues if q.key == "fraud")
    general = next(q for q in data.queues if q.key == "general")
    assert fraud.agents == {"available": 1, "on_call": 0, "wrap_up": 1, "away": 0}
    assert general.agents == {"available": 0, "on_call": 1, "wrap_up": 0, "away": 0}
    assert (fraud.waiting_transfers, fraud.waiting_other) == (1, 0)
    assert [w.id for w in data.waiting] == [waiting.id]
    assert (fraud.answered_today, fraud.within_target_today) == (2, 1)  # 10 s yes, 50 s no
    assert fraud.average_answer_seconds == 30.0
    assert (fraud.transfers_today, fraud.abandoned_today) == (4, 1)
    assert fraud.over_ceiling  # 25 % > 3 %
    assert (general.transfers_today, general.over_ceiling) == (0, False)
    # The four alerts' voice attempts carry a call sid: four calls placed today.
    assert [(t.key, t.calls_today) for t in data.alert_types if t.calls_today] == [
        ("large_debit", 4)
    ]


async def _voice_alert(runtime: Runtime, ref: str, alert_type: str = "large_debit") -> int:
    deps = runtime.deps
    customer = await make_customer(deps, ref=ref, account=f"NL{ref}")
    now = utcnow()
    async with deps.sessions() as session:
        steps = [
            planned_step("voice", "+15550001111").model_copy(
                update={
                    "not_before": now - timedelta(minutes=1),
                    "deadline": now + timedelta(hours=1),
                }
            ),
            planned_step("sms", "+15550001111").model_copy(
                update={
                    "not_before": now - timedelta(minutes=1),
                    "deadline": now + timedelta(hours=1),
                }
            ),
        ]
        alert = Alert(
            dedupe_key=f"{alert_type}:{ref}",
            alert_type=alert_type,
            customer_id=customer.id or 0,
            status="pending",
            options=OPTIONS,
            plan=steps,
            context={"customer_name": "Ann", "amount": "750.00", "currency": "EUR"},
        )
        session.add(alert)
        await session.commit()
        return alert.id or 0


@pytest.mark.parametrize("which", ["large_debit", ALL_ALERT_TYPES])
async def test_paused_voice_falls_back_to_sms_and_resumes(runtime: Runtime, which: str) -> None:
    deps = runtime.deps
    deps.queue = queue = RecordingQueue()
    async with deps.sessions() as session:
        await pause_voice(
            session=session, alert_type=which, by="sam", reason="telephony incident", now=utcnow()
        )
        assert (await voice_paused(session, "large_debit")) is not None
        assert (await voice_paused(session, "other")) is not None or which != ALL_ALERT_TYPES
    alert_id = await _voice_alert(runtime, "C-9")
    result = await run_step(deps=deps, alert_id=alert_id, step_index=0, now=utcnow())
    assert result.action == "deferred" and "voice paused" in result.detail
    assert "telephony incident" in result.detail and "sms" in result.detail
    async with deps.sessions() as session:
        alert = await session.get(Alert, alert_id)
        assert alert is not None and alert.current_step == 1
    assert [(c["step_index"], c["channel"]) for c in queue.calls] == [(1, "sms")]

    async with deps.sessions() as session:
        assert await resume_voice(session=session, alert_type=which)
        assert await voice_paused(session, "large_debit") is None
    again = await _voice_alert(runtime, "C-10")
    # Resumed, the worker places the call again (no Twilio in this test: it would retry later).
    with pytest.raises(RetryLater, match="placing the call"):
        await run_step(deps=deps, alert_id=again, step_index=0, now=utcnow())


async def test_queue_targets_and_moving_waiting_work_are_checked(runtime: Runtime) -> None:
    deps = runtime.deps
    await _queues(deps)
    handoff = await _pressed_agent(deps, "C-1", "fraud")
    async with deps.sessions() as session:
        await set_queue_targets(
            session=session,
            key="fraud",
            targets=QueueTargetsIn(target_answer_seconds=15, agents_target=4),
        )
        with pytest.raises(BoardError, match="no queue 'nope'"):
            await set_queue_targets(
                session=session, key="nope", targets=QueueTargetsIn(target_answer_seconds=15)
            )
        moved = await move_waiting(session=session, handoff_id=handoff.id or 0, queue="general")
        assert moved.queue == "general"
        with pytest.raises(BoardError, match="Choose a queue"):
            await move_waiting(session=session, handoff_id=handoff.id or 0, queue="travel")
        row = await session.get(HandOff, handoff.id)
        assert row is not None
        row.status, row.claimed_by = "claimed", "fiona"
        session.add(row)
        await session.commit()
        with pytest.raises(BoardError, match="no longer waiting \\(fiona took it\\)"):
            await move_waiting(session=session, handoff_id=handoff.id or 0, queue="fraud")
        data = await board(session=session, now=utcnow())
    fraud = next(q for q in data.queues if q.key == "fraud")
    assert (fraud.target_answer_seconds, fraud.agents_target) == (15, 4)
    assert data.waiting == []


async def test_today_starts_at_midnight_in_the_centres_time_zone(runtime: Runtime) -> None:
    deps = runtime.deps
    await _queues(deps)
    late = await _pressed_agent(deps, "C-9", "fraud")
    now = datetime(2026, 12, 7, 0, 30, tzinfo=UTC)  # 01:30 in Amsterdam
    async with deps.sessions() as session:
        centre = await first_centre(session)
        assert centre is not None
        centre.hours = {**DEFAULT_HOURS, "timezone": "Europe/Amsterdam"}
        session.add(centre)
        row = await session.get(HandOff, late.id)
        assert row is not None
        row.created_at = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)  # 00:30 in Amsterdam: today
        session.add(row)
        await session.commit()
        data = await board(session=session, now=now)
    assert data.zone == "Europe/Amsterdam"
    assert data.since == datetime(2026, 12, 6, 23, 0, tzinfo=UTC)
    fraud = next(q for q in data.queues if q.key == "fraud")
    assert fraud.transfers_today == 1
