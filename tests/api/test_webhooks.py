"""The Twilio webhooks with correctly signed requests: a request that does not match the
attempt or hand-off its path names is refused (404 / 409) and kept as ignored in the customer's
history, never a 500 and never an answer on another alert; an answer to an alert that already
has its answer is late and does nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from lxml import etree
from sqlmodel import col, select
from twilio.request_validator import RequestValidator

from alerts.customers.history import customer_history
from alerts.models import Alert, AttemptEvent, HandOff, Response, StatusChange
from alerts.responses.voice_script import ALREADY_ANSWERED
from herald.app import create_app
from herald.config import Settings
from herald.runtime import Runtime
from tests.service.alerts.responses.conftest import send_alert

ANN_CALL = "CA" + "a" * 32
BOB_CALL = "CA" + "b" * 32


@dataclass
class Customer:
    ref: str
    alert_id: int
    voice: int
    sms: int
    call_sid: str


@dataclass
class Twilio:
    """Posts to Herald the way Twilio does: form-encoded and signed for the full URL."""

    client: httpx.AsyncClient
    settings: Settings

    async def post(self, path: str, params: dict[str, str]) -> httpx.Response:
        url = self.settings.public_url + path
        signature = RequestValidator(self.settings.twilio_auth_token).compute_signature(url, params)
        return await self.client.post(path, data=params, headers={"X-Twilio-Signature": signature})


@pytest.fixture
async def twilio(settings: Settings, runtime: Runtime) -> AsyncIterator[Twilio]:
    transport = httpx.ASGITransport(app=create_app(settings, runtime))
    async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as client:
        yield Twilio(client, settings)


@pytest.fixture
async def ann(runtime: Runtime) -> Customer:
    alert_id, _, attempts = await send_alert(
        runtime.deps, ref="C-1", name="Ann Smith", phone="+15550001111", call_sid=ANN_CALL
    )
    return Customer("C-1", alert_id, attempts["voice"], attempts["sms"], ANN_CALL)


@pytest.fixture
async def bob(runtime: Runtime) -> Customer:
    alert_id, _, attempts = await send_alert(
        runtime.deps, ref="C-2", name="Bob Jones", phone="+15550002222", call_sid=BOB_CALL
    )
    return Customer("C-2", alert_id, attempts["voice"], attempts["sms"], BOB_CALL)


def call(customer: Customer, **extra: str) -> dict[str, str]:
    return {
        "CallSid": customer.call_sid,
        "CallStatus": "in-progress",
        "From": "+15550000000",
        "To": "+15550001111",
        **extra,
    }


def said(response: httpx.Response) -> list[str]:
    document = etree.fromstring(response.content)
    return [el.text or "" for el in document.iter("Say")]


async def status_of(runtime: Runtime, alert_id: int) -> str:
    async with runtime.deps.sessions() as session:
        alert = await session.get(Alert, alert_id)
        assert alert is not None
        return alert.status


async def answers_and_handoffs(runtime: Runtime) -> tuple[list[Response], list[HandOff]]:
    async with runtime.deps.sessions() as session:
        responses = (await session.exec(select(Response))).all()
        handoffs = (await session.exec(select(HandOff))).all()
    return list(responses), list(handoffs)


async def ignored_in_history(runtime: Runtime, customer: Customer, attempt_id: int) -> list[str]:
    """The refusals the customer's history shows on one of their attempts."""
    async with runtime.deps.sessions() as session:
        history = await customer_history(session=session, external_ref=customer.ref)
    assert history is not None
    view = history.model_dump(mode="json")
    [alert] = [a for event in view["events"] for a in event["alerts"]]
    [attempt] = [a for a in alert["attempts"] if a["id"] == attempt_id]
    return [h["detail"] for h in attempt["history"] if not h["applied"]]


async def test_an_unsigned_request_is_refused(twilio: Twilio, ann: Customer) -> None:
    response = await twilio.client.post(
        f"/webhooks/twilio/voice/{ann.voice}/gather?n=1", data=call(ann, Digits="1")
    )
    assert response.status_code == 403
    assert "X-Twilio-Signature" in response.json()["detail"]


async def test_the_script_for_an_sms_attempt_is_a_409_not_a_500(
    twilio: Twilio, runtime: Runtime, ann: Customer
) -> None:
    response = await twilio.post(f"/webhooks/twilio/voice/{ann.sms}/twiml", call(ann))
    assert response.status_code == 409
    assert "is an sms attempt, not a call" in response.json()["detail"]
    [why] = await ignored_in_history(runtime, ann, ann.sms)
    assert "not a call" in why


