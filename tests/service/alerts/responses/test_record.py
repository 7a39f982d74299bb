"""record_response on stored rows: one answer recorded once, and what each answer does."""

from __future__ import annotations

from sqlmodel import col, select

from alerts.columns import utcnow
from alerts.models import Alert, ContactPoint, HandOff, Preference, Response, StatusChange
from alerts.responses.record import Outcome, record_response
from alerts.responses.values import context_of
from tests.service.alerts.responses.conftest import Sent, send_alert


async def answer(
    sent: Sent,
    key: str,
    *,
    channel: str = "voice",
    dedupe_key: str | None = None,
    intent: str | None = None,
    text: str | None = None,
) -> Outcome:
    attempt_id = {"voice": sent.voice, "sms": sent.sms, "email": sent.email}[channel]
    return await record_response(
        deps=sent.deps,
        dedupe_key=dedupe_key or f"{channel}:test:{key}",
        attempt_id=attempt_id,
        channel=channel,
        key=key,
        text=text,
        now=utcnow(),
        intent=intent,
    )


async def alert_of(sent: Sent) -> Alert:
    async with sent.deps.sessions() as session:
        alert = await session.get(Alert, sent.alert_id)
        assert alert is not None
        return alert


async def handoffs(sent: Sent) -> list[HandOff]:
    async with sent.deps.sessions() as session:
        return list((await session.exec(select(HandOff).order_by(col(HandOff.id)))).all())


async def test_a_confirmation_closes_the_alert_with_the_option_said(sent: Sent) -> None:
    outcome = await answer(sent, "2")
    assert (outcome.intent, outcome.duplicate, outcome.late) == ("confirm", False, False)
    alert = await alert_of(sent)
    assert alert.status == "closed" and alert.next_step_at is None
    assert alert.closed_reason == (
        "customer confirmed the alert ('This payment was mine') by voice"
    )
    assert await handoffs(sent) == []


async def test_the_same_answer_twice_is_recorded_once(sent: Sent) -> None:
    first = await answer(sent, "1", dedupe_key="voice:CA1:1")
    again = await answer(sent, "1", dedupe_key="voice:CA1:1")
    assert again.duplicate and again.response.id == first.response.id
    assert again.handoff is not None and first.handoff is not None
    assert again.handoff.id == first.handoff.id
    async with sent.deps.sessions() as session:
        assert len((await session.exec(select(Response))).all()) == 1


async def test_agent_on_a_call_is_a_live_transfer_with_the_customer_on_screen(
    sent: Sent,
) -> None:
    outcome = await answer(sent, "1")
    assert outcome.handoff is not None and outcome.handoff.kind == "live_transfer"
    context = context_of(outcome.handoff)
    assert context.customer is not None and context.customer.name == "Ann Smith"
    assert context.alert is not None and context.alert.amount == "750.00"
    assert context.alert.merchant == "Shop Ltd" and context.alert.status == "delivered"
    assert context.event is not None and context.event.account == "NLC-1"
    assert (context.answer.channel, context.answer.key, context.answer.intent) == (
        "voice",
        "1",
        "agent",
    )


async def test_agent_by_sms_is_a_callback_and_an_unmatched_text_too(sent: Sent) -> None:
    agent = await answer(sent, "1", channel="sms", text="1")
    assert agent.handoff is not None and agent.handoff.kind == "callback"
    other, *_ = await send_alert(sent.deps, ref="C-2", phone="+15550002222")
    unknown = await record_response(
        deps=sent.deps,
        dedupe_key="sms:SMfree",
        attempt_id=None,
        channel="sms",
        key="I never bought this",
        text="I never bought this",
        now=utcnow(),
        alert_id=other,
    )
    assert unknown.intent == "unknown"
    assert unknown.handoff is not None and unknown.handoff.kind == "callback"
    assert context_of(unknown.handoff).answer.text == "I never bought this"
    async with sent.deps.sessions() as session:
        still = await session.get(Alert, other)
    assert still is not None and still.status == "delivered"  # an agent decides


async def test_a_transaction_leaves_a_task_until_it_is_done(sent: Sent) -> None:
    outcome = await answer(sent, "3")
    assert outcome.handoff is not None
    [task] = await handoffs(sent)
    assert (task.kind, task.status) == ("task", "queued")
    assert "did not complete" in (context_of(task).task or "")
    assert (await alert_of(sent)).status == "closed"


async def test_a_copy_is_planned_with_the_answer_and_enqueued_after_it(sent: Sent) -> None:
    outcome = await answer(sent, "4")
    assert outcome.handoff is None
    alert = await alert_of(sent)
    assert alert.plan[-1].channel == "sms" and alert.plan[-1].is_copy is True
    assert alert.status == "pending" and alert.current_step == len(alert.plan) - 1
    assert sent.queue.calls == [
        {"alert_id": sent.alert_id, "step_index": alert.current_step, "channel": "sms"}
    ]


async def test_a_copy_to_nowhere_is_a_task_for_an_agent(sent: Sent) -> None:
    async with sent.deps.sessions() as session:
        for contact in (await session.exec(select(ContactPoint))).all():
            contact.sms_opted_out_at = utcnow()
            session.add(contact)
        await session.commit()
    outcome = await answer(sent, "4")
    assert outcome.handoff is not None and outcome.handoff.kind == "task"
    assert "no phone we may use" in (context_of(outcome.handoff).task or "")
    assert sent.queue.calls == []


async def test_opt_out_is_the_customers_own_preference(sent: Sent) -> None:
    await answer(sent, "6")
    async with sent.deps.sessions() as session:
        [pref] = (await session.exec(select(Preference))).all()
    assert pref.data == {"opted_out": True}
    assert (await alert_of(sent)).status == "closed"


async def test_an_answer_after_the_alert_was_answered_is_late_and_does_nothing(
    sent: Sent,
) -> None:
    await answer(sent, "2", dedupe_key="voice:CA1:1")  # confirmed: closed
    late = await answer(sent, "5", dedupe_key="voice:CA1:2")  # then "call me back"
    assert late.late and late.intent == "late" and late.handoff is None
    assert late.response.key == "5" and late.response.alert_id == sent.alert_id
    assert await handoffs(sent) == []
    alert = await alert_of(sent)
    assert alert.status == "closed"
    assert alert.closed_reason is not None and "confirmed" in alert.closed_reason
    async with sent.deps.sessions() as session:
        refused = (
            await session.exec(select(StatusChange).where(col(StatusChange.applied).is_(False)))
        ).all()
    assert refused == []  # nothing was even tried


async def test_an_answered_alert_still_sends_the_copy_asked_for(sent: Sent) -> None:
    await answer(sent, "2", dedupe_key="voice:CA1:1")
    copy = await answer(sent, "sms_copy", channel="email", dedupe_key="email:1")
    assert copy.intent == "sms_copy" and not copy.late
    assert (await alert_of(sent)).plan[-1].is_copy is True


async def test_an_answer_to_an_expired_alert_is_late(sent: Sent) -> None:
    async with sent.deps.sessions() as session:
        alert = await session.get(Alert, sent.alert_id)
        assert alert is not None
        alert.status = "expired"
        session.add(alert)
        await session.commit()
    late = await answer(sent, "1")
    assert late.late and late.handoff is None and await handoffs(sent) == []


async def test_a_carrier_keyword_is_never_late(sent: Sent) -> None:
    await answer(sent, "2")
    stop = await answer(sent, "STOP", channel="sms", intent="stop", text="STOP")
    assert stop.intent == "stop" and not stop.late
