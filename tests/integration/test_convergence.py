"""State that converges, against the Twilio simulator over HTTP (issue 17.6): a status callback
that never arrives, or that Herald answered with a 500, is made up for by the sweep asking Twilio
(the official twilio library's fetch by sid); a send adopted after a crash with a final status
moves the plan on (fallback) like a fresh send's callback."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from alerts.delivery import statuses
from alerts.delivery.reconcile import STUCK_AFTER_S, converge
from alerts.delivery.steps import run_step
from alerts.models import Alert, DeliveryAttempt
from alerts.responses import matching
from channels.base import Channel, OutboundMessage, Receipt
from herald.worker import drain
from tests.conftest import Stack
from tests.factories import make_customer, make_event

pytestmark = pytest.mark.integration
PHONE = "+15550004444"


class DropsCallbacks:
    """Wraps the real channel: Twilio is never told where to send its status callbacks, as if
    every callback had been lost on the way (an API outage, a proxy dropping them)."""

    def __init__(self, inner: Channel) -> None:
        self.inner = inner
        self.key = inner.key
        self.kind = inner.kind

    async def send(self, message: OutboundMessage) -> Receipt:
        return await self.inner.send(replace(message, status_callback=None))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class WorkerKilled(BaseException):
    """Raised right after Twilio accepted, before Herald commits its answer."""


class DiesAfterSend(DropsCallbacks):
    async def send(self, message: OutboundMessage) -> Receipt:
        await super().send(message)
        raise WorkerKilled


async def _one_alert(stack: Stack, order: tuple[str, ...]) -> int:
    deps = stack.runtime.deps
    await make_customer(deps, phone=PHONE, order=order)
    await make_event(deps)
    [alert_id] = await evaluate_pending(deps=deps, now=utcnow())
    return alert_id


async def _state(stack: Stack, alert_id: int) -> tuple[str, list[tuple[str, str]]]:
    async with stack.runtime.deps.sessions() as session:
        alert = await session.get(Alert, alert_id)
        attempts = (
            await session.exec(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.alert_id == alert_id)
                .order_by(col(DeliveryAttempt.step_index))
            )
        ).all()
    assert alert is not None
    return alert.status, [(a.channel, a.status) for a in attempts]


async def _later() -> Any:
    return utcnow() + timedelta(seconds=STUCK_AFTER_S + 5)


@pytest.mark.parametrize(
    ("channel", "final"), [("sms", "delivered"), ("voice", "completed")], ids=["sms", "voice"]
)
async def test_a_send_whose_callbacks_never_came_is_looked_up_at_twilio(
    stack: Stack, channel: str, final: str
) -> None:
    stack.set_scenario(
        {"default": {"sms": {"delivery": "delivered"}, "voice": {"answer": "human"}}}
    )
    alert_id = await _one_alert(stack, (channel,))
    deps = stack.runtime.deps
    real = deps.channels[channel]
    deps.channels[channel] = DropsCallbacks(real)
    try:
        await drain(stack.runtime, timeout=30, idle_check=stack.idle)
    finally:
        deps.channels[channel] = real
    await stack.sim.wait_idle(20)
    sent = stack.sim.state.messages if channel == "sms" else stack.sim.state.calls
    [message] = [m for m in sent.values() if m.to == PHONE]
    assert message.status == final.replace("_", "-")  # Twilio knows; Herald was never told
    assert await _state(stack, alert_id) == ("delivering", [(channel, "sent")])

    done = await converge(deps=deps, now=await _later())
    assert len(done.looked_up) == 1 and len(done.applied) == 1
    assert await _state(stack, alert_id) == ("delivered", [(channel, final)])
    assert len(sent) == 1  # looking up sends nothing


async def test_a_callback_answered_with_a_500_is_made_up_for_by_the_sweep(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.set_scenario({"default": {"sms": {"delivery": "delivered"}}})
    alert_id = await _one_alert(stack, ("sms", "email"))
    deps = stack.runtime.deps

    async def database_down(**_: object) -> None:
        raise ConnectionError("the database went away")

    async def down_at_the_statement(*_: Any, **__: Any) -> object:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(statuses, "reached", database_down)  # the ORM follow-up (SQLite)
    # PostgreSQL: an SMS status is one statement, atomic on its own (no transaction round it):
    # the database is gone when it is sent.
    monkeypatch.setattr(statuses, "move_attempt_and_reach", down_at_the_statement)
    await drain(stack.runtime, timeout=30, idle_check=stack.idle)
    await stack.sim.wait_idle(20)
    [message] = stack.sim.state.messages.values()
    answers = [r.status for r in message.requests if "/status" in r.url]
    assert 500 in answers, answers  # Herald failed the "delivered" callback
    # The move and its follow-up are one transaction: neither happened.
    assert await _state(stack, alert_id) == ("delivering", [("sms", "sent")])

    monkeypatch.undo()  # the database is back; Twilio does not call again
    done = await converge(deps=deps, now=await _later())
    assert len(done.applied) == 1
    assert await _state(stack, alert_id) == ("delivered", [("sms", "delivered")])
    assert not stack.sink.messages  # reached by text: the email step is not sent


async def test_a_failed_follow_up_rolls_back_the_attempts_move_and_the_sweep_makes_it_up(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A text not delivered needs the plan (fall back to email): on PostgreSQL the attempt is
    moved by one statement, then ``pass_on`` runs in the same transaction. The database failing
    in ``pass_on`` must undo the statement's move too, or the sweep would find the attempt
    final and never fall back."""
    stack.set_scenario({"default": {"sms": {"delivery": "undelivered", "error_code": 30003}}})
    alert_id = await _one_alert(stack, ("sms", "email"))
    deps = stack.runtime.deps

    async def down_in_the_follow_up(*_: Any, **__: Any) -> None:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(statuses, "pass_on", down_in_the_follow_up)  # the callback's own path
    monkeypatch.setattr(matching, "pass_on", down_in_the_follow_up)  # as the webhook calls it
    await drain(stack.runtime, timeout=30, idle_check=stack.idle)
    await stack.sim.wait_idle(20)
    [message] = stack.sim.state.messages.values()
    answers = [r.status for r in message.requests if "/status" in r.url]
    assert 500 in answers, answers
    assert await _state(stack, alert_id) == ("delivering", [("sms", "sent")])
    assert not stack.sink.messages

    monkeypatch.undo()
    later = await _later()
    done = await converge(deps=deps, now=later)
    assert len(done.applied) == 1  # found undelivered at Twilio: the plan falls back
    assert await _state(stack, alert_id) == ("pending", [("sms", "undelivered")])  # email next
    await run_step(deps=deps, alert_id=alert_id, step_index=1, now=later)  # the email's time
    status, attempts = await _state(stack, alert_id)
    assert attempts == [("sms", "undelivered"), ("email", "sent")]
    assert status == "delivered"
    assert len(stack.sink.messages) == 1


async def test_an_adopted_send_that_already_failed_falls_back_to_the_next_channel(
    stack: Stack,
) -> None:
    stack.set_scenario({"default": {"sms": {"delivery": "undelivered", "error_code": 30003}}})
    alert_id = await _one_alert(stack, ("sms", "email"))
    deps = stack.runtime.deps
    real = deps.channels["sms"]
    deps.channels["sms"] = DiesAfterSend(real)
    with pytest.raises(WorkerKilled):
        await run_step(deps=deps, alert_id=alert_id, step_index=0, now=utcnow())
    deps.channels["sms"] = real
    await stack.sim.wait_idle(20)  # Twilio tried and failed; nobody told Herald

    # The job runs again (arq re-runs a job whose worker died): it adopts the text Twilio
    # already has, with its final status, and passes it on to the plan as a callback would.
    await drain(stack.runtime, wait_deferred=True, timeout=60, idle_check=stack.idle)
    assert len(stack.sim.state.messages) == 1  # not sent again
    status, attempts = await _state(stack, alert_id)
    assert attempts == [("sms", "undelivered"), ("email", "sent")]
    assert status == "delivered"
    assert len(stack.sink.messages) == 1
