"""A hand-off's calls moved through its lifecycle by the requests about them."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from alerts.columns import utcnow
from alerts.models import DeliveryAttempt, HandOff, StatusChange
from alerts.responses import transfers
from alerts.responses.matching import Mismatch
from alerts.responses.record import record_response
from alerts.responses.values import context_of, update_context
from channels.base import InboundMessage, TransferEnd
from channels.scripts import TransferToNumber, WaitInQueue
from tests.service.alerts.responses.conftest import Sent


def request(
    sid: str, *, parent_sid: str | None = None, transfer: TransferEnd | None = None
) -> InboundMessage:
    """A voice request about call ``sid`` as the channel parsed it."""
    return InboundMessage(
        provider_sid=sid,
        from_address="",
        to_address="",
        body="",
        parent_sid=parent_sid,
        transfer=transfer,
    )


async def live_transfer(sent: Sent) -> HandOff:
    outcome = await record_response(
        deps=sent.deps,
        dedupe_key="voice:test:1",
        attempt_id=sent.voice,
        channel="voice",
        key="1",
        text=None,
        now=utcnow(),
    )
    assert outcome.handoff is not None and outcome.handoff.kind == "live_transfer"
    return outcome.handoff


async def reload(sent: Sent, handoff: HandOff) -> HandOff:
    async with sent.deps.sessions() as session:
        row = await session.get(HandOff, handoff.id)
        assert row is not None
        return row


async def moves(sent: Sent, handoff: HandOff) -> list[tuple[str, str, bool]]:
    async with sent.deps.sessions() as session:
        rows = await session.exec(
            select(StatusChange)
            .where(StatusChange.entity == "handoff", StatusChange.entity_id == handoff.id)
            .order_by(col(StatusChange.id))
        )
        return [(c.event, c.to_status, c.applied) for c in rows.all()]


async def call_sid(sent: Sent) -> str:
    async with sent.deps.sessions() as session:
        attempt = await session.get(DeliveryAttempt, sent.voice)
        assert attempt is not None and attempt.provider_sid is not None
        return attempt.provider_sid


async def test_the_transfer_reports_its_end_to_the_handoff(sent: Sent) -> None:
    handoff = await live_transfer(sent)
    assert handoff.id is not None
    script = transfers.transfer_script(sent.deps, handoff.id, sent.deps.tts())
    dial = script.steps[-1]
    assert isinstance(dial, TransferToNumber)
    assert (
        dial.done_url == f"{sent.deps.public_url}/webhooks/twilio/voice/transfer/{handoff.id}/done"
    )
    assert dial.whisper_url and dial.whisper_url.endswith(f"/voice/whisper/{handoff.id}")
    sent.deps.transfer_queue = "card-fraud"
    try:
        queued = transfers.transfer_script(sent.deps, handoff.id, sent.deps.tts()).steps[-1]
    finally:
        sent.deps.transfer_queue = None
    assert isinstance(queued, WaitInQueue) and queued.done_url == dial.done_url


async def test_agent_answers_then_they_talk(sent: Sent) -> None:
    handoff = await live_transfer(sent)
    assert handoff.id is not None
    sid, now = await call_sid(sent), utcnow()
    whisper = await transfers.agent_answered(
        deps=sent.deps, handoff_id=handoff.id, inbound=request("CAleg", parent_sid=sid), now=now
    )
    assert "Ann Smith" in whisper.steps[0].text  # type: ignore[union-attr]
    await transfers.transfer_ended(
        deps=sent.deps, handoff_id=handoff.id, inbound=request(sid, transfer="talked"), now=now
    )
    done = await reload(sent, handoff)
    assert done.status == "completed" and done.closed_at is not None
    assert await moves(sent, handoff) == [
        ("connect", "connected", True),
        ("complete", "completed", True),
    ]


@pytest.mark.parametrize(
    "ended,status,kind",
    [("abandoned", "abandoned", "live_transfer"), ("unanswered", "queued", "callback")],
)
async def test_a_transfer_nobody_took(
    sent: Sent, ended: TransferEnd, status: str, kind: str
) -> None:
    handoff = await live_transfer(sent)
    assert handoff.id is not None
    script = await transfers.transfer_ended(
        deps=sent.deps,
        handoff_id=handoff.id,
        inbound=request(await call_sid(sent), transfer=ended),
        now=utcnow(),
    )
    row = await reload(sent, handoff)
    assert (row.status, row.kind) == (status, kind)
    if ended == "unanswered":
        assert context_of(row).why == "no agent answered the transfer (unanswered)"
        assert "We will call you back" in script.steps[0].text  # type: ignore[union-attr]


async def test_a_call_now_that_nobody_at_the_centre_answers_fails(sent: Sent) -> None:
    outcome = await record_response(
        deps=sent.deps,
        dedupe_key="email:call-me",
        attempt_id=sent.email,
        channel="email",
        key="call_me",
        text=None,
        now=utcnow(),
    )
    assert outcome.handoff is not None and outcome.handoff.id is not None
    handoff_id = outcome.handoff.id
    async with sent.deps.sessions() as session:
        row = await session.get(HandOff, handoff_id)
        assert row is not None
        update_context(row, call_sid="CAnow")
        row.status = "offered"
        session.add(row)
        await session.commit()
    await transfers.customer_answered(
        deps=sent.deps, handoff_id=handoff_id, inbound=request("CAnow"), now=utcnow()
    )
    script = await transfers.transfer_ended(
        deps=sent.deps,
        handoff_id=handoff_id,
        inbound=request("CAnow", transfer="unanswered"),
        now=utcnow(),
    )
    row = await reload(sent, outcome.handoff)
    assert row.status == "failed"
    assert sent.deps.callcentre_number in script.steps[0].text  # type: ignore[union-attr]


async def test_a_request_about_another_call_moves_nothing(sent: Sent) -> None:
    handoff = await live_transfer(sent)
    assert handoff.id is not None
    with pytest.raises(Mismatch) as refused:
        await transfers.transfer_ended(
            deps=sent.deps,
            handoff_id=handoff.id,
            inbound=request("CAother", transfer="talked"),
            now=utcnow(),
        )
    assert refused.value.status == 409
    assert (await reload(sent, handoff)).status == "queued"
    assert await moves(sent, handoff) == [("transfer ended", "queued", False)]
    with pytest.raises(Mismatch) as missing:
        await transfers.agent_answered(
            deps=sent.deps, handoff_id=999999, inbound=request("CAx"), now=utcnow()
        )
    assert missing.value.status == 404
