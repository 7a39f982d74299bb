"""Never lost, never twice: crashes after the provider accepted, outages, permanent errors,
duplicate and late callbacks, forged webhooks."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from sqlmodel import col, select

from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from alerts.delivery.steps import RetryLater, run_step
from alerts.models import Alert, AttemptEvent, DeliveryAttempt
from channels.base import Channel, OutboundMessage, Receipt
from herald.worker import drain
from tests.conftest import Stack
from tests.factories import make_customer, make_event, set_delivery, signed_post

pytestmark = pytest.mark.integration


class WorkerKilled(BaseException):
    """Raised right after the provider accepted, before Herald commits the provider's id."""


class DiesAfterSend:
    """Wraps a real channel: the message really goes out, then the 'worker' dies."""

    def __init__(self, inner: Channel, *, lose_callbacks: bool) -> None:
        self.inner = inner
        self.key = inner.key
        self.kind = inner.kind
        self.lose_callbacks = lose_callbacks

    async def send(self, message: OutboundMessage) -> Receipt:
        if self.lose_callbacks:  # the provider's status callbacks never reach Herald
            message = replace(message, status_callback=None)
        await self.inner.send(message)
        raise WorkerKilled

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def _one_alert(stack: Stack, *, order: tuple[str, ...], phone: str = "+15550002222") -> int:
    deps = stack.runtime.deps
    await make_customer(deps, phone=phone, order=order)
    await make_event(deps)
    created = await evaluate_pending(deps=deps, now=utcnow())
    assert len(created) == 1
    return created[0]


async def _attempts(stack: Stack, alert_id: int) -> list[DeliveryAttempt]:
    async with stack.runtime.deps.sessions() as session:
        rows = await session.exec(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.alert_id == alert_id)
            .order_by(col(DeliveryAttempt.step_index))
        )
        return list(rows.all())


async def _alert(stack: Stack, alert_id: int) -> Alert:
    async with stack.runtime.deps.sessions() as session:
        alert = await session.get(Alert, alert_id)
        assert alert is not None
        return alert


@pytest.mark.parametrize("lose_callbacks", [False, True], ids=["callback-first", "adopted"])
@pytest.mark.parametrize("channel", ["sms", "voice"])
async def test_worker_killed_after_provider_accepted_sends_once(
    stack: Stack, channel: str, lose_callbacks: bool
) -> None:
    alert_id = await _one_alert(stack, order=(channel,))
    deps = stack.runtime.deps
    real = deps.channels[channel]
    deps.channels[channel] = DiesAfterSend(real, lose_callbacks=lose_callbacks)
    with pytest.raises(WorkerKilled):
        await run_step(deps=deps, alert_id=alert_id, step_index=0, now=utcnow())
    deps.channels[channel] = real
    [attempt] = await _attempts(stack, alert_id)
    assert attempt.status == "sending" and attempt.provider_sid is None  # as a kill leaves it

    await stack.sim.wait_idle(10)  # the provider has finished; its callbacks (if any) are in
    # The job runs again (arq re-runs a job whose worker died).
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
    await stack.sim.wait_idle(10)
    sent = (stack.sim.state.messages if channel == "sms" else stack.sim.state.calls).values()
    mine = [m for m in sent if m.to == "+15550002222"]
    assert len(mine) == 1, "the customer must not get the alert twice"
    [attempt] = await _attempts(stack, alert_id)
    assert attempt.provider_sid == mine[0].sid
    async with deps.sessions() as session:
        trail = (
            await session.exec(select(AttemptEvent).where(AttemptEvent.attempt_id == attempt.id))
        ).all()
    adopted = any("not sent again" in (t.detail or "") for t in trail)
    # Either the provider's callback told us the sid first, or the re-run found the message.
    assert adopted is lose_callbacks


async def test_provider_outage_retries_then_delivers(stack: Stack) -> None:
    stack.set_scenario(
        {
            "recipients": {
                "+15550002222": {
                    "api_error": {"status": 503, "code": 20503, "message": "Service Unavailable"}
                }
            }
        }
    )
    alert_id = await _one_alert(stack, order=("sms", "email"))
    deps = stack.runtime.deps
    with pytest.raises(RetryLater) as caught:
        await run_step(deps=deps, alert_id=alert_id, step_index=0, now=utcnow())
    assert caught.value.defer_seconds >= 5
    [attempt] = await _attempts(stack, alert_id)
    # A 5xx to a create may hide an accepted message: the attempt stays "sending" so that the
    # retry asks Twilio first (it finds nothing here, and sends).
    assert attempt.status == "sending" and "HTTP 503" in (attempt.error or "")
    assert not stack.sim.state.messages  # nothing was created at the provider

    stack.set_scenario({})  # Twilio is back
    result = await run_step(deps=deps, alert_id=alert_id, step_index=0, now=utcnow(), try_no=2)
    assert result.action == "sent"
    await stack.sim.wait_idle(10)
    await drain(stack.runtime, timeout=10, idle_check=stack.idle)
    [attempt] = await _attempts(stack, alert_id)
    assert attempt.status == "delivered"
    assert len(stack.sim.state.messages) == 1


