"""Steps run together in one worker process (alerts.delivery.batch): a batch costs its
statements once, not once per step; a step that is not the plain case, or a row that moved
under the batch, runs alone on the single-step path, and nothing is sent twice."""

from __future__ import annotations

import asyncio

from sqlmodel import col, select

from alerts.delivery.batch import StepBatcher
from alerts.delivery.statuses import apply_status
from alerts.models import Alert, AttemptEvent, ContactPoint, OutboxEvent
from channels.base import OutboundMessage, Receipt, StatusUpdate
from herald.runtime import Runtime
from tests.factories import attempts_of
from tests.service.alerts.delivery.test_step_statements import statements_of
from tests.service.alerts.wiring import T0, Wired, load_alert, make_person, raise_alert, run

# A batch of SMS steps: read; insert attempts; alerts -> delivering; attempt events; status
# changes; COMMIT; the sends; attempts -> sent; attempt events; COMMIT.
SMS_BATCH = 7
# An email batch also moves the alerts to delivered with their status changes and outbox rows.
EMAIL_BATCH = 10
STEPS = 4


async def _alerts(wired: Wired, channel: str) -> list[Alert]:
    """STEPS alerts of one customer whose first step is ``channel``, after one warm-up step
    (it read the alert type's document, once per version and process)."""
    await make_person(wired.deps, order=(channel,))
    warm = await raise_alert(wired, T0, amount="750.00", event_id="E-0")
    assert await run(wired, warm, 0, T0) == "sent"
    alerts = [
        await raise_alert(wired, T0, amount=f"{760 + i}.00", event_id=f"E-{i + 1}")
        for i in range(STEPS)
    ]
    assert all(a.plan[0].channel == channel for a in alerts)
    return alerts


async def _run_together(wired: Wired, alerts: list[Alert]) -> list[str]:
    batcher = StepBatcher(wired.deps)
    batcher.expect(len(alerts))  # as the worker announces the jobs it started together
    results = await asyncio.gather(
        *(batcher.run(alert_id=a.id or 0, step_index=0, now=T0) for a in alerts)
    )
    return [r.action for r in results]


async def test_a_batch_of_sms_steps_costs_its_statements_once(
    wired: Wired, runtime: Runtime
) -> None:
    alerts = await _alerts(wired, "sms")
    with statements_of(runtime) as seen:
        actions = await _run_together(wired, alerts)
    assert actions == ["sent"] * STEPS
    assert len(seen) == SMS_BATCH, " ".join(seen)  # for 4 steps; one alone costs 8
    assert len(wired.sms.sent) == 1 + STEPS
    for alert in alerts:
        (attempt,) = await attempts_of(wired.deps, alert.id or 0)
        assert attempt.status == "sent" and attempt.provider_sid is not None
        assert attempt.sending_started_at is not None
        assert (await load_alert(wired.deps, alert.id)).status == "delivering"
        async with wired.deps.sessions() as session:
            history = (
                await session.exec(
                    select(AttemptEvent.status)
                    .where(AttemptEvent.attempt_id == attempt.id)
                    .order_by(col(AttemptEvent.id))
                )
            ).all()
        assert list(history) == ["queued", "sending", "sent"]


async def test_a_batch_of_email_steps_delivers_its_alerts_in_one_commit(
    wired: Wired, runtime: Runtime
) -> None:
    alerts = await _alerts(wired, "email")
    with statements_of(runtime) as seen:
        actions = await _run_together(wired, alerts)
    assert actions == ["sent"] * STEPS
    assert len(seen) == EMAIL_BATCH, " ".join(seen)
    for alert in alerts:
        stored = await load_alert(wired.deps, alert.id)
        assert (stored.status, stored.next_step_at) == ("delivered", None)
    async with wired.deps.sessions() as session:
        told = (
            await session.exec(select(OutboxEvent).where(OutboxEvent.kind == "alert.delivered"))
        ).all()
    # Each batched alert told once, the same as the warm-up step's (the single path's) own.
    batched = {a.id or 0 for a in alerts}
    assert sorted(e.entity_id or 0 for e in told if e.entity_id in batched) == sorted(batched)
    assert len(told) == 1 + STEPS
    (one,) = [e for e in told if e.entity_id == alerts[0].id]
    (warm,) = [e for e in told if e.entity_id not in batched]
    assert set(one.data) == set(warm.data) and one.data["status"] == "delivered"


async def test_a_step_that_is_not_plain_runs_alone_beside_the_batch(wired: Wired) -> None:
    """The customer texted STOP after the plans were made: every step is failed by the
    single path (nothing sent), none is sent by the batch."""
    alerts = await _alerts(wired, "sms")
    async with wired.deps.sessions() as session:
        for contact in (await session.exec(select(ContactPoint))).all():
            contact.sms_opted_out_at = T0
            session.add(contact)
        await session.commit()
    actions = await _run_together(wired, alerts)
    assert actions == ["failed"] * STEPS
    assert len(wired.sms.sent) == 1


class CallbackFirst:
    """A provider whose status callback for the second message lands before its API answer:
    the batch's compare-and-set finds that attempt moved and the batch runs alone."""

    def __init__(self, wired: Wired) -> None:
        self.wired, self.inner = wired, wired.sms
        self.kind, self.key = "sms", "fake_sms"

    async def send(self, message: OutboundMessage) -> Receipt:
        receipt = await self.inner.send(message)
        if len(self.inner.sent) == 3:
            update = StatusUpdate(
                provider_sid=receipt.provider_sid, status="delivered", provider_status="delivered"
            )
            await apply_status(
                deps=self.wired.deps, attempt_id=message.attempt_id, update=update, now=T0
            )
        return receipt

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


async def test_a_row_moved_under_the_batch_sends_nothing_twice(wired: Wired) -> None:
    alerts = await _alerts(wired, "sms")
    wired.deps.channels["sms"] = CallbackFirst(wired)  # type: ignore[assignment]
    actions = await _run_together(wired, alerts)
    assert actions == ["sent"] * STEPS  # recorded one by one after the rollback
    assert len(wired.sms.sent) == 1 + STEPS
    statuses = []
    for alert in alerts:
        (attempt,) = await attempts_of(wired.deps, alert.id or 0)
        statuses.append(attempt.status)
        assert attempt.provider_sid is not None
    assert sorted(statuses) == ["delivered", "sent", "sent", "sent"]  # never moved back
