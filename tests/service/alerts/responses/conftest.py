"""Builders for the answer services: an alert with its options and one attempt per channel,
stored straight into the database, and a queue that records what was enqueued."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from alerts.deps import AlertDeps
from alerts.models import Alert, DeliveryAttempt
from alerts.plans import AlertOption
from herald.runtime import Runtime
from tests.factories import make_customer, make_event, planned_step

PHONE = "+15550001111"
EMAIL = "test@example.com"
OPTIONS = [
    AlertOption(key="1", intent="agent", label="Speak to an agent"),
    AlertOption(key="2", intent="confirm", label="This payment was mine"),
    AlertOption(key="3", intent="transaction", label="Block my card"),
    AlertOption(key="4", intent="sms_copy", label="Send me this by text"),
    AlertOption(key="5", intent="callback", label="Call me back later"),
    AlertOption(key="6", intent="opt_out", label="Stop these alerts"),
    AlertOption(key="9", intent="repeat", label="Hear this again"),
]


class RecordingQueue:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def enqueue_step(self, **kwargs: Any) -> bool:
        self.calls.append(kwargs)
        return True


@dataclass
class Sent:
    """One alert, delivered on every channel: the ids a provider's request would carry."""

    deps: AlertDeps
    queue: RecordingQueue
    alert_id: int
    customer_id: int
    voice: int  # attempt ids
    sms: int
    email: int


async def send_alert(
    deps: AlertDeps,
    *,
    ref: str = "C-1",
    name: str = "Ann Smith",
    phone: str | None = PHONE,
    status: str = "delivered",
    call_sid: str | None = None,
) -> tuple[int, int, dict[str, int]]:
    """(alert id, customer id, attempt id by channel) of an alert sent on voice, SMS, email."""
    customer = await make_customer(deps, ref=ref, name=name, phone=phone, account=f"NL{ref}")
    event = await make_event(deps, account=f"NL{ref}", event_id=f"E-{ref}")
    async with deps.sessions() as session:
        event.customer_id = customer.id
        session.add(event)
        alert = Alert(
            dedupe_key=f"large_debit:{ref}",
            alert_type="large_debit",
            customer_id=customer.id or 0,
            event_id=event.id,
            status=status,
            options=OPTIONS,
            plan=[
                planned_step("voice", phone or ""),
                planned_step("sms", phone or ""),
                planned_step("email", EMAIL),
            ],
            context={
                "customer_name": name,
                "amount": "750.00",
                "currency": "EUR",
                "description": "Shop Ltd",
                "merchant": "Shop Ltd",
                "account_ending": "4300",
                "booking_date": "",
                "data": {},
            },
        )
        session.add(alert)
        await session.flush()
        attempts = {}
        own = ref.encode().hex().ljust(32, "0")
        sids = (("voice", call_sid or "CA" + own), ("sms", "SM" + own), ("email", None))
        for index, (channel, sid) in enumerate(sids):
            attempt = DeliveryAttempt(
                alert_id=alert.id or 0,
                step_index=index,
                channel=channel,
                address=EMAIL if channel == "email" else phone or "",
                status="completed" if channel == "voice" else "delivered",
                provider_sid=sid,
            )
            session.add(attempt)
            await session.flush()
            attempts[channel] = attempt.id or 0
        await session.commit()
        return alert.id or 0, customer.id or 0, attempts


@pytest.fixture
async def sent(runtime: Runtime) -> AsyncIterator[Sent]:
    deps = runtime.deps
    real_queue = deps.queue
    queue = RecordingQueue()
    deps.queue = queue
    try:
        alert_id, customer_id, attempts = await send_alert(deps)
        yield Sent(deps, queue, alert_id, customer_id, **attempts)
    finally:
        deps.queue = real_queue
