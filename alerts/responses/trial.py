"""Studio trials of a draft as the customer lives it: the trial alert and call they answer.

"Try it as the customer" builds one alert from the draft for a made-up customer, marked
``trial`` (rendered from the draft, never delivered, left out of the reports), with one voice
attempt whose call is already "answered". The studio then drives Herald's real voice webhooks
for that attempt, so what the page shows is what the webhook code answers.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from alerts import audit
from alerts.customers.records import CustomerIn, upsert_customer
from alerts.delivery.messages import build_message
from alerts.deps import AlertDeps
from alerts.lifecycle import move_handoff
from alerts.models import (
    TRIAL_CUSTOMER_REF,
    Alert,
    Customer,
    DeliveryAttempt,
    HandOff,
    Response,
)
from alerts.plans import AlertOption, PlannedStep
from alerts.responses.trial_cleanup import purge_old_trials
from channels.base import ChannelError
from channels.masking import mask
from rules.alert_types import AlertTypeSpec

TRIAL_REF = TRIAL_CUSTOMER_REF
TRIAL_NAME = "Sam Jansen"
# A number no one has (the range reserved for fiction): nothing can ring anywhere.
TRIAL_PHONE = "+15555550100"
TRIAL_EMAIL = "sam.jansen@example.com"
TRIAL_VALUES = {
    "amount": "750.00",
    "currency": "EUR",
    "description": "Electro World",
    "merchant": "Electro World",
    "account_ending": "4300",
    "data": {},
}


@dataclass(frozen=True, slots=True)
class TrialCall:
    """The simulated call the studio's phone is in."""

    alert_id: int
    attempt_id: int
    call_sid: str
    to: str


async def _trial_customer(deps: AlertDeps) -> Customer:
    async with deps.sessions() as session:
        customer, _ = await upsert_customer(
            session=session,
            data=CustomerIn(
                external_ref=TRIAL_REF,
                name=TRIAL_NAME,
                phones=[TRIAL_PHONE],
                channel_order=["voice"],
                segment="trial",
                consent_source="studio trial",
            ),
        )
        await session.commit()
        return customer


async def start_trial_call(
    *, deps: AlertDeps, spec: AlertTypeSpec, locale: str, actor: str, now: datetime
) -> TrialCall:
    """A trial alert of ``spec`` (the draft) with one voice attempt, its call answered."""
    call_sid = "CAtrial" + secrets.token_hex(13)
    return await _trial(
        deps=deps,
        spec=spec,
        locale=locale,
        actor=actor,
        now=now,
        channel="voice",
        address=TRIAL_PHONE,
        sid=call_sid,
    )


def _trial_alert(
    spec: AlertTypeSpec,
    customer_id: int,
    locale: str,
    now: datetime,
    *,
    channel: str,
    address: str,
    call_sid: str,
) -> Alert:
    """The trial alert of the draft ``spec`` for the made-up customer (never delivered)."""
    return Alert(
        dedupe_key=f"{TRIAL_REF}:{spec.key}:{call_sid}",
        alert_type=spec.key,
        alert_type_version=spec.version,
        customer_id=customer_id,
        status="delivering",
        trial=True,
        plan=[
            PlannedStep(
                channel=channel,
                contact_point_id="",
                address=address,
                not_before=now,
                deadline=now,
                locale=locale,
            )
        ],
        options=[
            AlertOption(
                key=o.key,
                intent=o.intent,
                label=o.label,
                endpoint=o.endpoint,
                **({"queue": o.queue} if o.queue else {}),
            )
            for o in spec.options
        ],
        locale=locale,
        priority=spec.priority,
        category=spec.category,
        context={
            "customer_name": TRIAL_NAME,
            "booking_date": now.date().isoformat(),
            **TRIAL_VALUES,
        },
        created_at=now,
        updated_at=now,
    )


async def _trial(
    *,
    deps: AlertDeps,
    spec: AlertTypeSpec,
    locale: str,
    actor: str,
    now: datetime,
    channel: str,
    address: str,
    sid: str | None,
    action: str | None = None,
) -> TrialCall:
    customer = await _trial_customer(deps)
    call_sid = sid or "trial" + secrets.token_hex(13)
    async with deps.sessions() as session:
        await purge_old_trials(session, now=now)  # a week of trials is kept, no more
        alert = _trial_alert(
            spec, customer.id or 0, locale, now, channel=channel, address=address, call_sid=call_sid
        )
        session.add(alert)
        await session.flush()
        attempt = DeliveryAttempt(
            alert_id=alert.id or 0,
            step_index=0,
            channel=channel,
            address=address,
            status="in_progress" if sid else "queued",
            provider_sid=sid,
            created_at=now,
            updated_at=now,
        )
        session.add(attempt)
        await session.flush()
        audit.record(
            session,
            kind="alert_type",
            entity_id=spec.key,
            action=action or ("trial_call" if channel == "voice" and sid else "test_send"),
            after={"alert_id": alert.id, "by": actor, "channel": channel, "to": mask(address)},
        )
        await session.commit()
        return TrialCall(alert.id or 0, attempt.id or 0, call_sid, address)


@dataclass(frozen=True, slots=True)
class TestSend:
    """What a test send of the draft did: to whom, what, and the provider's answer."""

    channel: str
    to: str
    subject: str
    text: str
    status: str  # "sent", or "failed"
    detail: str  # the provider's id, or what went wrong


