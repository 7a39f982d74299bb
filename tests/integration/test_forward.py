"""Forward with a comment: a copy to someone else, with the note, no account data, no way to act."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlmodel import col, select

from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from alerts.models import Alert, HandOff, Response, StatusChange
from alerts.responses.values import context_of
from herald.worker import drain
from tests.conftest import Stack
from tests.factories import attempts_of, callback_at_of, mail_text, make_customer, make_event

pytestmark = pytest.mark.integration


async def test_forward_sends_a_safe_copy_with_the_note(stack: Stack) -> None:
    deps = stack.runtime.deps
    await make_customer(deps, name="Ann Smith", email="ann@example.com", order=("email",))
    await make_event(deps, description="Prime Motors Ltd")
    [alert_id] = await evaluate_pending(deps=deps, now=utcnow())
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
    [mail] = stack.sink.messages
    text = mail_text(mail)
    link = re.search(r"Forward this alert to someone, with a note: (\S+)", text)
    assert link
    async with httpx.AsyncClient(timeout=10) as client:
        form = await client.get(link.group(1))
        assert form.status_code == 200 and "Their email address" in form.text
        bad = await client.post(link.group(1), data={"confirm": "yes", "to": "not-an-email"})
        assert bad.status_code == 400 and "email address" in bad.text
        sent = await client.post(
            link.group(1),
            data={"confirm": "yes", "to": "Dad@Example.com", "note": "Dad, did you buy a car?"},
        )
        assert sent.status_code == 200 and "dad@example.com" in sent.text
        for _ in range(2):
            await client.post(link.group(1), data={"confirm": "yes", "to": "x@example.com"})
        fourth = await client.post(link.group(1), data={"confirm": "yes", "to": "y@example.com"})
        assert fourth.status_code == 429
    # Each copy is a step of the alert, sent by the email worker like any other.
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
    copies = [m for m in stack.sink.messages if m["To"] == "dad@example.com"]
    assert len(copies) == 1
    body = mail_text(copies[0])
    assert "Ann shared an alert" in copies[0]["Subject"]
    assert "Dad, did you buy a car?" in body and "€750.00" in body and "Prime Motors" in body
    assert "NL91" not in body and "4300" not in body  # no account number, not even its end
    assert "/r/" not in body and "/r/" not in mail_text(
        copies[0], "html"
    )  # nothing in it can act on the account
    async with deps.sessions() as session:
        responses = (await session.exec(select(Response))).all()
        alert = await session.get(Alert, alert_id)
    assert [r.intent for r in responses] == ["forward"] * 3
    assert alert is not None and alert.status == "delivered"  # forwarding does not answer it
    # Each copy is an alert of its own, delivered like any other (an attempt, its statuses).
    async with deps.sessions() as session:
        copies_sent = (
            await session.exec(
                select(Alert).where(Alert.alert_type == "forward").order_by(col(Alert.id))
            )
        ).all()
    sent_to = [
        (a.channel, a.address, a.status)
        for c in copies_sent
        for a in await attempts_of(deps, c.id or 0)
    ]
    assert sent_to == [
        ("email", "dad@example.com", "sent"),
        ("email", "x@example.com", "sent"),
        ("email", "x@example.com", "sent"),
    ]
    assert [c.context["forwarded_alert"] for c in copies_sent] == [alert_id] * 3


async def test_call_me_now_places_a_call_that_reaches_an_agent(stack: Stack) -> None:
    deps = stack.runtime.deps
    await make_customer(deps, phone="+15550005555", email="ann@example.com", order=("email",))
    await make_event(deps)
    [alert_id] = await evaluate_pending(deps=deps, now=utcnow())
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
    text = mail_text(stack.sink.messages[0])
    link = re.search(r"Call me now: (\S+)", text)
    assert link
    async with httpx.AsyncClient(timeout=10) as client:
        page = await client.get(link.group(1))
        assert "Call me now" in page.text and not stack.sim.state.calls  # GET does nothing
        done = await client.post(link.group(1), data={"confirm": "yes"})
    assert done.status_code == 200 and "calling you now" in done.text
    await _calls_placed(stack)
    [call] = stack.sim.state.calls.values()
    assert call.to == "+15550005555"
    dials = [t for t in call.transcript if t.get("verb") == "Dial"]
    assert dials and dials[0]["number"] == stack.settings.callcentre.phone_number
    async with deps.sessions() as session:
        [handoff] = (await session.exec(select(HandOff))).all()
        alert = await session.get(Alert, alert_id)
    # Offered while Herald called, connected when Ann answered and was put through, completed
    # when the transfer to the centre reported that they talked.
    assert handoff.kind == "call_now" and handoff.status == "completed"
    assert await moves(stack, handoff.id) == [
        ("queued", "offer", "offered"),
        ("offered", "connect", "connected"),
        ("connected", "complete", "completed"),
    ]
    assert context_of(handoff).call_sid == call.sid
    assert handoff.closed_at is not None
    assert alert is not None and alert.status == "closed"
    # The call is an alert of its own, delivered like any other: an attempt with its statuses.
    async with deps.sessions() as session:
        [placed] = (await session.exec(select(Alert).where(Alert.alert_type == "call_now"))).all()
    assert placed.plan[0].handoff_id == handoff.id and placed.status == "delivered"
    [attempt] = await attempts_of(deps, placed.id or 0)
    assert (attempt.provider_sid, attempt.status) == (call.sid, "completed")
    [whisper] = [t for t in call.transcript if t.get("verb") == "Whisper"]
    assert "They pressed" in whisper["text"]


async def moves(stack: Stack, handoff_id: int | None) -> list[tuple[str, str, str]]:
    """The hand-off's applied status moves, in order."""
    async with stack.runtime.deps.sessions() as session:
        rows = await session.exec(
            select(StatusChange)
            .where(StatusChange.entity == "handoff", StatusChange.entity_id == handoff_id)
            .order_by(col(StatusChange.id))
        )
        return [(c.from_status, c.event, c.to_status) for c in rows.all() if c.applied]


