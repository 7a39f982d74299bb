"""A provider that refuses Herald itself (HTTP 401/403) raises the channel's alarm: its sends are
held (not retried as a passing fault, not failed as the customer's), the admin pages and the API
say so, and the first send that works again clears it."""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from alerts.delivery.steps import run_step
from alerts.models import Alert, DeliveryAttempt
from tests.conftest import Stack
from tests.factories import make_customer, make_event

pytestmark = pytest.mark.integration
PHONE = "+15550004444"


async def test_bad_credentials_hold_the_channel_until_fixed(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    stack.set_scenario(
        {
            "recipients": {
                PHONE: {"api_error": {"status": 401, "code": 20003, "message": "Authenticate"}}
            }
        }
    )
    deps = stack.runtime.deps
    await make_customer(deps, phone=PHONE, order=("sms", "email"))
    await make_event(deps)
    [alert_id] = await evaluate_pending(deps=deps, now=utcnow())
    now = utcnow()
    with caplog.at_level(logging.ERROR, logger="alerts.delivery.alarms"):
        first = await run_step(deps=deps, alert_id=alert_id, step_index=0, now=now)
    assert first.action == "deferred" and "Twilio rejected Herald's credentials" in first.detail
    assert any("CHANNEL ALARM sms" in r.getMessage() for r in caplog.records)
    async with deps.sessions() as session:
        alert = await session.get(Alert, alert_id)
        [attempt] = (await session.exec(select(DeliveryAttempt))).all()
    assert alert is not None and alert.current_step == 0  # not failed over to email
    assert alert.status in ("pending", "delivering") and alert.next_step_at is not None
    assert alert.next_step_at >= now + timedelta(minutes=4)
    assert attempt.status == "queued"  # nothing was sent; no retry was counted
    assert not stack.sim.state.messages and not stack.sink.messages

    # Before the next check, another text on the channel is held without asking Twilio.
    await make_customer(
        deps, ref="C-2", phone="+15550004445", account="NL02RABO0123456789", order=("sms",)
    )
    await make_event(deps, account="NL02RABO0123456789", event_id="E-2")
    [other_id] = await evaluate_pending(deps=deps, now=now + timedelta(minutes=1))
    other = await run_step(
        deps=deps, alert_id=other_id, step_index=0, now=now + timedelta(minutes=1)
    )
    assert other.action == "deferred" and other.detail.startswith("sms is held")

    token = stack.settings.api_token.get_secret_value()
    async with httpx.AsyncClient(base_url=stack.settings.public_url) as client:
        alarms = (
            await client.get(
                "/api/v1/channels/alarms", headers={"Authorization": f"Bearer {token}"}
            )
        ).json()
    [alarm] = alarms
    assert alarm["channel"] == "sms" and alarm["active"] is True
    assert "HTTP 401" in alarm["message"] and alarm["held_steps"] == 1

    # The operator fixes the credentials; at the next check the held step goes out.
    stack.set_scenario({})
    later = alert.next_step_at + timedelta(seconds=1)
    sent = await run_step(deps=deps, alert_id=alert_id, step_index=0, now=later)
    assert sent.action == "sent"
    await stack.sim.wait_idle(10)
    assert [m.to for m in stack.sim.state.messages.values()] == [PHONE]
    async with httpx.AsyncClient(base_url=stack.settings.public_url) as client:
        alarms = (
            await client.get(
                "/api/v1/channels/alarms", headers={"Authorization": f"Bearer {token}"}
            )
        ).json()
    assert [a["active"] for a in alarms] == [False]
