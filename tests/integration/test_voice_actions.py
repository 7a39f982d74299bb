"""The per-key routing table through the simulator: agent (Dial with whisper, or Enqueue),
automated transaction with its answer spoken back, copy by SMS, callback at a keyed-in time,
opt-out of the alert type, invalid keys re-prompting at most twice."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI, Request
from sqlmodel import col, select

from alerts.alert_types.store import get_spec, save_spec
from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from alerts.models import (
    Alert,
    DeliveryAttempt,
    HandOff,
    Preference,
    PreferenceChange,
    StatusChange,
)
from alerts.responses.actions import FAILED_TRANSACTION, callback_time
from alerts.responses.values import context_of
from channels.twilio_sim import LoopbackServer
from herald.worker import drain
from tests.conftest import Stack
from tests.factories import callback_at_of, make_customer, make_event

pytestmark = pytest.mark.integration
PHONE = "+15550004444"


class Bank:
    """A stand-in core-banking endpoint: records signed requests, answers as told."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.app = FastAPI()

        @self.app.post("/transfer")
        async def transfer(request: Request) -> Any:
            body = await request.body()
            expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            signed = hmac.compare_digest(request.headers.get("X-Herald-Signature", ""), expected)
            self.requests.append({"signed": signed, **json.loads(body)})
            if self.status != 200:
                from fastapi.responses import JSONResponse

                return JSONResponse({"error": "down"}, status_code=self.status)
            return {"ok": True, "say": "Done. 200 euros moved from your savings."}


@pytest.fixture
async def bank(stack: Stack) -> AsyncIterator[tuple[Bank, str]]:
    fake = Bank(stack.settings.transaction_signing_key)
    server = LoopbackServer(fake.app)
    async with server:
        yield fake, f"{server.url}/transfer"


async def _options(stack: Stack, endpoint: str | None = None) -> None:
    """large_debit with a full routing table, as an administrator would configure it."""
    options: list[dict[str, Any]] = [
        {"key": "1", "intent": "agent", "label": "Speak to an agent"},
        {"key": "2", "intent": "confirm", "label": "This payment was mine"},
        {"key": "3", "intent": "transaction", "label": "Block my card", "endpoint": endpoint},
        {"key": "4", "intent": "sms_copy", "label": "Send me this by text"},
        {"key": "5", "intent": "callback", "label": "Call me back later"},
        {"key": "6", "intent": "opt_out", "label": "Stop these alerts"},
        {"key": "0", "intent": "email_copy", "label": "Send me this by email"},
        {"key": "9", "intent": "repeat", "label": "Hear this again"},
    ]
    async with stack.runtime.deps.sessions() as session:
        spec = await get_spec(session, "large_debit")
        assert spec is not None
        data: dict[str, Any] = spec.as_json()
        data["options"] = [{k: v for k, v in o.items() if v is not None} for o in options]
        data["mandatory"] = False  # so that "stop these alerts" can take effect
        await save_spec(session, data, actor="test")


async def _call(stack: Stack, presses: list[str]) -> int:
    stack.set_scenario(
        {
            "recipients": {
                PHONE: {
                    "voice": {"answer": "human", "presses": presses},
                    "sms": {"delivery": "delivered"},
                }
            }
        }
    )
    deps = stack.runtime.deps
    await make_customer(deps, phone=PHONE, order=("voice", "sms", "email"))
    await make_event(deps)
    [alert_id] = await evaluate_pending(deps=deps, now=utcnow())
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
    return alert_id


def _transcript(stack: Stack, verb: str) -> list[dict[str, Any]]:
    calls = [c for c in stack.sim.state.calls.values() if c.to == PHONE]
    return [t for c in calls for t in c.transcript if t.get("verb") == verb]


async def _handoffs(stack: Stack) -> list[HandOff]:
    async with stack.runtime.deps.sessions() as session:
        return list((await session.exec(select(HandOff))).all())


async def _alert(stack: Stack, alert_id: int) -> Alert:
    async with stack.runtime.deps.sessions() as session:
        alert = await session.get(Alert, alert_id)
        assert alert is not None
        return alert


async def test_transaction_endpoint_result_is_spoken(stack: Stack, bank: tuple[Bank, str]) -> None:
    fake, url = bank
    await _options(stack, endpoint=url)
    alert_id = await _call(stack, ["3"])
    [request] = fake.requests
    assert request["signed"] and request["alert_type"] == "large_debit"
    assert request["option"] == {"key": "3", "label": "Block my card"}
    assert request["request_id"].startswith("herald-response-")
    said = [t["text"] for t in _transcript(stack, "Say")]
    assert said[-1] == "Done. 200 euros moved from your savings."
    assert (await _alert(stack, alert_id)).status == "closed"
    [task] = await _handoffs(stack)  # created with the answer, closed once the bank did it
    assert task.kind == "task" and task.status == "completed"
    assert (context_of(task).task or "").startswith("done automatically: Done. 200 euros")


