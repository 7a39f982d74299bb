"""Press-to-respond through the simulator: repeat, invalid keys, silence, voicemail, SMS replies."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select

from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from alerts.models import Alert, DeliveryAttempt, HandOff, Response
from alerts.responses.values import context_of
from herald.worker import drain
from tests.conftest import Stack
from tests.factories import make_customer, make_event, signed_post

pytestmark = pytest.mark.integration
PHONE = "+15550003333"


async def _run(stack: Stack, behaviour: dict[str, Any], order: tuple[str, ...]) -> int:
    stack.set_scenario({"recipients": {PHONE: behaviour}})
    deps = stack.runtime.deps
    await make_customer(deps, phone=PHONE, order=order)
    await make_event(deps)
    [alert_id] = await evaluate_pending(deps=deps, now=utcnow())
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
    return alert_id


async def _state(
    stack: Stack, alert_id: int
) -> tuple[Alert, list[DeliveryAttempt], list[Response], list[HandOff]]:
    async with stack.runtime.deps.sessions() as session:
        alert = await session.get(Alert, alert_id)
        assert alert is not None
        attempts = (
            await session.exec(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.alert_id == alert_id)
                .order_by(col(DeliveryAttempt.step_index))
            )
        ).all()
        responses = (await session.exec(select(Response).order_by(col(Response.id)))).all()
        handoffs = (await session.exec(select(HandOff))).all()
    return alert, list(attempts), list(responses), list(handoffs)


def _said(stack: Stack) -> list[str]:
    [call] = [c for c in stack.sim.state.calls.values() if c.to == PHONE]
    return [t.get("text", "") for t in call.transcript if t.get("verb") == "Say"]


async def test_press_9_repeats_the_message_then_2_confirms(stack: Stack) -> None:
    alert_id = await _run(stack, {"voice": {"answer": "human", "presses": ["9", "2"]}}, ("voice",))
    said = _said(stack)
    assert sum("A payment of 750.00 euros to Shop Ltd" in s for s in said) == 2
    alert, _, responses, handoffs = await _state(stack, alert_id)
    assert [(r.key, r.intent) for r in responses] == [("9", "repeat"), ("2", "confirm")]
    assert alert.status == "closed" and handoffs == []


async def test_invalid_key_reprompts_once_then_valid_key_counts(stack: Stack) -> None:
    alert_id = await _run(stack, {"voice": {"answer": "human", "presses": ["5", "1"]}}, ("voice",))
    said = _said(stack)
    assert "Sorry, that is not a valid choice." in said
    alert, _, responses, handoffs = await _state(stack, alert_id)
    assert [r.intent for r in responses] == ["unknown", "agent"]
    assert [h.kind for h in handoffs] == ["live_transfer"] and alert.status == "closed"


async def test_two_invalid_keys_say_goodbye(stack: Stack) -> None:
    alert_id = await _run(stack, {"voice": {"answer": "human", "presses": ["5", "7"]}}, ("voice",))
    said = _said(stack)
    assert said[-1] == "We did not receive an answer. Goodbye."
    alert, attempts, _, handoffs = await _state(stack, alert_id)
    assert attempts[0].status == "completed" and alert.status == "delivered" and handoffs == []


async def test_silence_reprompts_once_then_says_goodbye(stack: Stack) -> None:
    alert_id = await _run(stack, {"voice": {"answer": "human", "presses": []}}, ("voice", "sms"))
    said = _said(stack)
    prompts = [s for s in said if "Speak to an agent: press 1." in s]
    assert len(prompts) == 2  # the menu, then one re-prompt
    assert said[-1] == "We did not receive an answer. Goodbye."
    alert, attempts, responses, _ = await _state(stack, alert_id)
    # A person heard the alert: delivered, no SMS needed.
    assert [a.channel for a in attempts] == ["voice"] and responses == []
    assert alert.status == "delivered"


async def test_voicemail_leaves_no_account_data_and_sms_follows(stack: Stack) -> None:
    alert_id = await _run(
        stack, {"voice": {"answer": "machine"}, "sms": {"delivery": "delivered"}}, ("voice", "sms")
    )
    said = _said(stack)
    assert len(said) == 1 and "please call us on" in said[0].lower()
    assert "750" not in said[0] and "Shop Ltd" not in said[0]
    _, attempts, _, _ = await _state(stack, alert_id)
    assert [(a.channel, a.status) for a in attempts] == [
        ("voice", "completed"),
        ("sms", "delivered"),
    ]


async def test_sms_reply_1_asks_for_a_callback(stack: Stack) -> None:
    alert_id = await _run(stack, {"sms": {"delivery": "delivered", "reply": "1"}}, ("sms",))
    alert, _, responses, handoffs = await _state(stack, alert_id)
    assert [(r.channel, r.intent) for r in responses] == [("sms", "agent")]
    assert [h.kind for h in handoffs] == ["callback"]
    assert context_of(handoffs[0]).answer.text == "1"
    assert alert.status == "closed"
    replies = [m for m in stack.sim.state.messages.values() if m.direction == "outbound-reply"]
    assert replies and "An agent will call you back" in replies[0].body


async def test_free_text_reply_becomes_a_task_with_the_text(stack: Stack) -> None:
    alert_id = await _run(
        stack,
        {"sms": {"delivery": "delivered", "reply": "I never bought this, call me after 6"}},
        ("sms",),
    )
    alert, _, responses, handoffs = await _state(stack, alert_id)
    assert [r.intent for r in responses] == ["unknown"]
    assert handoffs[0].kind == "callback"
    assert context_of(handoffs[0]).answer.text == "I never bought this, call me after 6"
    assert alert.status == "delivered"  # still open: an agent decides


async def test_reply_from_unknown_number_is_kept_for_an_agent(stack: Stack) -> None:
    for _ in range(2):  # Twilio may deliver the same webhook twice
        resp = await signed_post(
            stack.settings,
            "/webhooks/twilio/sms/inbound",
            {
                "MessageSid": "SM" + "2" * 32,
                "From": "+15559990000",
                "To": stack.settings.twilio.from_number,
                "Body": "who is this?",
            },
        )
        assert resp.status_code == 200
    async with stack.runtime.deps.sessions() as session:
        responses = (await session.exec(select(Response))).all()
        handoffs = (await session.exec(select(HandOff))).all()
    assert [(r.alert_id, r.text) for r in responses] == [(None, "who is this?")]  # once
    assert len(handoffs) == 1
