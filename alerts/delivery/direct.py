"""Messages Herald sends at a customer's request: a forwarded copy, the marketing opt-in
confirmation, a "call me now" call. Each is a plan step like any other, so it gets an attempt
row, the retry policy, dedupe by (alert, step), provider statuses and a line in the history.

Each is an alert of its own, of the Herald type named by its kind (``forward``, ``call_now``,
``consent_confirmation``: not administrators' alert types, so the default delivery policy
applies), with one step and a dedupe key from the request, so a double click sends once; the
context says which alert (or hand-off) it was asked from. Its status is its own.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.deps import AlertDeps
from alerts.lifecycle import move_handoff
from alerts.models import Alert, DeliveryAttempt, HandOff
from alerts.plans import PlannedStep, StepContent, StepKind, StoredWindows
from rules.vocabulary import Channel

logger = logging.getLogger(__name__)
MACHINE_ANSWERED = "the call-me-now call was answered by a voicemail"
# A "call me now" call's status that means the customer was not reached.
NOT_REACHED = {
    "busy": "the customer's line was busy",
    "no_answer": "the customer did not answer",
    "canceled": "the call was canceled",
}

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
        kind=kind,
        content=content,
        handoff_id=handoff_id,
    )


async def direct_alert(
    session: AsyncSession,
    *,
    customer_id: int,
    step: PlannedStep,
    dedupe_key: str,
    now: datetime,
    context: dict[str, object] | None = None,
) -> Alert | None:
    """The send as an alert of its own (type: the step's kind), with this one step, due now;
    added to the session (None: the same request was already made). Its status is its own:
    forwarding an alert does not answer it, a failed call does not fail it."""
    alert = Alert(
        dedupe_key=dedupe_key[:300],
        alert_type=step.kind,
        customer_id=customer_id,
        status="pending",
        plan=[step],
        # Asked for now by the customer: no quiet hours hold it (rules.timewindows.SendWindows).
        windows=StoredWindows(tz="UTC"),
        locale=step.locale,
        category="service",
        expires_at=now + timedelta(days=1),
        next_step_at=now,
        context=dict(context or {}),
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(alert)
            await session.flush()
    except IntegrityError:
        return None
    logger.info("%s queued alert_id=%s customer_id=%s", step.kind, alert.id, customer_id)
    return alert


async def enqueue_current(deps: AlertDeps, alert: Alert) -> None:
    """Queue the alert's current step (after the commit; the sweep finds a lost enqueue)."""
    assert alert.id is not None
    await deps.queue.enqueue_step(
        alert_id=alert.id,
        step_index=alert.current_step,
        channel=alert.plan[alert.current_step].channel,
    )  # the job id the sweep would use: a lost enqueue is found, a double one refused


async def call_ended(
    session: AsyncSession,
    attempt: DeliveryAttempt,
    step: PlannedStep,
    *,
    now: datetime,
    answered_by: str | None,
) -> None:
    """A "call me now" call reached a final status: not reached puts the hand-off back to the
    agents as a callback (with the reason), a failed call fails it, a call that ended after the
    customer was put through completes it (the connect webhook moved it to connected)."""
    if step.kind != "call_now" or step.handoff_id is None:
        return
    handoff = await session.get(HandOff, step.handoff_id)
    if handoff is None:
        return
    found = call_now_event(attempt.status, answered_by, handoff.status)
    if found is None:
        return
    event, why = found
    if event == "release":
        if handoff.status == "offered":
            move_handoff(session, handoff, "release", reason=why, now=now)
        handoff.kind = "callback"
        handoff.context = {**handoff.context, "why": why}
    else:
        move_handoff(session, handoff, event, reason=why, now=now)
    session.add(handoff)
    logger.info("call-me-now %s handoff_id=%s: %s", event, handoff.id, why)


def call_now_event(
    status: str | None, answered_by: str | None, handoff_status: str
) -> tuple[str, str] | None:
    """What a status of the "call me now" call does to its hand-off: ("release", why) back to
    the agents, ("fail", why), ("complete", why), or None (nothing yet)."""
    waiting = handoff_status in ("queued", "offered")
    if status in NOT_REACHED and waiting:
        return "release", NOT_REACHED[status]
    if status == "completed" and (answered_by or "").startswith("machine") and waiting:
        return "release", MACHINE_ANSWERED
    if status == "failed":
        return "fail", "the call to the customer failed"
    if status == "completed" and waiting:
        return "release", "the call ended before the customer was put through"
    if status == "completed" and handoff_status == "connected":
        return "complete", "the call ended"
    return None