async def test_a_failed_transaction_becomes_a_task_for_an_agent(
    stack: Stack, bank: tuple[Bank, str]
) -> None:
    fake, url = bank
    fake.status = 503
    await _options(stack, endpoint=url)
    await _call(stack, ["3"])
    said = [t["text"] for t in _transcript(stack, "Say")]
    assert said[-1] == FAILED_TRANSACTION
    [handoff] = await _handoffs(stack)
    assert handoff.kind == "task" and "HTTP 503" in (context_of(handoff).task or "")


async def test_agent_transfer_dials_the_centre_and_whispers_the_alert(stack: Stack) -> None:
    await _options(stack)
    await _call(stack, ["1"])
    [dial] = _transcript(stack, "Dial")
    assert dial["number"] == stack.settings.callcentre.phone_number
    [whisper] = _transcript(stack, "Whisper")
    assert "Test Person" in whisper["text"] and "750.00 EUR" in whisper["text"]
    assert "pressed 1" in whisper["text"]
    [handoff] = await _handoffs(stack)
    assert handoff.kind == "live_transfer"
    # Queued when the customer pressed 1, connected when the agent answered (the whisper),
    # completed when the transfer reported that they talked.
    assert handoff.status == "completed" and handoff.closed_at is not None
    assert await _moves(stack, handoff) == [
        ("queued", "connect", "connected"),
        ("connected", "complete", "completed"),
    ]


async def test_nobody_answering_the_transfer_leaves_a_callback_for_an_agent(stack: Stack) -> None:
    centre = stack.settings.callcentre.phone_number
    await _options(stack)
    stack.set_scenario(
        {
            "recipients": {
                PHONE: {"voice": {"answer": "human", "presses": ["1"]}},
                centre: {"voice": {"answer": "no-answer"}},
            }
        }
    )
    deps = stack.runtime.deps
    await make_customer(deps, phone=PHONE, order=("voice",))
    await make_event(deps)
    await evaluate_pending(deps=deps, now=utcnow())
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
    [dial] = _transcript(stack, "Dial")
    assert dial["status"] == "no-answer" and _transcript(stack, "Whisper") == []
    said = [t["text"] for t in _transcript(stack, "Say")]
    assert said[-1].startswith("Sorry, no agent could take your call. We will call you back")
    [handoff] = await _handoffs(stack)
    assert (handoff.kind, handoff.status) == ("callback", "queued")
    assert "no agent answered the transfer (unanswered)" in (context_of(handoff).why or "")
    assert await _moves(stack, handoff) == []


async def test_queue_mode_enqueues_the_customer(stack: Stack) -> None:
    stack.runtime.deps.transfer_queue = "card-fraud"
    await _options(stack)
    await _call(stack, ["1"])
    [enqueue] = _transcript(stack, "Enqueue")
    assert enqueue["queue"] == "card-fraud"
    assert _transcript(stack, "Dial") == []
    # Nobody took the caller from the queue before they hung up.
    [handoff] = await _handoffs(stack)
    assert handoff.status == "abandoned"
    assert await _moves(stack, handoff) == [("queued", "abandon", "abandoned")]


async def test_queue_mode_caller_taken_by_an_agent_completes(stack: Stack) -> None:
    stack.runtime.deps.transfer_queue = "card-fraud"
    await _options(stack)
    stack.set_scenario(
        {"recipients": {PHONE: {"voice": {"presses": ["1"], "in_queue": "bridged"}}}}
    )
    deps = stack.runtime.deps
    await make_customer(deps, phone=PHONE, order=("voice",))
    await make_event(deps)
    await evaluate_pending(deps=deps, now=utcnow())
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
    [handoff] = await _handoffs(stack)
    assert handoff.status == "completed"


async def _moves(stack: Stack, handoff: HandOff) -> list[tuple[str, str, str]]:
    async with stack.runtime.deps.sessions() as session:
        rows = await session.exec(
            select(StatusChange)
            .where(StatusChange.entity == "handoff", StatusChange.entity_id == handoff.id)
            .order_by(col(StatusChange.id))
        )
        return [(c.from_status, c.event, c.to_status) for c in rows.all() if c.applied]


async def test_copy_by_sms_sends_the_alert_as_a_text(stack: Stack) -> None:
    await _options(stack)
    alert_id = await _call(stack, ["4"])
    texts = [m for m in stack.sim.state.messages.values() if m.to == PHONE]
    assert len(texts) == 1 and "€750.00" in texts[0].body
    async with stack.runtime.deps.sessions() as session:
        attempts = (
            await session.exec(select(DeliveryAttempt).where(DeliveryAttempt.alert_id == alert_id))
        ).all()
    assert sorted(a.channel for a in attempts) == ["sms", "voice"]
    alert = await _alert(stack, alert_id)
    assert alert.plan[-1].reason == "the customer asked for a copy by sms"


