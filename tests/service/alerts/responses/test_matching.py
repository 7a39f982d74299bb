"""Status callbacks are applied only to the attempt they are about."""

from __future__ import annotations

import pytest
from sqlmodel import select

from alerts.columns import utcnow
from alerts.models import AttemptEvent, DeliveryAttempt
from alerts.responses.matching import Mismatch, apply_provider_status
from channels.base import StatusUpdate
from tests.service.alerts.responses.conftest import Sent


async def sid_of(sent: Sent, attempt_id: int) -> str:
    async with sent.deps.sessions() as session:
        attempt = await session.get(DeliveryAttempt, attempt_id)
        assert attempt is not None and attempt.provider_sid is not None
        return attempt.provider_sid


async def events(sent: Sent, attempt_id: int) -> list[tuple[str, bool]]:
    async with sent.deps.sessions() as session:
        rows = await session.exec(select(AttemptEvent).where(AttemptEvent.attempt_id == attempt_id))
        return [(e.status, e.applied) for e in rows.all()]


async def test_a_status_of_the_attempts_own_message_is_applied(sent: Sent) -> None:
    update = StatusUpdate(
        provider_sid=await sid_of(sent, sent.sms), status="delivered", provider_status="delivered"
    )
    result = await apply_provider_status(
        deps=sent.deps, kind="sms", attempt_id=sent.sms, update=update, now=utcnow()
    )
    assert result == "ignored"  # already delivered: a duplicate, kept as one
    assert await events(sent, sent.sms) == [("delivered", False)]


@pytest.mark.parametrize("kind,sid", [("sms", "own"), ("voice", "SMother")])
async def test_a_status_about_something_else_is_refused_and_kept(
    sent: Sent, kind: str, sid: str
) -> None:
    own = await sid_of(sent, sent.voice)
    update = StatusUpdate(
        provider_sid=own if sid == "own" else sid, status="failed", provider_status="failed"
    )
    with pytest.raises(Mismatch) as refused:
        await apply_provider_status(
            deps=sent.deps, kind=kind, attempt_id=sent.voice, update=update, now=utcnow()
        )
    assert refused.value.status == 409
    assert await events(sent, sent.voice) == [("ignored", False)]
    async with sent.deps.sessions() as session:
        attempt = await session.get(DeliveryAttempt, sent.voice)
    assert attempt is not None and attempt.status == "completed"


async def test_a_status_for_no_attempt_is_a_404(sent: Sent) -> None:
    update = StatusUpdate(provider_sid="CA1", status="completed", provider_status="completed")
    with pytest.raises(Mismatch) as refused:
        await apply_provider_status(
            deps=sent.deps, kind="voice", attempt_id=999999, update=update, now=utcnow()
        )
    assert refused.value.status == 404
