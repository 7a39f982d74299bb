"""Customer answers: interpret the key/reply/click, record it once, close or hand off the alert."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.deps import AlertDeps
from alerts.models import Alert, ContactPoint, DeliveryAttempt, Response
from alerts.status import ALERT_OPEN
from callcentre.models import HandOff
from callcentre.service import hand_off

logger = logging.getLogger(__name__)

# The account_activity options, per channel: key -> intent.
OPTIONS: dict[str, dict[str, str]] = {
    "voice": {"1": "agent", "2": "confirm", "9": "repeat"},
    "sms": {"1": "agent", "2": "confirm"},
    "email": {"agent": "agent", "confirm": "confirm", "call_me": "call_me"},
}
INTENT_TEXT = {
    "agent": "asked to speak to an agent",
    "confirm": "confirmed the payment was theirs",
    "repeat": "asked to hear the message again",
    "call_me": "asked to be called now",
    "unknown": "sent an answer Herald could not match",
    "stop": "texted STOP: no more SMS to this number",
    "start": "texted START: SMS back on",
    "help": "asked for help by SMS",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    response: Response
    intent: str
    duplicate: bool
    handoff: HandOff | None = None


def interpret(channel: str, key: str) -> str:
    return OPTIONS.get(channel, {}).get(key.strip().lower(), "unknown")


async def record_response(
    *,
    deps: AlertDeps,
    dedupe_key: str,
    attempt_id: int | None,
    channel: str,
    key: str,
    text: str | None,
    now: datetime,
    alert_id: int | None = None,
    customer_id: int | None = None,
    intent: str | None = None,
) -> Outcome:
    """Record an answer exactly once (by provider identity) and act on it. `intent` overrides
    the alert's options (carrier keywords such as STOP are not an answer to the alert)."""
    async with deps.sessions() as session:
        found = (
            await session.exec(select(Response).where(Response.dedupe_key == dedupe_key))
        ).first()
        if found:
            handoff = (
                await session.exec(select(HandOff).where(HandOff.response_id == found.id))
            ).first()
            return Outcome(found, found.intent, duplicate=True, handoff=handoff)
        attempt = await session.get(DeliveryAttempt, attempt_id) if attempt_id else None
        alert = (
            await session.get(Alert, attempt.alert_id if attempt else alert_id)
            if (attempt or alert_id)
            else None
        )
        intent = intent or interpret(channel, key)
        response = Response(
            dedupe_key=dedupe_key,
            alert_id=alert.id if alert else None,
            attempt_id=attempt_id,
            channel=channel,
            key=key[:20],
            intent=intent,
            customer_id=alert.customer_id if alert else customer_id,
            text=text,
            created_at=now,
        )
        try:
            async with session.begin_nested():
                session.add(response)
                await session.flush()
        except IntegrityError:
            return await record_response(
                intent=intent,
                deps=deps,
                dedupe_key=dedupe_key,
                attempt_id=attempt_id,
                channel=channel,
                key=key,
                text=text,
                now=now,
                alert_id=alert_id,
                customer_id=customer_id,
            )
        handoff = None
        if intent in ("agent", "call_me") or (intent == "unknown" and channel == "sms"):
            kind = {"call_me": "call_now"}.get(intent, "callback")
            if channel == "voice" and intent == "agent":
                kind = "live_transfer"
            handoff = await hand_off(session=session, response=response, kind=kind, now=now)
        if alert is not None and intent in ("agent", "confirm", "call_me"):
            _close(session, alert, f"customer {INTENT_TEXT[intent]} by {channel}", now)
        await session.commit()
        logger.info(
            "response recorded response_id=%s alert_id=%s channel=%s intent=%s",
            response.id,
            response.alert_id,
            channel,
            intent,
        )
        return Outcome(response, intent, duplicate=False, handoff=handoff)


def _close(session: AsyncSession, alert: Alert, reason: str, now: datetime) -> None:
    """Stop the rest of the plan: rotate the token so any woken step job does nothing."""
    if alert.status not in ALERT_OPEN:
        return
    alert.status = "closed"
    alert.closed_reason = reason
    alert.next_step_at = None
    alert.step_token = secrets.token_hex(8)
    alert.updated_at = now
    session.add(alert)


async def match_sms_reply(
    *, session: AsyncSession, from_number: str, now: datetime, window_hours: int
) -> tuple[int | None, int | None, int | None]:
    """(attempt id, alert id, customer id) of the newest open SMS alert sent to this number."""
    since = now - timedelta(hours=window_hours)
    attempt = (
        await session.exec(
            select(DeliveryAttempt)
            .join(Alert, col(Alert.id) == DeliveryAttempt.alert_id)
            .where(
                DeliveryAttempt.channel == "sms",
                DeliveryAttempt.address == from_number,
                col(DeliveryAttempt.created_at) >= since,
                col(Alert.status).in_(ALERT_OPEN),
            )
            .order_by(col(DeliveryAttempt.created_at).desc())
        )
    ).first()
    if attempt:
        alert = await session.get(Alert, attempt.alert_id)
        return attempt.id, attempt.alert_id, alert.customer_id if alert else None
    contact = (
        await session.exec(
            select(ContactPoint).where(
                ContactPoint.kind == "phone", ContactPoint.address == from_number
            )
        )
    ).first()
    return None, None, contact.customer_id if contact else None