async def test_copy_by_email_sends_the_alert_as_an_email(stack: Stack) -> None:
    await _options(stack)
    await _call(stack, ["0"])
    [mail] = [m for m in stack.sink.messages if m["To"] == "test@example.com"]
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None and "€750.00" in body.get_content()
    said = [t["text"] for t in _transcript(stack, "Say")]
    assert said[-1] == "Thank you. We will send you this message by email. Goodbye."


async def test_callback_at_the_time_keyed_in(stack: Stack) -> None:
    await _options(stack)
    await _call(stack, ["5", "1430#"])
    [handoff] = await _handoffs(stack)
    assert handoff.kind == "callback" and context_of(handoff).callback_keyed == "1430"
    at = callback_at_of(handoff)
    assert at.astimezone(ZoneInfo("UTC")).strftime("%H:%M") == "14:30"  # customer zone: UTC
    said = [t["text"] for t in _transcript(stack, "Say")]
    assert said[-1].startswith("Thank you. We will call you back at the time you chose")


async def test_callback_with_nothing_keyed_goes_to_the_first_open_slot(stack: Stack) -> None:
    await _options(stack)
    await _call(stack, ["5", "#"])
    [handoff] = await _handoffs(stack)
    assert context_of(handoff).callback_at is not None  # the centre is open: right away
    said = [t["text"] for t in _transcript(stack, "Say")]
    assert "as soon as we are open" in said[-1]


async def test_opt_out_key_records_the_customers_own_change(stack: Stack) -> None:
    await _options(stack)
    alert_id = await _call(stack, ["6"])
    async with stack.runtime.deps.sessions() as session:
        [pref] = (await session.exec(select(Preference))).all()
        [change] = (await session.exec(select(PreferenceChange))).all()
    assert pref.alert_type == "large_debit" and pref.data == {"opted_out": True}
    assert change.actor == "customer (voice answer)"
    assert (await _alert(stack, alert_id)).status == "closed"
    # The next large debit for this customer is skipped: they said stop.
    await make_event(stack.runtime.deps, event_id="E-2")
    assert await evaluate_pending(deps=stack.runtime.deps, now=utcnow()) == []


async def test_invalid_keys_reprompt_twice_then_a_valid_key_counts(stack: Stack) -> None:
    await _options(stack)
    alert_id = await _call(stack, ["7", "8", "2"])
    said = [t["text"] for t in _transcript(stack, "Say")]
    assert said.count("Sorry, that is not a valid choice.") == 2
    assert (await _alert(stack, alert_id)).status == "closed"


async def test_three_invalid_keys_say_goodbye(stack: Stack) -> None:
    await _options(stack)
    await _call(stack, ["7", "8", "*"])
    said = [t["text"] for t in _transcript(stack, "Say")]
    assert said.count("Sorry, that is not a valid choice.") == 2
    assert said[-1] == "We did not receive an answer. Goodbye."


def test_callback_time_is_the_next_such_time_in_the_customers_zone() -> None:
    now = datetime(2026, 3, 28, 23, 30, tzinfo=ZoneInfo("UTC"))  # Sunday 00:30 in Amsterdam
    at = callback_time("0930", tz="Europe/Amsterdam", now=now)
    assert at is not None
    local = at.astimezone(ZoneInfo("Europe/Amsterdam"))
    assert (local.day, local.hour, local.minute) == (29, 9, 30)  # same local day, after DST
    assert at.utcoffset() is not None and at.astimezone(ZoneInfo("UTC")).hour == 7
    assert callback_time("99", tz="UTC", now=now) is None
    assert callback_time("", tz="UTC", now=now) is None


async def test_the_call_speaks_the_customers_language_with_its_voice(stack: Stack) -> None:
    async with stack.runtime.deps.sessions() as session:
        spec = await get_spec(session, "large_debit")
        assert spec is not None
        data: dict[str, Any] = spec.as_json()
        data["content"]["nl"] = {
            "voice": {
                "message": "Er is {{ amount }} {{ currency }} afgeschreven bij {{ description }}.",
                "prompt": "{{ options_prompt }}",
            }
        }
        await save_spec(session, data, actor="test")
    stack.set_scenario({"recipients": {PHONE: {"voice": {"answer": "human", "presses": ["2"]}}}})
    deps = stack.runtime.deps
    customer = await make_customer(deps, phone=PHONE, order=("voice",))
    async with deps.sessions() as session:
        from alerts.models import Customer

        row = await session.get(Customer, customer.id)
        assert row is not None
        row.locale = "nl-BE"
        session.add(row)
        await session.commit()
    await make_event(deps)
    await evaluate_pending(deps=deps, now=utcnow())
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
    says = _transcript(stack, "Say")
    assert says[0]["text"].startswith("Er is 750.00 EUR afgeschreven bij Shop Ltd.")
    assert {(s["voice"], s["language"]) for s in says} == {("Polly.Lotte", "nl-NL")}