async def test_permanent_error_moves_to_next_channel_at_once(stack: Stack) -> None:
    stack.set_scenario(
        {
            "recipients": {
                "+15550002222": {
                    "api_error": {
                        "status": 400,
                        "code": 21211,
                        "message": "Invalid 'To' Phone Number",
                    }
                }
            }
        }
    )
    alert_id = await _one_alert(stack, order=("sms", "email"))
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
    sms, email = await _attempts(stack, alert_id)
    assert sms.status == "failed" and "21211" in (sms.error or "")
    assert "not a valid phone number" in (sms.error or "")
    assert email.status == "sent"
    assert (await _alert(stack, alert_id)).status == "delivered"
    assert len(stack.sink.messages) == 1


async def test_duplicate_and_late_status_callbacks_change_nothing(stack: Stack) -> None:
    alert_id = await _one_alert(stack, order=("voice", "sms"))
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
    attempts = await _attempts(stack, alert_id)
    assert [a.status for a in attempts] == ["completed"]  # answered, no key pressed
    voice = attempts[0]
    path = f"/webhooks/twilio/voice/{voice.id}/status"
    base = {"CallSid": voice.provider_sid or "", "AccountSid": stack.settings.twilio_account_sid}
    dup = await signed_post(stack.settings, path, {**base, "CallStatus": "completed"})
    late = await signed_post(stack.settings, path, {**base, "CallStatus": "ringing"})
    odd = await signed_post(stack.settings, path, {**base, "CallStatus": "teleported"})
    assert (dup.json(), late.json(), odd.json()) == ({"result": "ignored"},) * 3
    after = await _attempts(stack, alert_id)
    assert [a.status for a in after] == ["completed"]  # no fallback to SMS was triggered
    assert (await _alert(stack, alert_id)).status == "delivered"


async def test_forged_webhook_is_refused_and_changes_nothing(stack: Stack) -> None:
    alert_id = await _one_alert(stack, order=("voice",))
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
    [voice] = await _attempts(stack, alert_id)
    params = {"CallSid": voice.provider_sid or "", "CallStatus": "no-answer"}
    for path, sig in [
        (f"/webhooks/twilio/voice/{voice.id}/status", "forged"),
        (f"/webhooks/twilio/voice/{voice.id}/status", ""),
        (f"/webhooks/twilio/voice/{voice.id}/gather?n=1&tries=0", "bm9wZQ=="),
    ]:
        resp = await signed_post(stack.settings, path, {**params, "Digits": "1"}, signature=sig)
        assert resp.status_code == 403
        assert "X-Twilio-Signature" in resp.json()["detail"]
    # A signature computed for another URL (e.g. a wrong public URL) is refused too.
    from twilio.request_validator import RequestValidator

    other = RequestValidator(stack.settings.twilio_auth_token).compute_signature(
        "https://elsewhere.example.com/webhooks/twilio/sms/inbound", params
    )
    resp = await signed_post(
        stack.settings,
        "/webhooks/twilio/sms/inbound",
        {"From": "+15550002222", "Body": "2"},
        signature=other,
    )
    assert resp.status_code == 403
    [after] = await _attempts(stack, alert_id)
    assert after.status == voice.status
    assert (await _alert(stack, alert_id)).status == "delivered"
    async with stack.runtime.deps.sessions() as session:
        from alerts.models import Response

        assert (await session.exec(select(Response))).all() == []


async def test_answer_cancels_the_rest_of_the_plan(stack: Stack) -> None:
    stack.set_scenario({"recipients": {"+15550002222": {"voice": {"answer": "busy"}}}})
    deps = stack.runtime.deps
    await set_delivery(deps, fallback_wait_seconds=3600)  # the SMS would follow in an hour
    alert_id = await _one_alert(stack, order=("voice", "sms", "email"))
    await drain(stack.runtime, timeout=30, idle_check=stack.idle)
    alert = await _alert(stack, alert_id)
    assert alert.current_step == 1 and alert.status == "pending"
    # The customer calls back in / replies to an earlier message: an answer by SMS closes it.
    resp = await signed_post(
        stack.settings,
        "/webhooks/twilio/sms/inbound",
        {
            "MessageSid": "SM" + "1" * 32,
            "From": "+15550002222",
            "To": stack.settings.twilio.from_number,
            "Body": "2",
        },
    )
    assert resp.status_code == 200
    # The matched alert is closed only if an SMS was sent; here none was, so it is unmatched.
    alert = await _alert(stack, alert_id)
    assert alert.status == "pending"
    # Force the step due now: the woken job sees the alert closed and does nothing.
    from alerts.responses.record import record_response

    await record_response(
        deps=deps,
        dedupe_key="test:agent",
        attempt_id=None,
        channel="sms",
        key="2",
        text="2",
        now=utcnow(),
        alert_id=alert_id,
    )
    result = await run_step(
        deps=deps, alert_id=alert_id, step_index=1, now=datetime.max.replace(tzinfo=utcnow().tzinfo)
    )
    assert result.action == "skipped"
    assert len(await _attempts(stack, alert_id)) == 1
    assert not stack.sim.state.messages