async def test_the_script_for_an_attempt_that_does_not_exist_is_a_404(
    twilio: Twilio, ann: Customer
) -> None:
    response = await twilio.post("/webhooks/twilio/voice/999999/twiml", call(ann))
    assert response.status_code == 404


async def test_the_script_of_the_attempts_own_call_is_served(twilio: Twilio, ann: Customer) -> None:
    response = await twilio.post(f"/webhooks/twilio/voice/{ann.voice}/twiml", call(ann))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert any("press 1" in text for text in said(response))


async def test_a_keypress_from_another_call_answers_nobodys_alert(
    twilio: Twilio, runtime: Runtime, ann: Customer, bob: Customer
) -> None:
    # Bob's call's keypress, posted to Ann's attempt: "1", an agent.
    response = await twilio.post(
        f"/webhooks/twilio/voice/{ann.voice}/gather?n=1&tries=0", call(bob, Digits="1")
    )
    assert response.status_code == 409
    assert BOB_CALL in response.json()["detail"]
    assert await answers_and_handoffs(runtime) == ([], [])
    assert await status_of(runtime, ann.alert_id) == "delivered"
    assert await status_of(runtime, bob.alert_id) == "delivered"
    [why] = await ignored_in_history(runtime, ann, ann.voice)
    assert f"about call {BOB_CALL}" in why and ANN_CALL in why


async def test_a_keypress_on_an_sms_attempt_records_no_voice_answer(
    twilio: Twilio, runtime: Runtime, ann: Customer
) -> None:
    response = await twilio.post(
        f"/webhooks/twilio/voice/{ann.sms}/gather?n=1", call(ann, Digits="2")
    )
    assert response.status_code == 409
    assert await answers_and_handoffs(runtime) == ([], [])
    assert await status_of(runtime, ann.alert_id) == "delivered"


async def test_a_second_key_after_confirming_is_late_and_hands_off_nothing(
    twilio: Twilio, runtime: Runtime, ann: Customer
) -> None:
    confirm = await twilio.post(
        f"/webhooks/twilio/voice/{ann.voice}/gather?n=1", call(ann, Digits="2")
    )
    assert confirm.status_code == 200 and "noted your confirmation" in said(confirm)[0]
    assert await status_of(runtime, ann.alert_id) == "closed"
    again = await twilio.post(
        f"/webhooks/twilio/voice/{ann.voice}/gather?n=2", call(ann, Digits="5")
    )
    assert again.status_code == 200
    assert said(again) == [ALREADY_ANSWERED]
    responses, handoffs = await answers_and_handoffs(runtime)
    assert [(r.key, r.intent) for r in responses] == [("2", "confirm"), ("5", "late")]
    assert handoffs == []
    assert await status_of(runtime, ann.alert_id) == "closed"


async def test_a_retried_keypress_is_one_answer(
    twilio: Twilio, runtime: Runtime, ann: Customer
) -> None:
    for _ in range(2):
        response = await twilio.post(
            f"/webhooks/twilio/voice/{ann.voice}/gather?n=1", call(ann, Digits="1")
        )
        assert response.status_code == 200
        assert etree.fromstring(response.content).find("Dial") is not None
    responses, handoffs = await answers_and_handoffs(runtime)
    assert len(responses) == 1 and [h.kind for h in handoffs] == ["live_transfer"]


async def test_an_sms_status_for_a_voice_attempt_is_refused(
    twilio: Twilio, runtime: Runtime, ann: Customer
) -> None:
    response = await twilio.post(
        f"/webhooks/twilio/sms/{ann.voice}/status",
        {"MessageSid": "SM" + "9" * 32, "MessageStatus": "undelivered", "ErrorCode": "30003"},
    )
    assert response.status_code == 409
    [why] = await ignored_in_history(runtime, ann, ann.voice)
    assert "sms status" in why
    async with runtime.deps.sessions() as session:
        events = (
            await session.exec(select(AttemptEvent).where(AttemptEvent.attempt_id == ann.voice))
        ).all()
    assert [(e.status, e.applied) for e in events] == [("ignored", False)]


async def test_a_status_of_another_call_is_refused(
    twilio: Twilio, runtime: Runtime, ann: Customer, bob: Customer
) -> None:
    response = await twilio.post(
        f"/webhooks/twilio/voice/{ann.voice}/status",
        {"CallSid": BOB_CALL, "CallStatus": "busy"},
    )
    assert response.status_code == 409
    assert await ignored_in_history(runtime, ann, ann.voice) != []