async def send_test(
    *,
    deps: AlertDeps,
    spec: AlertTypeSpec,
    locale: str,
    channel: str,
    address: str,
    actor: str,
    now: datetime,
) -> TestSend:
    """Send the draft by ``channel`` to ``address`` once, through the channel Herald uses (the
    simulator and the SMTP sink by default), as a trial alert; audited."""
    trial = await _trial(
        deps=deps,
        spec=spec,
        locale=locale,
        actor=actor,
        now=now,
        channel=channel,
        address=address,
        sid=None,
    )
    async with deps.sessions() as session:
        alert = await session.get(Alert, trial.alert_id)
        attempt = await session.get(DeliveryAttempt, trial.attempt_id)
        assert alert is not None and attempt is not None
        message = await build_message(deps=deps, session=session, alert=alert, attempt=attempt)
        try:
            receipt = await deps.channels[channel].send(message)
        except ChannelError as exc:
            attempt.status, attempt.error = "failed", str(exc)[:500]
            result = TestSend(
                channel, address, message.subject or "", message.text, "failed", str(exc)
            )
        else:
            attempt.status, attempt.provider_sid = "sent", receipt.provider_sid
            result = TestSend(
                channel, address, message.subject or "", message.text, "sent", receipt.provider_sid
            )
        session.add(attempt)
        await session.commit()
    return result


async def trial_attempt(
    *, deps: AlertDeps, key: str, attempt_id: int
) -> tuple[DeliveryAttempt, Alert] | None:
    """The attempt of a trial call of alert type ``key`` (None: not a trial, or not ``key``'s)."""
    async with deps.sessions() as session:
        attempt = await session.get(DeliveryAttempt, attempt_id)
        alert = await session.get(Alert, attempt.alert_id) if attempt else None
        if attempt is None or alert is None or not alert.trial or alert.alert_type != key:
            return None
        return attempt, alert


async def close_trial_handoffs(
    *, deps: AlertDeps, alert_id: int, since: datetime, now: datetime
) -> list[HandOff]:
    """The hand-offs the trial alert created since ``since`` (for the page to say so). They
    were closed as they were created (alerts.responses.handoffs: a trial customer never
    reaches a real agent's queue); one still open, from before that rule, is closed here."""
    async with deps.sessions() as session:
        rows = list(
            (
                await session.exec(
                    select(HandOff).where(
                        col(HandOff.alert_id) == alert_id, col(HandOff.created_at) >= since
                    )
                )
            ).all()
        )
        for row in rows:
            if row.closed_at is None:
                move_handoff(
                    session, row, "complete", reason="studio trial: not for agents", now=now
                )
        await session.commit()
        for row in rows:
            await session.refresh(row)
        return rows


@dataclass(frozen=True, slots=True)
class TrialEmail:
    """The draft's email as the pretend customer receives it, with its response buttons (real
    signed /r/ links of a trial alert: clicking one drives Herald's real response pages)."""

    alert_id: int
    attempt_id: int
    to: str
    subject: str
    text: str
    html: str


async def start_trial_email(
    *, deps: AlertDeps, spec: AlertTypeSpec, locale: str, actor: str, now: datetime
) -> TrialEmail:
    """A trial alert of the draft with one email attempt, built by the code that sends emails
    (alerts.delivery.messages) and never sent; audited."""
    trial = await _trial(
        deps=deps,
        spec=spec,
        locale=locale,
        actor=actor,
        now=now,
        channel="email",
        address=TRIAL_EMAIL,
        sid=None,
        action="trial_email",
    )
    async with deps.sessions() as session:
        attempt = await session.get(DeliveryAttempt, trial.attempt_id)
        assert attempt is not None
        attempt.status, attempt.updated_at = "sent", now  # shown in the studio, sent to nobody
        session.add(attempt)
        await session.commit()
    email = await trial_email(deps=deps, key=spec.key, attempt_id=trial.attempt_id)
    assert email is not None
    return email


async def trial_email(*, deps: AlertDeps, key: str, attempt_id: int) -> TrialEmail | None:
    """The trial email of alert type ``key`` (None: no such trial email)."""
    found = await trial_attempt(deps=deps, key=key, attempt_id=attempt_id)
    if found is None or found[0].channel != "email":
        return None
    attempt, alert = found
    async with deps.sessions() as session:
        message = await build_message(deps=deps, session=session, alert=alert, attempt=attempt)
    return TrialEmail(
        alert_id=alert.id or 0,
        attempt_id=attempt_id,
        to=attempt.address,
        subject=message.subject or "",
        text=message.text,
        html=message.html or "",
    )


@dataclass(frozen=True, slots=True)
class TrialAnswer:
    """What the pretend customer answered in a trial, and the hand-off it made (closed)."""

    channel: str
    intent: str
    at: datetime
    handoff_kind: str | None
    handoff_status: str | None


async def trial_answers(*, deps: AlertDeps, alert_id: int) -> list[TrialAnswer]:
    """The answers recorded for the trial alert, oldest first."""
    async with deps.sessions() as session:
        alert = await session.get(Alert, alert_id)
        if alert is None or not alert.trial:
            return []
        rows = (
            await session.exec(
                select(Response, HandOff)
                .join(HandOff, col(HandOff.response_id) == col(Response.id), isouter=True)
                .where(col(Response.alert_id) == alert_id)
                .order_by(col(Response.id))
            )
        ).all()
    return [
        TrialAnswer(
            r.channel, r.intent, r.created_at, h.kind if h else None, h.status if h else None
        )
        for r, h in rows
    ]