async def _ask_to_be_called(stack: Stack, phone: str = "+15550005555") -> int:
    """Ann's email went out; she presses "Call me now" on its page. The alert's id."""
    deps = stack.runtime.deps
    await make_customer(deps, phone=phone, email="ann@example.com", order=("email",))
    await make_event(deps)
    [alert_id] = await evaluate_pending(deps=deps, now=utcnow())
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
    text = mail_text(stack.sink.messages[0])
    link = re.search(r"Call me now: (\S+)", text)
    assert link
    async with httpx.AsyncClient(timeout=10) as client:
        done = await client.post(link.group(1), data={"confirm": "yes"})
    assert done.status_code == 200 and "calling you now" in done.text
    await _calls_placed(stack)
    return alert_id


async def _calls_placed(stack: Stack) -> None:
    """The voice worker places the call (a step like any other); its callbacks come in."""
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
    await stack.sim.wait_idle(10)


async def _only_handoff(stack: Stack) -> HandOff:
    async with stack.runtime.deps.sessions() as session:
        [handoff] = (await session.exec(select(HandOff))).all()
        return handoff


@pytest.mark.parametrize("answer", ["no-answer", "busy"])
async def test_call_me_now_not_answered_goes_back_to_the_agents(stack: Stack, answer: str) -> None:
    stack.set_scenario({"recipients": {"+15550005555": {"voice": {"answer": answer}}}})
    await _ask_to_be_called(stack)
    handoff = await _only_handoff(stack)
    assert (handoff.kind, handoff.status) == ("callback", "queued")
    assert await moves(stack, handoff.id) == [
        ("queued", "offer", "offered"),
        ("offered", "release", "queued"),
    ]
    expected = "did not answer" if answer == "no-answer" else "line was busy"
    assert expected in (context_of(handoff).why or "")


async def test_call_me_now_answered_by_a_voicemail_is_not_put_through(stack: Stack) -> None:
    stack.set_scenario({"recipients": {"+15550005555": {"voice": {"answer": "machine"}}}})
    await _ask_to_be_called(stack)
    [call] = stack.sim.state.calls.values()
    assert not [t for t in call.transcript if t.get("verb") == "Dial"]
    handoff = await _only_handoff(stack)
    assert (handoff.kind, handoff.status) == ("callback", "queued")
    assert "voicemail" in (context_of(handoff).why or "")


async def test_a_call_me_now_call_that_fails_fails_the_handoff(stack: Stack) -> None:
    stack.set_scenario({"recipients": {"+15550005555": {"voice": {"answer": "failed"}}}})
    await _ask_to_be_called(stack)
    handoff = await _only_handoff(stack)
    assert handoff.status == "failed" and handoff.closed_at is not None
    assert await moves(stack, handoff.id) == [
        ("queued", "offer", "offered"),
        ("offered", "fail", "failed"),
    ]


async def test_call_me_now_while_the_centre_is_closed_becomes_a_callback(stack: Stack) -> None:
    from datetime import UTC, datetime

    from callcentre.models import CentreConfig
    from callcentre.state import DAYS

    deps = stack.runtime.deps
    await make_customer(deps, phone="+15550005555", email="ann@example.com", order=("email",))
    await make_event(deps)
    await evaluate_pending(deps=deps, now=utcnow())
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
    text = mail_text(stack.sink.messages[0])
    link = re.search(r"Call me now: (\S+)", text)
    assert link
    # The email went out while the centre was open; it has closed since (open 2-3 hours ahead).
    start = (datetime.now(UTC).hour + 2) % 24
    span = f"{start:02d}:00-{start + 1:02d}:00"
    async with deps.sessions() as session:
        for row in (await session.exec(select(CentreConfig))).all():
            row.hours = {"timezone": "UTC", "weekly": {d: [span] for d in DAYS}}
            session.add(row)
        await session.commit()
    async with httpx.AsyncClient(timeout=10) as client:
        done = await client.post(link.group(1), data={"confirm": "yes"})
    assert done.status_code == 200 and "closed right now" in done.text
    assert not stack.sim.state.calls  # nobody is called into an empty call centre
    async with deps.sessions() as session:
        [handoff] = (await session.exec(select(HandOff))).all()
    assert handoff.kind == "callback"
    assert callback_at_of(handoff).hour == start