async def test_a_status_for_no_attempt_is_a_404(twilio: Twilio) -> None:
    response = await twilio.post(
        "/webhooks/twilio/voice/999999/status", {"CallSid": ANN_CALL, "CallStatus": "completed"}
    )
    assert response.status_code == 404


async def live_transfer(twilio: Twilio, runtime: Runtime, customer: Customer) -> HandOff:
    pressed = await twilio.post(
        f"/webhooks/twilio/voice/{customer.voice}/gather?n=1", call(customer, Digits="1")
    )
    assert pressed.status_code == 200
    async with runtime.deps.sessions() as session:
        return (
            await session.exec(select(HandOff).where(HandOff.alert_id == customer.alert_id))
        ).one()


async def test_the_agent_leg_of_another_call_does_not_connect_the_transfer(
    twilio: Twilio, runtime: Runtime, ann: Customer, bob: Customer
) -> None:
    handoff = await live_transfer(twilio, runtime, ann)
    wrong = await twilio.post(
        f"/webhooks/twilio/voice/whisper/{handoff.id}",
        {"CallSid": "CA" + "c" * 32, "ParentCallSid": BOB_CALL, "CallStatus": "in-progress"},
    )
    assert wrong.status_code == 409
    right = await twilio.post(
        f"/webhooks/twilio/voice/whisper/{handoff.id}",
        {"CallSid": "CA" + "d" * 32, "ParentCallSid": ANN_CALL, "CallStatus": "in-progress"},
    )
    assert right.status_code == 200 and "Ann Smith" in said(right)[0]
    async with runtime.deps.sessions() as session:
        changes = (
            await session.exec(
                select(StatusChange)
                .where(StatusChange.entity == "handoff", StatusChange.entity_id == handoff.id)
                .order_by(col(StatusChange.id))
            )
        ).all()
    assert [(c.event, c.to_status, c.applied) for c in changes] == [
        ("agent answered", "queued", False),
        ("connect", "connected", True),
    ]
    assert any(BOB_CALL in why for why in await ignored_in_history(runtime, ann, ann.voice))


async def test_the_end_of_another_calls_transfer_leaves_this_one_alone(
    twilio: Twilio, runtime: Runtime, ann: Customer, bob: Customer
) -> None:
    handoff = await live_transfer(twilio, runtime, ann)
    ended = await twilio.post(
        f"/webhooks/twilio/voice/transfer/{handoff.id}/done",
        {"CallSid": BOB_CALL, "DialCallStatus": "completed", "DialCallSid": "CA" + "e" * 32},
    )
    assert ended.status_code == 409
    async with runtime.deps.sessions() as session:
        again = await session.get(HandOff, handoff.id)
    assert again is not None and again.status == "queued"


async def test_a_call_me_now_request_of_another_call_is_refused(
    twilio: Twilio, runtime: Runtime, ann: Customer
) -> None:
    async with runtime.deps.sessions() as session:
        response = Response(
            dedupe_key="email:x", alert_id=ann.alert_id, channel="email", intent="call_me"
        )
        session.add(response)
        await session.flush()
        handoff = HandOff(
            response_id=response.id or 0,
            alert_id=ann.alert_id,
            kind="call_now",
            status="offered",
            context={
                "answer": {"channel": "email", "intent": "call_me", "at": "2026-01-01T00:00:00Z"},
                "call_sid": "CA" + "f" * 32,
            },
        )
        session.add(handoff)
        await session.commit()
    answered = await twilio.post(
        f"/webhooks/twilio/voice/connect/{handoff.id}",
        {"CallSid": BOB_CALL, "CallStatus": "in-progress", "AnsweredBy": "human"},
    )
    assert answered.status_code == 409
    # (The call's statuses go to its own attempt, checked like any other: see the mismatch
    # tests of /voice/{attempt}/status above.)
    async with runtime.deps.sessions() as session:
        again = await session.get(HandOff, handoff.id)
    assert again is not None and (again.kind, again.status) == ("call_now", "offered")


async def test_an_sms_reply_is_answered_with_one_message(
    twilio: Twilio, settings: Settings, ann: Customer
) -> None:
    response = await twilio.post(
        "/webhooks/twilio/sms/inbound",
        {
            "MessageSid": "SM" + "5" * 32,
            "From": "+15559990000",
            "To": settings.twilio.from_number,
            "Body": "who is this?",
        },
    )
    assert response.status_code == 200
    messages = etree.fromstring(response.content).findall("Message")
    assert [m.text for m in messages] == [
        "Thank you. An agent will read your message and get back to you."
    ]
