"""A hand-off's calls, moved through its lifecycle (alerts.lifecycle.HANDOFF) as they happen.

- A live transfer (the customer pressed "agent" in the alert's call) is ``queued`` when it is
  created; ``connected`` when the agent's side answers (the whisper of a dialled centre, or an
  agent taking the caller from the centre's queue); ``completed`` when they have talked, or
  ``abandoned`` when the customer hung up first. When nobody at the centre answers, it stays
  queued and becomes a callback for an agent, with the reason.
- "Call me now" (callcentre.calls places the call and sets ``offered``): ``connected`` when the
  customer answers and is put through; back to ``queued`` as a callback (with the reason) when
  they do not answer, are busy or a voicemail takes it; ``failed`` when the call fails; then
  ``completed`` / ``abandoned`` like a live transfer.

Every request is first matched to the hand-off's own call (alerts.responses.matching).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.delivery.direct import MACHINE_ANSWERED
from alerts.deps import AlertDeps, Tts
from alerts.lifecycle import move_handoff
from alerts.models import DeliveryAttempt, HandOff, Response
from alerts.responses import voice_script
from alerts.responses.matching import Mismatch, handoff_of_call
from alerts.responses.values import HandOffContext, context_of, update_context
from channels.base import InboundMessage, TransferEnd
from channels.i18n import N_
from channels.scripts import EndCall, VoiceScript

logger = logging.getLogger(__name__)

TAKEN = N_("An agent is taking your call now.")
NO_AGENT_CALLBACK = N_(
    "Sorry, no agent could take your call. We will call you back as soon as we can. Goodbye."
)
NO_AGENT = N_("Sorry, no agent could take your call. Please call us on %(number)s. Goodbye.")
ABANDONED = "the customer hung up before an agent answered"


def _webhook(deps: AlertDeps, path: str) -> str:
    return f"{deps.public_url}/webhooks/twilio/voice/{path}"


def transfer_script(
    deps: AlertDeps, handoff_id: int | None, tts: Tts, line: str | None = None
) -> VoiceScript:
    """To an agent: dial the agent's own ``line`` when the transfer was routed to them, else
    hold in the centre's queue or dial its number; the person answering hears the whisper
    first, and the end of the transfer is reported for the hand-off."""
    return voice_script.transfer(
        number=line or deps.callcentre_number,
        tts=tts,
        whisper_url=_webhook(deps, f"whisper/{handoff_id}") if handoff_id else None,
        queue=None if line else deps.transfer_queue,
        done_url=_webhook(deps, f"transfer/{handoff_id}/done") if handoff_id else None,
    )


async def agent_line(deps: AlertDeps, handoff_id: int | None, now: datetime) -> str | None:
    """The line to put this hand-off's call through to: that of the agent who has it (claimed
    in the console, or routed to them before), else of the available agent of its queue who
    has waited longest (deps.agents routes and claims it for them); None: the centre's."""
    if handoff_id is None or deps.agents is None:
        return None
    async with deps.sessions() as session:
        handoff = await session.get(HandOff, handoff_id)
        if handoff is None or handoff.closed_at is not None:
            return None
        if handoff.claimed_by is not None:
            return await deps.agents.line_of(session, handoff.claimed_by)
        line = await deps.agents.route(session, handoff_id, now)
        await session.commit()
    return line


async def live_transfer(
    *, deps: AlertDeps, handoff_id: int | None, tts: Tts, now: datetime
) -> VoiceScript:
    """The customer asked for an agent in the call: put through to the routed agent's line,
    or to the centre when nobody is free."""
    return transfer_script(deps, handoff_id, tts, await agent_line(deps, handoff_id, now))


def whisper_text(context: HandOffContext | None) -> str:
    """The alert in one breath, for the agent before the customer is put through."""
    if context is None:
        return "Herald alert transfer. No details were found for this call."
    customer = context.customer.name if context.customer else "a customer"
    alert = context.alert
    kind = (alert.type if alert else "alert").replace("_", " ")
    amount = " ".join(v or "" for v in (alert.amount, alert.currency)).strip() if alert else ""
    what = ", ".join(p for p in (amount, alert.description if alert else None) if p)
    return (
        f"Herald {kind} alert for {customer}"
        + (f": {what}" if what else "")
        + f". They pressed {context.answer.key or ''} to speak to an agent. "
        "Details are on your screen."
    )


async def customer_answered(
    *, deps: AlertDeps, handoff_id: int, inbound: InboundMessage, now: datetime
) -> VoiceScript:
    """The "call me now" call was answered: put the customer through (a voicemail is not
    connected to an agent: the hand-off goes back to the agents as a callback)."""
    async with deps.sessions() as session:
        handoff = await handoff_of_call(
            session,
            handoff_id=handoff_id,
            call_sid=inbound.provider_sid,
            what="call answered",
            now=now,
            adopt=True,
        )
        context = context_of(handoff)
        tts = deps.tts(context.customer.locale if context.customer else None)
        if (inbound.answered_by or "").startswith("machine"):
            _back_to_agents(session, handoff, MACHINE_ANSWERED, now)
            await session.commit()
            return voice_script.goodbye(
                text=f"This is {deps.brand}. We tried to call you; an agent will call you back.",
                tts=tts,
            )
        if handoff.status != "connected":
            move_handoff(
                session, handoff, "connect", reason="the customer answered our call", now=now
            )
        await session.commit()
    logger.info("call-me-now answered, connecting handoff_id=%s", handoff_id)
    return transfer_script(deps, handoff_id, tts, await agent_line(deps, handoff_id, now))


