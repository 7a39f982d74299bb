"""Routing a live transfer to one agent's line (callcentre.routing), on SQLite and PostgreSQL:
only an available agent of the hand-off's queue, present and with a line, is chosen; two
transfers at once never take the same agent; a studio trial's agent answer creates no open
hand-off at all (closed at creation), so it is never routed, listed, called or told to the CRM."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import col, select

from admin_ui.users import create_user
from alerts.columns import utcnow
from alerts.deps import AlertDeps
from alerts.lifecycle import HANDOFF_OPEN
from alerts.models import Alert, HandOff, OutboxEvent
from alerts.plans import AlertOption
from alerts.responses.handoffs import TRIAL_CLOSED
from alerts.responses.record import record_response
from alerts.responses.values import context_of
from callcentre.calls import call_customer_now
from callcentre.console import work_for
from callcentre.queues import QueueIn, save_queue, set_agent_state, set_skills
from callcentre.routing import LineError, StoredAgentRouter, check_line, set_agent_line
from herald.runtime import Runtime
from tests.service.alerts.responses.conftest import OPTIONS, send_alert

FRED = "+15550007001"


async def _agent(deps: AlertDeps, name: str, queues: list[str], line: str | None) -> int:
    async with deps.sessions() as session:
        user = await create_user(
            session=session, username=name, password="correct horse battery", role="agent"
        )
        assert user.id is not None
        await set_skills(session=session, user=user, queues=queues)
        await set_agent_line(session=session, user_id=user.id, raw=line or "", now=utcnow())
        await set_agent_state(session=session, user_id=user.id, state="available", now=utcnow())
        return user.id


async def _pressed_1(deps: AlertDeps, ref: str, *, trial: bool = False) -> HandOff:
    alert_id, _, attempts = await send_alert(deps, ref=ref, name=f"Customer {ref}")
    async with deps.sessions() as session:
        await save_queue(session=session, key="fraud", queue=QueueIn(name="Fraud"))
        alert = await session.get(Alert, alert_id)
        assert alert is not None
        fraud = AlertOption(key="1", intent="agent", label="Fraud", queue="fraud")
        alert.options = [fraud if o.key == "1" else o for o in OPTIONS]
        alert.trial = trial
        session.add(alert)
        await session.commit()
    outcome = await record_response(
        deps=deps,
        dedupe_key=f"voice:{ref}:1",
        attempt_id=attempts["voice"],
        channel="voice",
        key="1",
        text=None,
        now=utcnow(),
    )
    assert outcome.handoff is not None and outcome.handoff.id is not None
    return outcome.handoff


async def _route(deps: AlertDeps, handoff_id: int) -> str | None:
    async with deps.sessions() as session:
        line = await StoredAgentRouter().route(session, handoff_id, utcnow())
        await session.commit()
        return line


async def test_two_transfers_at_once_never_ring_the_same_agent(runtime: Runtime) -> None:
    deps = runtime.deps
    first, second = await _pressed_1(deps, "C-1"), await _pressed_1(deps, "C-2")
    await _agent(deps, "fred", ["fraud"], FRED)
    lines = await asyncio.gather(_route(deps, first.id or 0), _route(deps, second.id or 0))
    assert sorted(lines, key=str) == [FRED, None]
    async with deps.sessions() as session:
        rows = {h.id: h for h in (await session.exec(select(HandOff))).all()}
    routed = [h for h in rows.values() if h.claimed_by == "fred"]
    assert len(routed) == 1 and context_of(routed[0]).routed_to == "fred"
    assert [h.status for h in rows.values() if h.claimed_by is None] == ["queued"]


async def test_only_a_present_available_agent_of_the_queue_with_a_line_is_chosen(
    runtime: Runtime,
) -> None:
    deps = runtime.deps
    handoff = await _pressed_1(deps, "C-1")
    await _agent(deps, "gina", ["general"], "+15550007003")  # another queue
    await _agent(deps, "fay", ["fraud"], None)  # no line
    fred = await _agent(deps, "fred", ["fraud"], FRED)
    async with deps.sessions() as session:  # Fred's console closed three minutes ago
        await set_agent_state(
            session=session,
            user_id=fred,
            state="available",
            now=utcnow() - timedelta(minutes=3),
        )
    assert await _route(deps, handoff.id or 0) is None
    async with deps.sessions() as session:
        await set_agent_state(session=session, user_id=fred, state="available", now=utcnow())
    assert await _route(deps, handoff.id or 0) == FRED
    assert await _route(deps, handoff.id or 0) is None  # claimed: routed once


async def test_a_trial_agent_answer_creates_no_open_handoff(runtime: Runtime) -> None:
    deps = runtime.deps
    handoff = await _pressed_1(deps, "C-9", trial=True)
    await _agent(deps, "fred", ["fraud"], FRED)
    assert handoff.status == "completed" and handoff.closed_at is not None
    assert context_of(handoff).why == TRIAL_CLOSED
    async with deps.sessions() as session:
        open_ones = (
            await session.exec(select(HandOff).where(col(HandOff.status).in_(HANDOFF_OPEN)))
        ).all()
        fred = await work_for(session=session, agent="fred", skills=["fraud"], now=utcnow())
        told = (await session.exec(select(OutboxEvent.kind))).all()
    assert open_ones == [] and fred.waiting == [] and fred.mine == []
    assert not [k for k in told if k.startswith(("handoff.", "response."))]  # nor the CRM
    assert await _route(deps, handoff.id or 0) is None
    called = await call_customer_now(deps=deps, handoff_id=handoff.id or 0)
    assert not called.called


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("+31 20 123 4567", "+31201234567"), ("", None), ("(+1) 555-000-7001", "+15550007001")],
)
def test_an_agents_line_is_stored_in_international_form(raw: str, stored: str | None) -> None:
    assert check_line(raw) == stored


def test_a_line_that_is_not_a_phone_number_is_refused_with_what_to_do() -> None:
    with pytest.raises(LineError, match="international form: start with \\+"):
        check_line("0201234567")
