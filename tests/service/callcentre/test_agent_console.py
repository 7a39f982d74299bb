"""Queues, skills and the agent console's actions, on SQLite and PostgreSQL: an answer's option
routes its hand-off to a queue; only agents with that skill see it; two agents claiming at once
have exactly one winner; notes and the outcome reach the customer's history, the audit log and
the CRM outbox; agents' states count as the centre's load when no telephony platform pushes one."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import col, select

from admin_ui.users import create_user
from alerts import audit
from alerts.columns import utcnow
from alerts.customers.history import customer_history
from alerts.deps import AlertDeps
from alerts.models import Alert, AuditEntry, HandOff, OutboxEvent, StatusChange, User
from alerts.plans import AlertOption
from alerts.responses.record import record_response
from alerts.responses.values import HandOffContext
from callcentre.console import Agent, ConsoleError, add_note, claim, complete, work_for
from callcentre.models import LoadSnapshot
from callcentre.queues import (
    QueueIn,
    list_queues,
    queue_loads,
    save_queue,
    set_agent_state,
    set_skills,
    skills_of,
)
from callcentre.state import centre_view, record_load
from herald.runtime import Runtime
from tests.service.alerts.responses.conftest import OPTIONS, send_alert

PASSWORD = "correct horse battery"


async def _agent(deps: AlertDeps, name: str, queues: list[str], role: str = "agent") -> Agent:
    async with deps.sessions() as session:
        user = await create_user(session=session, username=name, password=PASSWORD, role=role)
        await set_skills(session=session, user=user, queues=queues)
        assert user.id is not None
        return Agent(id=user.id, username=name, any_queue=False)


async def _queues(deps: AlertDeps) -> None:
    async with deps.sessions() as session:
        await save_queue(session=session, key="general", queue=QueueIn(name="General"))
        await save_queue(
            session=session,
            key="fraud",
            queue=QueueIn(name="Fraud", priority=80, target_answer_seconds=30),
        )


async def _pressed_agent(deps: AlertDeps, ref: str, queue: str | None) -> HandOff:
    """Customer ``ref`` pressed 1 (agent) in the call of an alert whose option 1 routes to
    ``queue``: the real answer path (alerts.responses.record)."""
    alert_id, _customer_id, attempts = await send_alert(deps, ref=ref, name=f"Customer {ref}")
    async with deps.sessions() as session:
        alert = await session.get(Alert, alert_id)
        assert alert is not None
        routed = AlertOption(key="1", intent="agent", label="Speak to an agent", queue=queue)
        alert.options = [routed if o.key == "1" else o for o in OPTIONS]
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
    assert outcome.handoff is not None
    return outcome.handoff


async def test_an_option_routes_its_hand_off_to_its_queue_and_only_that_skill_sees_it(
    runtime: Runtime,
) -> None:
    deps = runtime.deps
    await _queues(deps)
    fraud = await _agent(deps, "fiona", ["fraud"])
    general = await _agent(deps, "gary", ["general"])
    routed = await _pressed_agent(deps, "C-1", "fraud")
    unknown = await _pressed_agent(deps, "C-2", "travel")  # no such queue: the default one
    plain = await _pressed_agent(deps, "C-3", None)
    assert (routed.queue, routed.kind, unknown.queue, plain.queue) == (
        "fraud",
        "live_transfer",
        "travel",
        None,
    )
    async with deps.sessions() as session:
        seen_by_fraud = await work_for(
            session=session, agent=fraud.username, skills=["fraud"], now=utcnow()
        )
        seen_by_general = await work_for(
            session=session, agent=general.username, skills=["general"], now=utcnow()
        )
        created = (
            await session.exec(select(OutboxEvent).where(OutboxEvent.kind == "handoff.created"))
        ).all()
    assert [w.id for w in seen_by_fraud.waiting] == [routed.id]
    assert [w.id for w in seen_by_general.waiting] == [unknown.id, plain.id]
    top = seen_by_fraud.waiting[0]
    assert (top.queue_name, top.key, top.summary) == ("Fraud", "1", "750.00 EUR at Shop Ltd")
    assert {e.data["queue"] for e in created} == {"fraud", "travel", None}
    with pytest.raises(ConsoleError, match="fraud queue, which you do not serve"):
        async with deps.sessions() as session:
            await claim(session=session, agent=general, handoff_id=routed.id or 0, now=utcnow())


async def test_two_agents_claiming_at_once_have_exactly_one_winner(runtime: Runtime) -> None:
    deps = runtime.deps
    await _queues(deps)
    one = await _agent(deps, "ann", ["fraud"])
    two = await _agent(deps, "bob", ["fraud"])
    handoffs = [await _pressed_agent(deps, f"C-{i}", "fraud") for i in range(1, 6)]

    async def attempt(agent: Agent, handoff_id: int) -> str | None:
        async with deps.sessions() as session:
            try:
                await claim(session=session, agent=agent, handoff_id=handoff_id, now=utcnow())
            except ConsoleError:
                return None
            return agent.username

    for handoff in handoffs:
        assert handoff.id is not None
        results = await asyncio.gather(attempt(one, handoff.id), attempt(two, handoff.id))
        winners = [r for r in results if r is not None]
        assert len(winners) == 1, results
        async with deps.sessions() as session:
            row = await session.get(HandOff, handoff.id)
            assert row is not None and (row.status, row.claimed_by) == ("claimed", winners[0])
            claims = (
                await session.exec(
                    select(StatusChange).where(
                        StatusChange.entity == "handoff",
                        StatusChange.entity_id == handoff.id,
                        StatusChange.event == "claim",
                    )
                )
            ).all()
            told = (
                await session.exec(
                    select(OutboxEvent).where(
                        OutboxEvent.kind == "handoff.claimed", OutboxEvent.entity_id == handoff.id
                    )
                )
            ).all()
        assert sorted(c.applied for c in claims) == [False, True]
        assert [e.data["agent"] for e in told] == winners


async def test_notes_and_the_outcome_reach_the_history_the_audit_log_and_the_crm(
    runtime: Runtime,
) -> None:
    deps = runtime.deps
    await _queues(deps)
    agent = await _agent(deps, "fiona", ["fraud"])
    handoff = await _pressed_agent(deps, "C-1", "fraud")
    assert handoff.id is not None
    audit.set_origin(audit.Origin(actor="fiona", role="agent", via="session"))
    async with deps.sessions() as session:
        with pytest.raises(ConsoleError, match="Claim this hand-off first"):
            await add_note(
                session=session, agent=agent, handoff_id=handoff.id, text="hi", now=utcnow()
            )
        await claim(session=session, agent=agent, handoff_id=handoff.id, now=utcnow())
        await add_note(
            session=session,
            agent=agent,
            handoff_id=handoff.id,
            text="Customer did not make this payment",
            now=utcnow(),
        )
        with pytest.raises(ConsoleError, match="Choose an outcome"):
            await complete(
                session=session, agent=agent, handoff_id=handoff.id, outcome="nope", now=utcnow()
            )
        await complete(
            session=session,
            agent=agent,
            handoff_id=handoff.id,
            outcome="fraud_confirmed",
            note="Card blocked, new one ordered",
            now=utcnow(),
        )
        with pytest.raises(ConsoleError, match="already completed"):
            await complete(
                session=session,
                agent=agent,
                handoff_id=handoff.id,
                outcome="resolved",
                now=utcnow(),
            )
        done = (
            await session.exec(select(OutboxEvent).where(OutboxEvent.kind == "handoff.completed"))
        ).one()
        entries = (
            await session.exec(
                select(AuditEntry).where(AuditEntry.kind == "handoff").order_by(col(AuditEntry.id))
            )
        ).all()
        history = await customer_history(session=session, external_ref="C-1")
        user = (await session.exec(select(User).where(User.username == "fiona"))).one()
        from callcentre.queues import agent_state

        state = await agent_state(session, user.id or 0)
    assert done.data["outcome"] == "fraud_confirmed" and done.data["agent"] == "fiona"
    assert [(e.action, e.actor) for e in entries] == [
        ("claim", "fiona"),
        ("note", "fiona"),
        ("complete", "fiona"),
    ]
    assert history is not None
    shown = history.events[0].alerts[0].handoffs[0]
    moves = [(m.to_status, m.actor, m.reason) for m in shown.timeline if m.applied]
    assert ("claimed", "fiona", "taken in the agent console") in moves
    assert ("completed", "fiona", "outcome: Fraud confirmed") in moves
    notes = HandOffContext.model_validate(shown.context).notes
    assert [n.text for n in notes] == [
        "Customer did not make this payment",
        "Card blocked, new one ordered",
    ]
    assert state is not None and state.state == "available"


async def test_work_past_its_queue_target_is_escalated_and_shown_first(runtime: Runtime) -> None:
    deps = runtime.deps
    await _queues(deps)
    newer = await _pressed_agent(deps, "C-1", "fraud")
    older = await _pressed_agent(deps, "C-2", "fraud")
    async with deps.sessions() as session:
        row = await session.get(HandOff, older.id)
        assert row is not None
        row.created_at = utcnow() - timedelta(seconds=45)  # the fraud queue's target is 30 s
        session.add(row)
        await session.commit()
        work = await work_for(session=session, agent="x", skills=["fraud"], now=utcnow())
    assert [(w.id, w.escalated) for w in work.waiting] == [(older.id, True), (newer.id, False)]


async def test_agents_states_count_per_queue_and_are_the_load_without_a_pushed_one(
    runtime: Runtime,
) -> None:
    deps = runtime.deps
    await _queues(deps)
    fiona = await _agent(deps, "fiona", ["fraud", "general"])
    gary = await _agent(deps, "gary", ["general"])
    await _pressed_agent(deps, "C-1", "fraud")
    now = utcnow()
    async with deps.sessions() as session:
        assert (await centre_view(session, now)).load_known is False  # no console, no push
        await set_agent_state(session=session, user_id=fiona.id, state="available", now=now)
        await set_agent_state(session=session, user_id=gary.id, state="on_call", now=now)
        loads = await queue_loads(session, now)
        view = await centre_view(session, now)
        assert (loads["fraud"].available, loads["fraud"].waiting) == (1, 1)
        assert (loads["general"].logged_in, loads["general"].available) == (2, 1)
        assert (view.load_known, view.agents_available, view.queue_length) == (True, 1, 1)
        await set_agent_state(session=session, user_id=fiona.id, state="away", now=now)
        assert (await centre_view(session, now)).agents_available == 0  # overloaded: nobody
        await record_load(
            session=session,
            load=LoadSnapshot(
                agents_logged_in=9, agents_available=4, queue_length=2, received_at=now
            ),
        )
        pushed = await centre_view(session, now)
        later = await centre_view(session, now + timedelta(minutes=10))  # consoles not seen
    assert (pushed.agents_available, pushed.queue_length) == (4, 2)  # a fresh push wins
    assert later.load_known is False


async def test_a_set_up_without_queues_has_the_general_queue_and_skills_need_real_queues(
    runtime: Runtime,
) -> None:
    deps = runtime.deps
    async with deps.sessions() as session:
        queues = await list_queues(session)
        assert [(q.key, q.default) for q in queues] == [("general", True)]
        user = await create_user(session=session, username="ann", password=PASSWORD, role="agent")
        with pytest.raises(ValueError, match="no such queue: fraud"):
            await set_skills(session=session, user=user, queues=["fraud"])
        await save_queue(session=session, key="fraud", queue=QueueIn(name="Fraud"))
        assert await set_skills(session=session, user=user, queues=["fraud"]) == ["fraud"]
        assert await skills_of(session, user.id or 0) == ["fraud"]