def _back_to_agents(session: AsyncSession, handoff: HandOff, why: str, now: datetime) -> None:
    """Not reached: the hand-off is queued again as a callback, with the reason (and for
    every agent of its queue again, when it had been routed to one)."""
    if handoff.status in ("offered", "claimed"):
        move_handoff(session, handoff, "release", reason=why, now=now)
        handoff.claimed_by = handoff.claimed_at = None
    handoff.kind = "callback"
    update_context(handoff, why=why)
    session.add(handoff)


async def agent_answered(
    *, deps: AlertDeps, handoff_id: int, inbound: InboundMessage, now: datetime
) -> VoiceScript:
    """Someone at the centre answered the transfer: they hear the alert in one breath, and the
    customer is connected."""
    async with deps.sessions() as session:
        handoff = await handoff_of_call(
            session,
            handoff_id=handoff_id,
            call_sid=inbound.parent_sid or inbound.provider_sid,
            what="agent answered",
            now=now,
        )
        if handoff.status != "connected":
            move_handoff(session, handoff, "connect", reason="an agent answered", now=now)
        await session.commit()
        summary = whisper_text(context_of(handoff))
    return voice_script.whisper(summary=summary, tts=deps.tts())


def agent_takes_next(*, deps: AlertDeps) -> VoiceScript:
    """Queue mode: the agents' phone number points here to take the next waiting customer."""
    return voice_script.agent_dequeue(
        queue=deps.transfer_queue or "herald", whisper_url=_webhook(deps, "whisper-queue")
    )


async def queue_caller_taken(
    *, deps: AlertDeps, inbound: InboundMessage, now: datetime
) -> VoiceScript:
    """Queue mode: an agent took the caller (found by their call) from the queue. The
    announcement is played to the caller, before the two are connected; the agent has the
    details on screen."""
    async with deps.sessions() as session:
        found = (
            await session.exec(
                select(HandOff)
                .join(Response, col(Response.id) == HandOff.response_id)
                .join(DeliveryAttempt, col(DeliveryAttempt.id) == Response.attempt_id)
                .where(
                    DeliveryAttempt.provider_sid == inbound.provider_sid,
                    HandOff.kind == "live_transfer",
                )
                .order_by(col(HandOff.id).desc())
            )
        ).first()
        if found is None:
            logger.warning("dequeued call has no live transfer call_sid=%s", inbound.provider_sid)
            raise Mismatch(404, f"no live transfer for call {inbound.provider_sid or '(none)'}")
        if found.status != "connected":
            move_handoff(session, found, "connect", reason="an agent took the call", now=now)
        await session.commit()
        context = context_of(found)
    tts = deps.tts(context.customer.locale if context.customer else None)
    return voice_script.whisper(summary=voice_script.said(TAKEN, tts), tts=tts)


async def transfer_ended(
    *, deps: AlertDeps, handoff_id: int, inbound: InboundMessage, now: datetime
) -> VoiceScript:
    """The provider reports how the transfer ended: talked, abandoned, or nobody answered."""
    async with deps.sessions() as session:
        handoff = await handoff_of_call(
            session,
            handoff_id=handoff_id,
            call_sid=inbound.provider_sid,
            what="transfer ended",
            now=now,
        )
        context = context_of(handoff)
        routed = handoff.claimed_by if handoff.status == "claimed" else None
        words = _record_end(session, handoff, inbound.transfer, now)
        if (
            routed
            and deps.agents is not None
            and inbound.transfer in ("abandoned", "unanswered", "failed")
        ):
            missed = inbound.transfer != "abandoned"
            await deps.agents.line_ended(session, routed, missed=missed, now=now)
        await session.commit()
    logger.info("transfer ended handoff_id=%s how=%s", handoff_id, inbound.transfer)
    if words is None:
        return VoiceScript.of(EndCall())
    tts = deps.tts(context.customer.locale if context.customer else None)
    text = voice_script.said(words, tts) % {"number": deps.callcentre_number}
    return voice_script.goodbye(text=text, tts=tts)


def _record_end(
    session: AsyncSession, handoff: HandOff, ended: TransferEnd | None, now: datetime
) -> str | None:
    """Move the hand-off by how its transfer ended; what the caller still hears, if anything
    (in English, with the centre's number as ``%(number)s``)."""
    if ended == "talked" and handoff.claimed_by:
        pass  # an agent took it in the console: they complete it, with the outcome
    elif ended is not None and ended != "talked" and handoff.status == "claimed":
        return _not_put_through(session, handoff, ended, now)
    elif ended == "talked":
        move_handoff(
            session, handoff, "complete", reason="the customer talked to an agent", now=now
        )
    elif ended == "abandoned":
        move_handoff(session, handoff, "abandon", reason=ABANDONED, now=now)
    elif ended is not None and handoff.status == "queued":
        _back_to_agents(session, handoff, f"no agent answered the transfer ({ended})", now)
        return NO_AGENT_CALLBACK
    elif ended is not None:
        move_handoff(session, handoff, "fail", reason=f"no agent answered ({ended})", now=now)
        return NO_AGENT
    return None


def _not_put_through(
    session: AsyncSession, handoff: HandOff, ended: TransferEnd, now: datetime
) -> str | None:
    """A transfer routed to an agent's line ended before they answered: the customer hung up
    (abandoned), or the line did not answer (a callback for every agent of the queue)."""
    agent = handoff.claimed_by
    if ended == "abandoned":
        move_handoff(session, handoff, "release", reason=f"{agent}'s line was ringing", now=now)
        move_handoff(session, handoff, "abandon", reason=ABANDONED, now=now)
        return None
    _back_to_agents(session, handoff, f"{agent}'s line did not answer the transfer ({ended})", now)
    return NO_AGENT_CALLBACK
