"""Provider faults injected by the Twilio simulator itself (scenario ``faults``), over real HTTP
with the official twilio library: about a fifth of create requests refused, accepted and then
answered with a 500, or accepted and answered after Herald's timeout; a fifth of the status
callbacks posted twice. Every alert is delivered, once: 0 lost, 0 sent twice, and no delivery
attempt ever moves back from what the provider reported (issue 17)."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlmodel import col, select

from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from alerts.models import Alert, AttemptEvent, DeliveryAttempt
from herald.config import Settings
from herald.worker import drain
from tests.conftest import Stack
from tests.factories import make_customer, make_event, set_delivery

pytestmark = pytest.mark.integration
SMS_CUSTOMERS = 24
VOICE_CUSTOMERS = 8
FAULTS = {
    "seed": 17,
    "refuse": 0.07,
    "accept_then_500": 0.07,
    "accept_then_hang": 0.06,
    "hang_seconds": 2.5,
    "duplicate_callbacks": 0.2,
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Herald gives up on a Twilio request after 1 s here, so a held answer is a timeout."""
    twilio = settings.twilio.model_copy(update={"timeout_seconds": 1.0})
    return settings.model_copy(update={"twilio": twilio})


async def _raise_alerts(stack: Stack) -> list[int]:
    deps = stack.runtime.deps
    for i in range(SMS_CUSTOMERS + VOICE_CUSTOMERS):
        account = f"NL{i:02d}ABNA04171643{i:02d}"
        order = ("sms",) if i < SMS_CUSTOMERS else ("voice",)
        await make_customer(
            deps, ref=f"C-{i}", phone=f"+155500040{i:02d}", email=None, account=account, order=order
        )
        await make_event(deps, account=account, event_id=f"E-{i}")
    created = await evaluate_pending(deps=deps, now=utcnow())
    assert len(created) == SMS_CUSTOMERS + VOICE_CUSTOMERS
    return created


async def test_every_alert_is_delivered_once_through_provider_faults(stack: Stack) -> None:
    stack.set_scenario(
        {
            "default": {"sms": {"delivery": "delivered"}, "voice": {"answer": "human"}},
            "faults": FAULTS,
        }
    )
    deps = stack.runtime.deps
    await set_delivery(deps, provider_backoff_seconds=1, provider_backoff_max_seconds=2)
    await _raise_alerts(stack)
    await drain(stack.runtime, wait_deferred=True, timeout=180, idle_check=stack.idle)
    await stack.sim.wait_idle(15)

    sim = stack.sim.simulator
    injected = dict(sim.injected)
    assert {"refuse", "accept_then_500", "accept_then_hang", "duplicate_callback"} <= set(
        injected
    ), injected
    texts = Counter(m.to for m in sim.state.messages.values())
    calls = Counter(c.to for c in sim.state.calls.values())
    assert len(texts) == SMS_CUSTOMERS and len(calls) == VOICE_CUSTOMERS, "0 lost"
    twice = {n: c for n, c in (texts + calls).items() if c > 1}
    assert twice == {}, f"sent more than once despite {injected}: {twice}"

    async with deps.sessions() as session:
        alerts = (await session.exec(select(Alert))).all()
        attempts = (await session.exec(select(DeliveryAttempt))).all()
        events = (await session.exec(select(AttemptEvent).order_by(col(AttemptEvent.id)))).all()
    assert Counter(a.status for a in alerts) == {"delivered": len(alerts)}, [
        (a.id, a.status) for a in alerts if a.status != "delivered"
    ]
    sids = {m.sid for m in sim.state.messages.values()} | set(sim.state.calls)
    assert {a.provider_sid for a in attempts} == sids, "each send is owned by one attempt"
    assert {a.status for a in attempts} <= {"delivered", "completed"}
    for attempt in attempts:  # applied moves only go forward once the provider had it
        moved = [e.status for e in events if e.attempt_id == attempt.id and e.applied]
        reached = [i for i, s in enumerate(moved) if s in ("sent", "delivered", "ringing")]
        if reached:
            assert "queued" not in moved[reached[0] :], (attempt.address, moved)
