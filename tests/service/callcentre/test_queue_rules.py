"""The "centre closed or overloaded" rule reads the load of the queue an alert type's agent
option routes to, when the agents' consoles give the load: with every fraud agent away, a large
debit (routed to fraud) offers no agent (a callback instead), though a general agent is free;
with a fraud agent available, it offers the agent again."""

from __future__ import annotations

from sqlmodel import select

from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from alerts.models import Alert, Decision
from callcentre.live_pacing import VoicePacer
from callcentre.pacing import PacingPolicy
from callcentre.queues import set_agent_state
from herald.demo import tune_for_demo
from herald.runtime import Runtime
from tests.factories import make_customer, make_event
from tests.service.callcentre.test_agent_console import _agent


async def _raise_large_debit(runtime: Runtime, ref: str) -> tuple[Alert, Decision]:
    deps = runtime.deps
    customer = await make_customer(deps, ref=ref, account=f"NL00TEST{ref}", phone=None)
    await make_event(deps, account=f"NL00TEST{ref}", event_id=f"E-{ref}", amount="1250.00")
    await evaluate_pending(deps=deps, now=utcnow())
    async with deps.sessions() as session:
        alert = (
            await session.exec(
                select(Alert).where(
                    Alert.customer_id == customer.id, Alert.alert_type == "large_debit"
                )
            )
        ).one()
        decision = await session.get(Decision, alert.decision_id)
        assert decision is not None
        return alert, decision


async def test_the_overloaded_rule_reads_the_agent_options_queue(runtime: Runtime) -> None:
    deps = runtime.deps
    async with deps.sessions() as session:  # the demo's routing: key 1 to the fraud queue
        await tune_for_demo(session, fallback_wait_seconds=0, bank_url="http://127.0.0.1:9/")
    fiona = await _agent(deps, "fiona", ["fraud"])
    gary = await _agent(deps, "gary", ["general"])
    async with deps.sessions() as session:
        await set_agent_state(session=session, user_id=fiona.id, state="away", now=utcnow())
        await set_agent_state(session=session, user_id=gary.id, state="available", now=utcnow())

    busy, why = await _raise_large_debit(runtime, "C-1")
    # The demo's menu has its own callback key (5): the agent option is dropped, not replaced.
    assert [o.intent for o in busy.options if o.intent in ("agent", "callback")] == ["callback"]
    assert why.reason.endswith("centre: callback_instead")

    async with deps.sessions() as session:
        await set_agent_state(session=session, user_id=fiona.id, state="available", now=utcnow())
    free, why = await _raise_large_debit(runtime, "C-2")
    first = next(o for o in free.options if o.key == "1")
    assert (first.intent, first.queue) == ("agent", "fraud")
    assert why.reason.endswith("centre: normal")


async def test_the_voice_pacer_reads_the_agent_options_queue(runtime: Runtime) -> None:
    deps = runtime.deps
    async with deps.sessions() as session:
        await tune_for_demo(session, fallback_wait_seconds=0, bank_url="http://127.0.0.1:9/")
    fiona = await _agent(deps, "fiona", ["fraud"])
    gary = await _agent(deps, "gary", ["general"])
    pacer = VoicePacer(policy=PacingPolicy(), refresh_s=0)
    async with deps.sessions() as session:
        await set_agent_state(session=session, user_id=fiona.id, state="away", now=utcnow())
        await set_agent_state(session=session, user_id=gary.id, state="available", now=utcnow())
        held = await pacer.rate(session, "large_debit", utcnow())  # routed to fraud: nobody
        other = await pacer.rate(session, "low_balance", utcnow())  # the general queue: Gary
        await set_agent_state(session=session, user_id=fiona.id, state="available", now=utcnow())
        freed = await pacer.rate(session, "large_debit", utcnow())
    assert (held.rate_per_s, held.limited_by) == (0.0, "no_agents")
    assert other.rate_per_s > 0 and freed.rate_per_s > 0
