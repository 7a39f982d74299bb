"""Customer answers: interpret the key/reply/click, record it once, close or hand off the alert."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.alert_types.content import channel_options
from alerts.customers.preferences import PreferenceIn, save_preference, stored
from alerts.deps import AlertDeps
from alerts.lifecycle import ALERT_OPEN, move_alert
from alerts.models import Alert, ContactPoint, DeliveryAttempt, HandOff, Response
from alerts.responses.actions import plan_copy
from alerts.responses.handoffs import hand_off

logger = logging.getLogger(__name__)

INTENT_TEXT = {
    "agent": "asked to speak to an agent",
    "confirm": "confirmed the alert",
    "repeat": "asked to hear the message again",
    "call_me": "asked to be called now",
    "callback": "asked to be called back",
    "opt_out": "opted out of this alert type",
    "transaction": "asked for the automated transaction",
    "sms_copy": "asked for a copy by SMS",
    "email_copy": "asked for a copy by email",
    "unknown": "sent an answer Herald could not match",
    "stop": "texted STOP: no more SMS to this number",
    "start": "texted START: SMS back on",
    "help": "asked for help by SMS",
}
# Answers that end the alert: the customer has seen it and acted.
CLOSING = frozenset({"agent", "confirm", "call_me", "callback", "opt_out", "transaction"})
# Answers that become work for the call centre, and the kind of hand-off.
# A transaction's task is created with the answer and closed once the endpoint has done it, so
# a crash between the two leaves an agent a task, never a silently lost request.
AGENT_TASKS = {
    "agent": "callback",
    "callback": "callback",
    "call_me": "call_now",
    "transaction": "task",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    response: Response
    intent: str
    duplicate: bool
    handoff: HandOff | None = None


def interpret(channel: str, key: str, options: list[dict[str, Any]]) -> str:
    """The intent of ``key`` among the alert's options on ``channel`` ("unknown" if none).
    An email link carries the intent itself (it was signed when the email was built)."""
    key = key.strip().lower()
    offered = channel_options(options, "email" if channel == "email" else channel)  # type: ignore[arg-type]
    for option in offered:
        if (option["intent"] if channel == "email" else option["key"].lower()) == key:
            return option["intent"]
    return "unknown"


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
        intent = intent or interpret(channel, key, alert.options if alert else [])
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
        if intent in AGENT_TASKS or (intent == "unknown" and channel == "sms"):
            kind = AGENT_TASKS.get(intent, "callback")
            if channel == "voice" and intent == "agent":
                kind = "live_transfer"
            handoff = await hand_off(session=session, response=response, kind=kind, now=now)
        if handoff is not None and intent == "transaction":
            handoff.context = {
                **handoff.context,
                "task": "the automated transaction was requested; if this stays open, it did "
                "not complete: do it for the customer",
            }
            session.add(handoff)
        copy: tuple[int, str] | None = None
        if alert is not None and intent in ("sms_copy", "email_copy"):
            planned = await plan_copy(session, alert, intent, now)
            if isinstance(planned, str):  # no usable phone or email: an agent sends it
                handoff = await hand_off(session=session, response=response, kind="task", now=now)
                handoff.context = {**handoff.context, "task": planned}
                session.add(handoff)
            else:
                copy = planned
        if alert is not None and intent == "opt_out":
            await _opt_out(session, alert, channel, now)
        if alert is not None and intent in CLOSING:
            label = next((o["label"] for o in alert.options if o.get("intent") == intent), None)
            said = f" ('{label}')" if label else ""
            _close(session, alert, f"customer {INTENT_TEXT[intent]}{said} by {channel}", now)
        await session.commit()
        if copy is not None and alert is not None and alert.id is not None:
            # Committed first: if this enqueue is lost, the sweep finds the due step.
            await deps.queue.enqueue_step(alert_id=alert.id, step_index=copy[0], channel=copy[1])
        logger.info(
            "response recorded response_id=%s alert_id=%s channel=%s intent=%s",
            response.id,
            response.alert_id,
            channel,
            intent,
        )
        return Outcome(response, intent, duplicate=False, handoff=handoff)


async def _opt_out(session: AsyncSession, alert: Alert, channel: str, now: datetime) -> None:
    """The customer chose "stop these alerts": opt them out of this alert type (recorded as
    their own change; a mandatory alert type still reaches them, as their page explains)."""
    current = (await stored(session, alert.customer_id)).get(alert.alert_type, PreferenceIn())
    await save_preference(
        session,
        customer_id=alert.customer_id,
        alert_type=alert.alert_type,
        data=current.model_copy(update={"opted_out": True}),
        actor=f"customer ({channel} answer)",
        now=now,
    )


def _close(session: AsyncSession, alert: Alert, reason: str, now: datetime) -> None:
    """Stop the rest of the plan: a woken step job finds the alert no longer open."""
    if not move_alert(session, alert, "answer", reason=reason, now=now, actor="customer"):
        return
    alert.closed_reason = reason
    alert.next_step_at = None


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
