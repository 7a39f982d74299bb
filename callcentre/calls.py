"""Outbound calls that connect a customer to an agent ("call me now").

The hand-off is ``offered`` while Herald calls the customer; the call's own webhooks move it on
(alerts.responses.transfers): ``connected`` when they answer and are put through, back to
``queued`` as a callback when they do not answer, ``failed`` when the call fails. When the call
cannot be placed at all (no phone, the centre closed, the provider refused), the hand-off stays
queued as a callback, with the reason, so nobody is forgotten.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.columns import utcnow
from alerts.deps import AlertDeps
from alerts.lifecycle import move_handoff
from alerts.models import ContactPoint, HandOff
from alerts.responses.values import update_context
from callcentre.state import load_hours
from channels.base import ChannelError, OutboundMessage
from channels.masking import mask

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CallResult:
    called: bool
    message: str  # what the customer is told


async def call_customer_now(*, deps: AlertDeps, handoff_id: int) -> CallResult:
    """Place the call whose script connects the customer to the call centre; if it cannot be
    placed, the hand-off becomes a callback task so nobody is forgotten."""
    async with deps.sessions() as session:
        handoff = await session.get(HandOff, handoff_id)
        if handoff is None or handoff.customer_id is None:
            return CallResult(False, "An agent will call you back shortly.")
        refused = await _cannot_call(session, handoff)
        if isinstance(refused, CallResult):
            return refused
        number, alert_id = refused, handoff.alert_id or 0
    hooks = f"{deps.public_url}/webhooks/twilio/voice/connect/{handoff_id}"
    try:
        receipt = await deps.channels["voice"].send(
            OutboundMessage(
                attempt_id=0,
                alert_id=alert_id,
                to=number,
                text="",
                twiml_url=hooks,
                status_callback=f"{hooks}/status",
            )
        )
    except ChannelError as exc:
        logger.warning("call-me-now failed handoff_id=%s: %s", handoff_id, exc)
        await _as_callback(deps, handoff_id, call_error=str(exc))
        return CallResult(
            False, "We could not call you right now; an agent will call you back shortly."
        )
    async with deps.sessions() as session:
        row = await session.get(HandOff, handoff_id)
        if row is not None:
            if row.status == "queued":  # the call's own webhooks may have moved it already
                move_handoff(session, row, "offer", reason="calling the customer now", now=utcnow())
            update_context(row, call_sid=receipt.provider_sid)
            session.add(row)
            await session.commit()
    logger.info(
        "calling customer now handoff_id=%s to=%s provider_sid=%s",
        handoff_id,
        mask(number),
        receipt.provider_sid,
    )
    return CallResult(True, f"We are calling you now on {mask(number)}.")


async def _cannot_call(session: AsyncSession, handoff: HandOff) -> str | CallResult:
    """The number to call now, or why not (the hand-off already turned into a callback)."""
    phone = (
        await session.exec(
            select(ContactPoint).where(
                ContactPoint.customer_id == handoff.customer_id, ContactPoint.kind == "phone"
            )
        )
    ).first()
    if phone is None:
        handoff.kind = "callback"
        session.add(handoff)
        await session.commit()
        return CallResult(
            False, "We have no phone number for you; an agent will contact you shortly."
        )
    now = utcnow()
    hours = (await load_hours(session)).to_hours()
    if hours.is_open(now):
        return phone.address
    opens = hours.next_opening(now)
    handoff.kind = "callback"
    update_context(
        handoff,
        callback_at=opens,
        why="the call centre was closed when the customer asked to be called now",
    )
    session.add(handoff)
    await session.commit()
    when = f" when it opens ({opens:%A %H:%M} {hours.tz})" if opens else ""
    return CallResult(
        False, f"Our call centre is closed right now; an agent will call you back{when}."
    )


async def _as_callback(deps: AlertDeps, handoff_id: int, *, call_error: str) -> None:
    async with deps.sessions() as session:
        row = await session.get(HandOff, handoff_id)
        if row is not None:
            row.kind = "callback"
            update_context(row, call_error=call_error)
            session.add(row)
            await session.commit()
