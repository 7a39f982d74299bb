"""Messages Herald sends at a customer's request: a forwarded copy, the marketing opt-in
confirmation, a "call me now" call. Each is a plan step like any other, so it gets an attempt
row, the retry policy, dedupe by (alert, step), provider statuses and a line in the history.

A request about an alert adds a step to that alert (a copy: its failure does not fail an alert
the customer already answered); a request outside any alert (the opt-in confirmation) is an
alert of its own, of the Herald type ``consent_confirmation``, deduplicated per contact point
and minute.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.deps import AlertDeps
from alerts.lifecycle import move_alert, move_handoff
from alerts.models import Alert, DeliveryAttempt, HandOff
from alerts.plans import PlannedStep, StepContent, StepKind
from rules.vocabulary import Channel

logger = logging.getLogger(__name__)
CONSENT_TYPE = "consent_confirmation"
DEADLINE = timedelta(hours=1)


def direct_step(
    *,
    kind: StepKind,
    channel: Channel,
    address: str,
    now: datetime,
    reason: str,
    locale: str = "en",
    contact_point_id: str = "",
    content: StepContent | None = None,
    handoff_id: int | None = None,
) -> PlannedStep:
    return PlannedStep(
        channel=channel,
        contact_point_id=contact_point_id,
        address=address,
        not_before=now,
        deadline=now + DEADLINE,
        locale=locale,
        reason=reason,
        is_copy=True,
        kind=kind,
        content=content,
        handoff_id=handoff_id,
    )


def add_step(
    session: AsyncSession, alert: Alert, step: PlannedStep, *, now: datetime, actor: str
) -> int:
    """Add ``step`` to the alert as its current step, due now (added to the session; enqueue
    it after the commit with ``enqueue_current``); returns its index."""
    alert.plan = [*alert.plan, step]
    alert.current_step = len(alert.plan) - 1
    move_alert(session, alert, "plan_copy", reason=step.reason, now=now, actor=actor)
    alert.next_step_at = now
    session.add(alert)
    return alert.current_step


async def consent_alert(
    session: AsyncSession, *, customer_id: int, step: PlannedStep, contact_id: int, now: datetime
) -> Alert | None:
    """The opt-in confirmation as an alert of its own (None: one was sent this minute)."""
    alert = Alert(
        dedupe_key=f"{CONSENT_TYPE}:{contact_id}:{now:%Y-%m-%dT%H:%M}",
        alert_type=CONSENT_TYPE,
        customer_id=customer_id,
        status="pending",
        plan=[step.model_copy(update={"is_copy": False})],
        locale=step.locale,
        category="service",
        expires_at=now + timedelta(days=1),
        next_step_at=now,
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(alert)
            await session.flush()
    except IntegrityError:
        return None
    return alert


async def enqueue_current(deps: AlertDeps, alert: Alert) -> None:
    """Queue the alert's current step (after the commit; the sweep finds a lost enqueue)."""
    assert alert.id is not None
    await deps.queue.enqueue_step(
        alert_id=alert.id,
        step_index=alert.current_step,
        channel=alert.plan[alert.current_step].channel,
        run_key=":d",
    )


async def call_ended(
    session: AsyncSession,
    attempt: DeliveryAttempt,
    step: PlannedStep,
    *,
    reached: bool,
    now: datetime,
) -> None:
    """A "call me now" call ended: put through and over (the hand-off is done), or not answered
    (the hand-off goes back to the queue as a callback, with the reason)."""
    if step.kind != "call_now" or step.handoff_id is None:
        return
    handoff = await session.get(HandOff, step.handoff_id)
    if handoff is None:
        return
    if reached:
        move_handoff(
            session, handoff, "complete", reason="the call with the customer ended", now=now
        )
        return
    why = f"the customer did not take the call ({attempt.status.replace('_', ' ')}): call back"
    if move_handoff(session, handoff, "release", reason=why, now=now) or handoff.status == "queued":
        handoff.kind = "callback"
        handoff.context = {**handoff.context, "call_error": why}
        session.add(handoff)
