"""The database blinks right after the provider took a message (found by the fault-injection
run, a PostgreSQL restart: emails sent twice): the step keeps the provider's answer and writes
it once the database answers again, instead of ending and being run again — an email cannot be
looked up at the provider, so a second run would send it again."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.columns import utcnow
from alerts.delivery.steps import run_step
from alerts.models import Alert
from channels.base import OutboundMessage, Receipt
from herald.worker import drain
from tests.conftest import Stack
from tests.factories import attempts_of
from tests.integration.test_delivery_safety import _one_alert

pytestmark = pytest.mark.integration


class BlinkAfterSend:
    """The real SMTP channel; once the server took the message, the next ``commits`` commits
    fail as they do while PostgreSQL restarts (the connection is gone)."""

    def __init__(self, inner: Any, commits: int) -> None:
        self.inner = inner
        self.key = inner.key
        self.kind = inner.kind
        self.commits = commits
        self.failing = 0

    async def send(self, message: OutboundMessage) -> Receipt:
        receipt: Receipt = await self.inner.send(message)
        self.failing = self.commits
        return receipt

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_database_blink_after_the_send_does_not_send_the_email_twice(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    alert_id = await _one_alert(stack, order=("email",))
    deps = stack.runtime.deps
    blink = BlinkAfterSend(deps.channels["email"], commits=2)
    deps.channels["email"] = blink
    commit = AsyncSession.commit

    async def flaky_commit(self: AsyncSession) -> None:
        if blink.failing:
            blink.failing -= 1
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))
        await commit(self)

    monkeypatch.setattr(AsyncSession, "commit", flaky_commit)
    result = await run_step(deps=deps, alert_id=alert_id, step_index=0, now=utcnow())
    monkeypatch.undo()
    deps.channels["email"] = blink.inner

    assert result.action == "sent" and blink.failing == 0
    [attempt] = await attempts_of(deps, alert_id)
    assert attempt.status == "sent" and attempt.provider_sid
    async with deps.sessions() as session:
        alert = await session.get(Alert, alert_id)
    assert alert is not None and alert.status == "delivered"
    await drain(stack.runtime, timeout=20)  # whatever is still queued runs: nothing more is sent
    assert len(await stack.sink.wait_for(2, timeout=1)) == 1
