"""An ambiguous provider error (accepted, then a 500 or a timeout) never sends a second text:
the retry looks the message up first; and no attempt ever moves back from delivered to queued.

Reproduces the defect found by trying it: a proxy failing ~22% of create requests (refused,
accepted-then-500, accepted-then-timeout), with and without the status callbacks reaching Herald.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from sqlmodel import col, select
from twilio.base.exceptions import TwilioRestException

from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from alerts.models import Alert, AttemptEvent, DeliveryAttempt
from channels.base import Channel, OutboundMessage, Receipt
from channels.twilio_common import classify
from herald.worker import drain
from tests.conftest import Stack
from tests.factories import make_customer, make_event, set_delivery

pytestmark = pytest.mark.integration
CUSTOMERS = 24


class FlakyProxy:
    """Wraps the real SMS channel like a failing proxy in front of Twilio: by a fixed pattern,
    the first create of some messages is refused, or reaches Twilio and then fails (500), or
    reaches Twilio and times out."""

    def __init__(self, inner: Channel, *, lose_callbacks: bool) -> None:
        self.inner = inner
        self.key = inner.key
        self.kind = inner.kind
        self.lose_callbacks = lose_callbacks
        self.tries: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()

    async def send(self, message: OutboundMessage) -> Receipt:
        if self.lose_callbacks:  # as during an API or database outage
            message = replace(message, status_callback=None)
        self.tries[message.to] += 1
        fault = ("refused", "accepted-then-500", "accepted-then-timeout", None)[
            int(message.to[-2:]) % 4
        ]
        if self.tries[message.to] > 1 or fault is None:
            return await self.inner.send(message)
        self.faults[fault] += 1
        if fault == "refused":
            raise classify(ConnectionRefusedError(), action="sending the SMS", kind="sms")
        await self.inner.send(message)  # Twilio created the message ...
        if fault == "accepted-then-500":  # ... but the answer Herald sees is an error
            raise classify(
                TwilioRestException(500, "https://api.twilio.test", "Internal Server Error"),
                action="sending the SMS",
                kind="sms",
            )
        raise classify(TimeoutError(), action="sending the SMS", kind="sms")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def _raise_alerts(stack: Stack) -> list[int]:
    deps = stack.runtime.deps
    for i in range(CUSTOMERS):
        account = f"NL{i:02d}ABNA04171643{i:02d}"
        await make_customer(
            deps,
            ref=f"C-{i}",
            phone=f"+155500030{i:02d}",
            email=None,
            account=account,
            order=("sms",),
        )
        await make_event(deps, account=account, event_id=f"E-{i}")
    created = await evaluate_pending(deps=deps, now=utcnow())
    assert len(created) == CUSTOMERS
    return created


@pytest.mark.parametrize("lose_callbacks", [True, False], ids=["callbacks-lost", "callbacks"])
async def test_ambiguous_errors_never_send_a_second_text(
    stack: Stack, lose_callbacks: bool
) -> None:
    stack.set_scenario({"default": {"sms": {"delivery": "delivered"}}})
    deps = stack.runtime.deps
    await set_delivery(deps, provider_backoff_seconds=1, provider_backoff_max_seconds=2)
    await _raise_alerts(stack)
    real = deps.channels["sms"]
    proxy = FlakyProxy(real, lose_callbacks=lose_callbacks)
    deps.channels["sms"] = proxy
    try:
        await drain(stack.runtime, wait_deferred=True, timeout=90, idle_check=stack.idle)
    finally:
        deps.channels["sms"] = real
    await stack.sim.wait_idle(10)
    assert set(proxy.faults) == {"refused", "accepted-then-500", "accepted-then-timeout"}

    per_number = Counter(m.to for m in stack.sim.state.messages.values())
    assert len(per_number) == CUSTOMERS, "every customer got their text"
    twice = {n: c for n, c in per_number.items() if c > 1}
    assert twice == {}, f"customers who got the same alert more than once: {twice}"

    async with deps.sessions() as session:
        attempts = (await session.exec(select(DeliveryAttempt))).all()
        alerts = (await session.exec(select(Alert))).all()
        events = (await session.exec(select(AttemptEvent).order_by(col(AttemptEvent.id)))).all()
    # Each alert has one attempt, which owns the one message its customer got.
    sids = {m.sid for m in stack.sim.state.messages.values()}
    assert len(attempts) == CUSTOMERS and {a.provider_sid for a in attempts} == sids
    # Without callbacks a send stays "sent" (an adopted one carries Twilio's own status).
    final = {"sent", "delivered"} if lose_callbacks else {"delivered"}
    assert {a.status for a in attempts} <= final
    # Herald learns of a delivery from the callback (or from the lookup of an adopted send).
    assert {a.status for a in alerts} <= (
        {"delivered", "delivering"} if lose_callbacks else {"delivered"}
    )
    # Statuses only moved forward: no applied move to "queued" after the provider had it.
    for attempt in attempts:
        trail = [e for e in events if e.attempt_id == attempt.id and e.applied]
        moved = [e.status for e in trail]
        if "sent" in moved or "delivered" in moved:
            first = min(i for i, s in enumerate(moved) if s in ("sent", "delivered"))
            assert "queued" not in moved[first:], (attempt.address, moved)
    # With callbacks lost, the retry found the accepted message at Twilio and adopted it; with
    # callbacks, the callback usually told Herald the message's id first (or the retry, if it
    # ran before the callback landed, adopted it: either way, once).
    adopted = [e for e in events if "not sent again" in (e.detail or "")]
    if lose_callbacks:
        assert adopted, "an accepted-then-error send was looked up and adopted"
