"""Studio trials older than a week are removed with their attempts, status history, answers
and hand-offs; recent trials and real alerts are kept; a new trial does the removing."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from alerts.columns import utcnow
from alerts.models import Alert, AttemptEvent, DeliveryAttempt, HandOff, Response
from alerts.responses.trial_cleanup import TRIAL_KEPT, purge_old_trials
from herald.runtime import Runtime
from tests.factories import add_transfer, make_customer


async def _alert(runtime: Runtime, customer_id: int, *, trial: bool, age: timedelta) -> int:
    at = utcnow() - age
    async with runtime.deps.sessions() as session:
        alert = Alert(
            dedupe_key=f"t:{trial}:{age}",
            alert_type="large_debit",
            customer_id=customer_id,
            status="closed",
            trial=trial,
            created_at=at,
            updated_at=at,
        )
        session.add(alert)
        await session.flush()
        attempt = DeliveryAttempt(
            alert_id=alert.id or 0, step_index=0, channel="voice", address="+15555550100"
        )
        session.add(attempt)
        await session.flush()
        session.add(AttemptEvent(attempt_id=attempt.id or 0, status="completed"))
        await add_transfer(session, alert.id or 0, attempt.id or 0)
        await session.commit()
        return alert.id or 0


async def test_only_trials_older_than_a_week_are_removed_with_what_they_made(
    runtime: Runtime,
) -> None:
    customer = await make_customer(runtime.deps, ref="T-1")
    cid = customer.id or 0
    old_trial = await _alert(runtime, cid, trial=True, age=TRIAL_KEPT + timedelta(hours=1))
    new_trial = await _alert(runtime, cid, trial=True, age=timedelta(days=1))
    old_real = await _alert(runtime, cid, trial=False, age=timedelta(days=30))
    async with runtime.deps.sessions() as session:
        assert await purge_old_trials(session, now=utcnow()) == 1
        await session.commit()
        alerts = set((await session.exec(select(Alert.id))).all())
        attempts = set((await session.exec(select(DeliveryAttempt.alert_id))).all())
        handoffs = set((await session.exec(select(HandOff.alert_id))).all())
        answers = set((await session.exec(select(Response.alert_id))).all())
        events = len((await session.exec(select(AttemptEvent.id))).all())
        assert await purge_old_trials(session, now=utcnow()) == 0
    assert alerts == attempts == handoffs == answers == {new_trial, old_real}
    assert old_trial not in alerts and events == 2
