"""A live transfer put through to one agent's own line, end to end: the arq worker places the
alert's call on the Twilio simulator, the simulated customer presses 1 (routed to the fraud
queue), Herald's keypress webhook routes the hand-off to the fraud agent who has been
available longest and answers a <Dial> of that agent's line; the simulator rings it, posts
the whisper request for the agent's leg and reports how the transfer ended. Also: the agent's
line not answering (a callback for the queue, the agent set away), and nobody with a line
(the centre's number rings, as before)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from admin_ui.users import create_user
from alerts.alert_types.store import get_spec, save_spec
from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from alerts.models import HandOff, StatusChange, User
from alerts.responses.values import context_of
from callcentre.console import work_for
from callcentre.queues import QueueIn, agent_state, save_queue, set_agent_state, set_skills
from callcentre.routing import set_agent_line
from herald.worker import drain
from tests.conftest import Stack
from tests.factories import make_customer, make_event

pytestmark = pytest.mark.integration
PHONE = "+15550003333"
FRED, FAY, GINA = "+15550007001", "+15550007002", "+15550007003"


async def _centre(stack: Stack, agents: dict[str, tuple[list[str], str | None]]) -> None:
    """large_debit's key 1 routed to the fraud queue; the agents available at their consoles
    (the first in ``agents`` the longest), each with their skills and line."""
    deps = stack.runtime.deps
    async with deps.sessions() as session:
        await save_queue(session=session, key="fraud", queue=QueueIn(name="Fraud", priority=80))
        spec = await get_spec(session, "large_debit")
        assert spec is not None
        data: dict[str, Any] = spec.as_json()
        data["options"] = [
            {
                "key": "1",
                "intent": "agent",
                "label": "Speak to a fraud specialist",
                "queue": "fraud",
            },
            {"key": "2", "intent": "confirm", "label": "This payment was mine"},
        ]
        await save_spec(session, data, actor="test")
        now = utcnow()
        for n, (name, (skills, line)) in enumerate(agents.items()):
            user = await create_user(
                session=session, username=name, password="correct horse battery", role="agent"
            )
            assert user.id is not None
            await set_skills(session=session, user=user, queues=skills)
            await set_agent_line(session=session, user_id=user.id, raw=line or "", now=now)
            state = await set_agent_state(
                session=session, user_id=user.id, state="available", now=now
            )
            state.changed_at = now - timedelta(minutes=10 - n)  # the first waited longest
            session.add(state)
            await session.commit()


async def _call(stack: Stack, dialled: dict[str, str]) -> None:
    """The customer answers and presses 1; ``dialled``: how each agent line answers."""
    stack.set_scenario(
        {
            "recipients": {
                PHONE: {"voice": {"answer": "human", "presses": ["1"]}},
                **{number: {"voice": {"answer": how}} for number, how in dialled.items()},
            }
        }
    )
    deps = stack.runtime.deps
    await make_customer(deps, phone=PHONE, order=("voice",))
    await make_event(deps)
    await evaluate_pending(deps=deps, now=utcnow())
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)


def _transcript(stack: Stack, verb: str) -> list[dict[str, Any]]:
    calls = [c for c in stack.sim.state.calls.values() if c.to == PHONE]
    return [t for c in calls for t in c.transcript if t.get("verb") == verb]


async def _handoff(stack: Stack) -> HandOff:
    async with stack.runtime.deps.sessions() as session:
        [handoff] = (await session.exec(select(HandOff))).all()
        return handoff


async def _moves(stack: Stack, handoff: HandOff) -> list[tuple[str, str, str, str]]:
    async with stack.runtime.deps.sessions() as session:
        rows = await session.exec(
            select(StatusChange)
            .where(StatusChange.entity == "handoff", StatusChange.entity_id == handoff.id)
            .order_by(col(StatusChange.id))
        )
        return [(c.from_status, c.event, c.to_status, c.actor) for c in rows.all() if c.applied]


async def _state_of(stack: Stack, username: str) -> str:
    async with stack.runtime.deps.sessions() as session:
        user = (await session.exec(select(User).where(User.username == username))).one()
        state = await agent_state(session, user.id or 0)
        assert state is not None
        return state.state


async def test_pressing_1_puts_the_call_through_to_the_available_fraud_agents_line(
    stack: Stack,
) -> None:
    await _centre(
        stack,
        {"gina": (["general"], GINA), "fred": (["fraud"], FRED), "fay": (["fraud"], FAY)},
    )
    await _call(stack, {})
    [dial] = _transcript(stack, "Dial")
    # Fred, not the centre, not Gina (general queue), not Fay (available for less long).
    assert dial["number"] == FRED and dial["status"] == "completed"
    [whisper] = _transcript(stack, "Whisper")
    assert "Test Person" in whisper["text"] and "750.00 EUR" in whisper["text"]
    handoff = await _handoff(stack)
    assert (handoff.kind, handoff.queue, handoff.claimed_by) == ("live_transfer", "fraud", "fred")
    assert context_of(handoff).routed_to == "fred"
    # Claimed for Fred when routed, connected when his line answered (the whisper); it stays
    # connected after the call, until Fred completes it with the outcome.
    assert handoff.status == "connected"
    assert await _moves(stack, handoff) == [
        ("queued", "claim", "claimed", "fred"),
        ("claimed", "connect", "connected", "herald"),
    ]
    assert await _state_of(stack, "fred") == "on_call"
    assert await _state_of(stack, "fay") == "available"
    async with stack.runtime.deps.sessions() as session:
        fred = await work_for(session=session, agent="fred", skills=["fraud"], now=utcnow())
        fay = await work_for(session=session, agent="fay", skills=["fraud"], now=utcnow())
    assert [(w.id, w.routed_to) for w in fred.mine] == [(handoff.id, "fred")]
    assert fay.waiting == [] and fay.mine == []  # nobody else's list shows it


async def test_the_agents_line_not_answering_leaves_a_callback_for_the_queue(
    stack: Stack,
) -> None:
    await _centre(stack, {"fred": (["fraud"], FRED), "fay": (["fraud"], None)})
    await _call(stack, {FRED: "no-answer"})
    [dial] = _transcript(stack, "Dial")
    assert (dial["number"], dial["status"]) == (FRED, "no-answer")
    assert _transcript(stack, "Whisper") == []
    said = [t["text"] for t in _transcript(stack, "Say")]
    assert said[-1].startswith("Sorry, no agent could take your call. We will call you back")
    handoff = await _handoff(stack)
    assert (handoff.kind, handoff.status, handoff.claimed_by) == ("callback", "queued", None)
    assert "fred's line did not answer the transfer (unanswered)" in (context_of(handoff).why or "")
    assert await _state_of(stack, "fred") == "away"  # not offered the next one
    async with stack.runtime.deps.sessions() as session:
        fay = await work_for(session=session, agent="fay", skills=["fraud"], now=utcnow())
    assert [w.id for w in fay.waiting] == [handoff.id]  # back for every fraud agent


async def test_with_no_available_agent_line_the_centres_number_rings(stack: Stack) -> None:
    # Fay serves fraud but has no line; Fred has a line but serves only the general queue.
    await _centre(stack, {"fred": (["general"], FRED), "fay": (["fraud"], None)})
    await _call(stack, {})
    [dial] = _transcript(stack, "Dial")
    assert dial["number"] == stack.settings.callcentre.phone_number
    handoff = await _handoff(stack)
    assert handoff.claimed_by is None and context_of(handoff).routed_to is None
    assert handoff.status == "completed"  # talked, as a centre-number transfer always was
    assert await _state_of(stack, "fred") == "available"
