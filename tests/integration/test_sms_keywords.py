"""Carrier keywords: STOP opts the number out of SMS (one confirmation), START back in, HELP
answers; a planned SMS to an opted-out number is skipped and the next channel follows."""

from __future__ import annotations

import pytest
from sqlmodel import select

from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from alerts.models import ContactPoint, HandOff, Response
from herald.worker import drain
from tests.conftest import Stack
from tests.factories import attempts_of, make_customer, make_event, signed_post

pytestmark = pytest.mark.integration
PHONE = "+15550004444"


async def text(stack: Stack, body: str, sid: str) -> str:
    resp = await signed_post(
        stack.settings,
        "/webhooks/twilio/sms/inbound",
        {"MessageSid": sid, "From": PHONE, "To": stack.settings.twilio.from_number, "Body": body},
    )
    assert resp.status_code == 200
    return resp.text


async def opted_out(stack: Stack) -> bool:
    async with stack.runtime.deps.sessions() as session:
        cp = (await session.exec(select(ContactPoint).where(ContactPoint.address == PHONE))).one()
    return cp.sms_opted_out_at is not None


async def test_stop_start_help(stack: Stack) -> None:
    await make_customer(stack.runtime.deps, phone=PHONE)
    first = await text(stack, "Stop", "SM" + "a" * 32)
    assert "no more texts" in first and await opted_out(stack)
    again = await text(stack, "UNSUBSCRIBE", "SM" + "b" * 32)
    assert "<Message>" not in again  # one confirmation at most
    retried = await text(stack, "Stop", "SM" + "a" * 32)  # Twilio retrying the same webhook
    assert "<Message>" not in retried
    helped = await text(stack, "help", "SM" + "c" * 32)
    assert "Reply STOP" in helped and stack.settings.callcentre.phone_number in helped
    assert f"Choose which alerts you get: {stack.settings.public_url}/p/" in helped
    back = await text(stack, "START", "SM" + "d" * 32)
    assert "texts are back on" in back and not await opted_out(stack)
    async with stack.runtime.deps.sessions() as session:
        intents = [r.intent for r in (await session.exec(select(Response))).all()]
        handoffs = (await session.exec(select(HandOff))).all()
    assert intents == ["stop", "stop", "help", "start"]
    assert handoffs == []  # keywords are not work for an agent


async def test_sms_step_to_opted_out_number_is_skipped(stack: Stack) -> None:
    deps = stack.runtime.deps
    await make_customer(deps, phone=PHONE, order=("sms", "email"))
    await make_event(deps)
    [alert_id] = await evaluate_pending(deps=deps, now=utcnow())  # planned: SMS, then email
    await text(stack, "STOP", "SM" + "e" * 32)  # before the SMS goes out
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
    attempts = await attempts_of(deps, alert_id)
    assert [(a.channel, a.status) for a in attempts] == [("sms", "failed"), ("email", "sent")]
    assert "texted STOP" in (attempts[0].error or "")
    assert not [
        m
        for m in stack.sim.state.messages.values()
        if m.to == PHONE and m.direction == "outbound-api"
    ]
    # A new alert for this customer is planned without SMS at all.
    await make_event(deps, event_id="E-2")
    [second] = await evaluate_pending(deps=deps, now=utcnow())
    async with deps.sessions() as session:
        from alerts.models import Alert

        alert = await session.get(Alert, second)
    assert alert is not None and [s.channel for s in alert.plan] == ["email"]


async def test_help_on_a_shared_phone_sends_no_ones_preferences_link(stack: Stack) -> None:
    await make_customer(stack.runtime.deps, ref="C-1", phone=PHONE, email="a@example.com")
    await make_customer(
        stack.runtime.deps, ref="C-2", phone=PHONE, email="b@example.com", account="NL02X"
    )
    helped = await text(stack, "help", "SM" + "f" * 32)
    assert "Reply STOP" in helped and "/p/" not in helped
