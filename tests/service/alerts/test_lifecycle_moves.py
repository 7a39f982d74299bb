"""Status moves on stored rows: every change goes through alerts.lifecycle, refusals are kept."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from alerts.columns import utcnow
from alerts.lifecycle import move_alert, move_attempt, move_handoff
from alerts.models import (
    Alert,
    AttemptEvent,
    DeliveryAttempt,
    HandOff,
    Response,
    StatusChange,
)
from herald.runtime import Runtime
from tests.factories import make_customer


async def _alert(runtime: Runtime) -> tuple[int, int]:
    customer = await make_customer(runtime.deps)
    async with runtime.deps.sessions() as session:
        alert = Alert(dedupe_key="k-1", alert_type="large_debit", customer_id=customer.id or 0)
        session.add(alert)
        await session.flush()
        attempt = DeliveryAttempt(
            alert_id=alert.id or 0, step_index=0, channel="sms", address="+31612345678"
        )
        session.add(attempt)
        await session.commit()
        return alert.id or 0, attempt.id or 0


async def test_an_illegal_alert_move_is_refused_and_recorded(runtime: Runtime) -> None:
    alert_id, _ = await _alert(runtime)
    now = utcnow()
    async with runtime.deps.sessions() as session:
        alert = await session.get(Alert, alert_id)
        assert alert is not None
        assert move_alert(session, alert, "send", reason="sms try 1", now=now)
        assert move_alert(session, alert, "fail", reason="no channel left", now=now)
        # A failed alert cannot be answered, sent or reached any more.
        assert not move_alert(session, alert, "answer", reason="late key 1", now=now)
        assert not move_alert(session, alert, "reach", reason="late delivered", now=now)
        await session.commit()
    async with runtime.deps.sessions() as session:
        alert = await session.get(Alert, alert_id)
        assert alert is not None and alert.status == "failed"
        changes = (
            await session.exec(
                select(StatusChange)
                .where(StatusChange.entity == "alert", StatusChange.entity_id == alert_id)
                .order_by(col(StatusChange.id))
            )
        ).all()
    assert [(c.from_status, c.event, c.to_status, c.applied) for c in changes] == [
        ("pending", "send", "delivering", True),
        ("delivering", "fail", "failed", True),
        ("failed", "answer", "failed", False),
        ("failed", "reach", "failed", False),
    ]
    assert changes[2].reason == "late key 1"


async def test_an_attempt_never_moves_back_even_by_a_requeue(runtime: Runtime) -> None:
    _, attempt_id = await _alert(runtime)
    now = utcnow()
    async with runtime.deps.sessions() as session:
        attempt = await session.get(DeliveryAttempt, attempt_id)
        assert attempt is not None
        ok = await move_attempt(
            session, attempt, "sending", provider_status=None, detail="try 1", now=now
        )
        assert ok
        ok = await move_attempt(
            session, attempt, "delivered", provider_status="delivered", detail=None, now=now
        )
        assert ok
        # The transient-error handler of a slower worker tries to put it back in the queue.
        back = await move_attempt(
            session, attempt, "requeue", provider_status=None, detail="will retry", now=now
        )
        late = await move_attempt(
            session, attempt, "sent", provider_status="sent", detail=None, now=now
        )
        await session.commit()
        assert (back, late, attempt.status) == (False, False, "delivered")
        events = (
            await session.exec(
                select(AttemptEvent)
                .where(AttemptEvent.attempt_id == attempt_id)
                .order_by(col(AttemptEvent.id))
            )
        ).all()
    assert [(e.status, e.applied) for e in events] == [
        ("sending", True),
        ("delivered", True),
        ("queued", False),
        ("sent", False),
    ]


async def test_a_requeue_while_sending_goes_back_to_the_queue(runtime: Runtime) -> None:
    _, attempt_id = await _alert(runtime)
    now = utcnow()
    async with runtime.deps.sessions() as session:
        attempt = await session.get(DeliveryAttempt, attempt_id)
        assert attempt is not None
        await move_attempt(session, attempt, "sending", provider_status=None, detail=None, now=now)
        attempt.sending_started_at = now
        session.add(attempt)
        await session.flush()
        assert await move_attempt(
            session, attempt, "requeue", provider_status=None, detail="refused", now=now
        )
        await session.commit()
        assert attempt.status == "queued"
        assert getattr(attempt, "sending_started_at") is None  # noqa: B009 (cleared by the move)


async def test_a_handoff_carries_the_time_of_every_move(runtime: Runtime) -> None:
    alert_id, attempt_id = await _alert(runtime)
    t0 = utcnow()
    async with runtime.deps.sessions() as session:
        response = Response(
            dedupe_key="r-1",
            alert_id=alert_id,
            attempt_id=attempt_id,
            channel="sms",
            key="1",
            intent="agent",
        )
        session.add(response)
        await session.flush()
        handoff = HandOff(response_id=response.id or 0, alert_id=alert_id, kind="callback")
        session.add(handoff)
        await session.flush()
        assert handoff.status == "queued"
        assert move_handoff(session, handoff, "offer", reason="calling", now=t0)
        assert move_handoff(
            session, handoff, "connect", reason="agent answered", now=t0 + timedelta(seconds=20)
        )
        assert move_handoff(
            session, handoff, "complete", reason="call ended", now=t0 + timedelta(minutes=4)
        )
        assert not move_handoff(
            session, handoff, "offer", reason="a late retry", now=t0 + timedelta(minutes=5)
        )
        await session.commit()
        handoff_id = handoff.id
    async with runtime.deps.sessions() as session:
        row = await session.get(HandOff, handoff_id)
        assert row is not None and row.status == "completed"
        assert row.closed_at == t0 + timedelta(minutes=4)
        changes = (
            await session.exec(
                select(StatusChange)
                .where(StatusChange.entity == "handoff", StatusChange.entity_id == handoff_id)
                .order_by(col(StatusChange.id))
            )
        ).all()
    assert [(c.to_status, c.created_at - t0, c.applied) for c in changes] == [
        ("offered", timedelta(0), True),
        ("connected", timedelta(seconds=20), True),
        ("completed", timedelta(minutes=4), True),
        ("completed", timedelta(minutes=5), False),
    ]
