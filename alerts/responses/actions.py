"""What an answer does beyond being recorded: automated transactions, copies, callback times.

``perform`` runs after ``record_response`` stored a new (not duplicate) answer, whatever the
channel, and returns the words to give back to the customer (spoken, texted or shown):

- ``transaction``: POST the request to the option's endpoint (JSON, HMAC-SHA256 signed with the
  transaction signing key in ``X-Herald-Signature``; 8 s timeout); its ``{"say": "..."}`` is
  read back. When the endpoint fails, is missing or refuses, the request becomes a task for an
  agent instead.
- ``sms_copy`` / ``email_copy``: ``plan_copy`` appends a step to the alert's plan in the answer's
  own transaction (see alerts.responses.record), sent to the customer's first usable phone or email.
- anything else: nothing more here (hand-offs and closing happen in ``record_response``).

``schedule_callback`` sets when an agent should call back: at the hour the customer keyed in (in
their own time zone), or at the next time the call centre is open.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.deps import AlertDeps
from alerts.lifecycle import move_alert, move_handoff
from alerts.models import Alert, ContactPoint, Customer, HandOff, Response
from alerts.plans import AlertOption, PlannedStep
from alerts.responses.handoffs import hand_off
from alerts.responses.values import option_for, options_of, update_context

logger = logging.getLogger(__name__)

TRANSACTION_TIMEOUT_S = 8.0  # Twilio waits 15 s for TwiML; leave room for the rest
FAILED_TRANSACTION = (
    "Sorry, we could not complete that right now. An agent will contact you to finish it."
)


@dataclass(frozen=True, slots=True)
class ActionResult:
    text: str | None  # what to tell the customer (None: the channel's usual words)
    ok: bool = True


def sign_body(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def perform(
    *, deps: AlertDeps, response_id: int, now: datetime, http: httpx.AsyncClient | None = None
) -> ActionResult:
    async with deps.sessions() as session:
        response = await session.get(Response, response_id)
        if response is None or response.alert_id is None:
            return ActionResult(None)
        alert = await session.get(Alert, response.alert_id)
        if alert is None:
            return ActionResult(None)
        option = option_for(options_of(alert), response.intent)
        if response.intent == "transaction":
            return await _transaction(deps, session, alert, response, option, now, http)
    return ActionResult(None)  # copies were planned with the answer (alerts.responses.record)


async def _transaction(
    deps: AlertDeps,
    session: AsyncSession,
    alert: Alert,
    response: Response,
    option: AlertOption | None,
    now: datetime,
    http: httpx.AsyncClient | None,
) -> ActionResult:
    endpoint = option.endpoint if option else None
    customer = await session.get(Customer, alert.customer_id)
    payload = {
        "request_id": f"herald-response-{response.id}",  # idempotency key for the endpoint
        "alert_id": alert.id,
        "alert_type": alert.alert_type,
        "customer_ref": customer.external_ref if customer else None,
        "option": {"key": option and option.key, "label": option and option.label},
        "channel": response.channel,
        "context": {k: v for k, v in alert.context.items() if k != "data"},
        "at": now.isoformat(),
    }
    # No transaction stays open while the endpoint thinks (up to 8 s).
    await session.commit()
    if endpoint:
        say, problem = await call_endpoint(deps, str(endpoint), payload, http)
    else:
        say, problem = None, "no endpoint configured for this option"
    # The task created with the answer: closed when done, its reason updated when not.
    handoff = await hand_off(session=session, response=response, kind="task", now=now)
    if problem is None:
        move_handoff(session, handoff, "complete", reason=f"done automatically: {say}", now=now)
        update_context(handoff, task=f"done automatically: {say}")
        session.add(handoff)
        await session.commit()
        logger.info("transaction done alert_id=%s response_id=%s", alert.id, response.id)
        return ActionResult(say)
    logger.warning(
        "transaction failed alert_id=%s response_id=%s: %s", alert.id, response.id, problem
    )
    update_context(handoff, task=f"complete the transaction: {problem}")
    session.add(handoff)
    await session.commit()
    return ActionResult(say or FAILED_TRANSACTION, ok=False)


async def call_endpoint(
    deps: AlertDeps, endpoint: str, payload: dict[str, Any], http: httpx.AsyncClient | None
) -> tuple[str | None, str | None]:
    """POST the signed request; (words to read back, None) or (words or None, the problem)."""
    body = json.dumps(payload, sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Herald-Signature": sign_body(deps.transaction_secret, body),
    }
    client = http or httpx.AsyncClient(timeout=TRANSACTION_TIMEOUT_S)
    try:
        reply = await client.post(endpoint, content=body, headers=headers)
        is_json = reply.headers.get("content-type", "").startswith("application/json")
        data = reply.json() if is_json else None
    except Exception as exc:
        return None, f"the endpoint could not be reached: {type(exc).__name__}"
    finally:
        if http is None:
            await client.aclose()
    if reply.status_code >= 400:
        return None, f"the endpoint answered HTTP {reply.status_code}"
    if not isinstance(data, dict):  # e.g. a login page: never tell the customer "done"
        return None, f"the endpoint answered HTTP {reply.status_code} without a JSON object"
    if data.get("ok") is False:
        refused = str(data.get("reason") or "the endpoint refused the request")[:200]
        return str(data.get("say") or "") or None, refused
    return str(data.get("say") or "Thank you. That is done.")[:500], None


async def plan_copy(
    session: AsyncSession, alert: Alert, intent: str, now: datetime
) -> tuple[int, str] | str:
    """Append the copy the customer asked for to the alert's plan (the caller commits and then
    enqueues it); returns (step index, channel), or why it cannot be sent."""
    channel, kind = ("sms", "phone") if intent == "sms_copy" else ("email", "email")
    contacts = (
        await session.exec(
            select(ContactPoint)
            .where(ContactPoint.customer_id == alert.customer_id, ContactPoint.kind == kind)
            .order_by(col(ContactPoint.id))
        )
    ).all()
    usable = [
        c
        for c in contacts
        if c.invalid_at is None
        and c.consent_withdrawn_at is None
        and (channel != "sms" or (c.sms_capable and c.sms_opted_out_at is None))
    ]
    if not usable:
        return f"the customer asked for a copy by {channel} but has no {kind} we may use"
    contact = usable[0]
    step = {
        "channel": channel,
        "contact_point_id": str(contact.id),
        "address": contact.address,
        "attempt": 1,
        "not_before": now.isoformat(),
        "deadline": (now + timedelta(hours=1)).isoformat(),
        "locale": alert.locale,
        "reason": f"the customer asked for a copy by {channel}",
        "copy": True,
    }
    alert.plan = [*alert.plan, PlannedStep.model_validate(step)]
    alert.current_step = len(alert.plan) - 1
    move_alert(
        session, alert, "plan_copy", reason=f"a copy by {channel}", now=now, actor="customer"
    )
    alert.next_step_at = now
    session.add(alert)
    return alert.current_step, channel


def callback_time(keyed: str, *, tz: str, now: datetime) -> datetime | None:
    """The next instant at the hour (and minutes) keyed in, "14" or "1430", in the customer's
    zone; None when nothing usable was keyed."""
    digits = "".join(ch for ch in keyed if ch.isdigit())
    if len(digits) in (1, 2):
        hour, minute = int(digits), 0
    elif len(digits) in (3, 4):
        hour, minute = int(digits[:-2]), int(digits[-2:])
    else:
        return None
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    at = datetime.combine(local.date(), time(hour, minute), tzinfo=zone)
    if at <= local:
        at = datetime.combine(local.date() + timedelta(days=1), time(hour, minute), tzinfo=zone)
    return at.astimezone(now.tzinfo)


async def schedule_callback(
    *, deps: AlertDeps, handoff_id: int, keyed: str, now: datetime
) -> tuple[datetime | None, str]:
    """Store when to call back on the hand-off; returns it and the words to say."""
    async with deps.sessions() as session:
        handoff = await session.get(HandOff, handoff_id)
        if handoff is None:
            return None, "Thank you. We will call you back."
        customer = await session.get(Customer, handoff.customer_id) if handoff.customer_id else None
        tz = customer.timezone if customer else "UTC"
        hours = await deps.centre.hours(session)
        at = callback_time(keyed, tz=tz, now=now) if keyed.strip("#") else None
        chosen = "at the time you chose"
        if at is None or not hours.is_open(at):
            if at is not None:
                chosen = "at the first time we are open after the time you chose"
            else:
                chosen = "as soon as we are open"
            at = hours.next_opening(at or now)
        update_context(handoff, callback_at=at, callback_keyed=keyed or None)
        session.add(handoff)
        await session.commit()
    if at is None:
        return None, "Thank you. We will call you back."
    local = at.astimezone(ZoneInfo(tz))
    return at, f"Thank you. We will call you back {chosen}: {local:%A} at {local:%H:%M}."
