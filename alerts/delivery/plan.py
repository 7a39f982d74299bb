"""Moving an alert's plan on: reached, the next step (retry or fallback by the alert type's
policy), stopped, re-slotted into the customer's windows, paced, or held for a channel alarm.

Each move changes the alert's status through ``alerts.lifecycle.move_alert`` and commits before
the next step's job is enqueued (a lost enqueue is found by the sweep).
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.alert_types.store import get_spec
from alerts.deps import AlertDeps
from alerts.lifecycle import ALERT_OPEN, move_alert, outcome
from alerts.models import Alert, ContactPoint, DeliveryAttempt
from alerts.plans import PlannedStep
from channels import metrics
from channels.base import ContactProblem
from rules import retry
from rules.alert_types import DeliveryPolicy

logger = logging.getLogger(__name__)


async def delivery_policy(session: AsyncSession, alert: Alert) -> DeliveryPolicy:
    """The alert type's delivery policy (the defaults if the type no longer exists)."""
    spec = await get_spec(session, alert.alert_type)
    return spec.delivery if spec is not None else DeliveryPolicy()


def backoff_seconds(policy: DeliveryPolicy, try_no: int) -> float:
    """Exponential backoff with jitter for transient provider errors (the alert type's policy)."""
    return retry.backoff_seconds(policy, max(try_no - 1, 0), random.random())


def as_rules_problem(problem: ContactProblem | None) -> retry.ContactProblem | None:
    return retry.ContactProblem(problem) if problem else None


def retry_outcome(attempt: DeliveryAttempt, answered_by: str | None) -> retry.Outcome:
    """The retry policy's name for how an attempt ended."""
    if attempt.status == "busy":
        return retry.Outcome.BUSY
    if attempt.status == "no_answer":
        return retry.Outcome.NO_ANSWER
    if attempt.status == "completed" and answered_by and answered_by.startswith("machine"):
        return retry.Outcome.VOICEMAIL
    if outcome(attempt.channel, attempt.status) == "reached":
        return retry.Outcome.REACHED
    return retry.Outcome.FAILED


async def reached(
    *, session: AsyncSession, alert: Alert, attempt: DeliveryAttempt, now: datetime
) -> None:
    """The customer was reached: the rest of the plan is not sent."""
    if alert.status in ALERT_OPEN and alert.status != "delivered":
        move_alert(session, alert, "reach", reason=f"{attempt.channel} {attempt.status}", now=now)
        alert.next_step_at = None
        await session.commit()
        logger.info("alert delivered alert_id=%s attempt_id=%s", alert.id, attempt.id)


def stop(session: AsyncSession, alert: Alert, event: str, reason: str, now: datetime) -> None:
    """End the alert's plan: ``event`` is "fail" or "expire" (added to the session)."""
    if not move_alert(session, alert, event, reason=reason, now=now):
        return
    alert.next_step_at = None
    alert.closed_reason = reason[:200]
    logger.info("alert %s alert_id=%s: %s", alert.status, alert.id, reason)


async def _flag_contact(session: AsyncSession, flag: retry.FlagContact, now: datetime) -> None:
    """Record what the provider said about a contact point, so no plan uses it that way again."""
    contact = await session.get(ContactPoint, int(flag.contact_point_id))
    if contact is None:
        return
    if flag.flag == "invalid":
        contact.invalid_at = contact.invalid_at or now
        contact.invalid_reason = flag.reason[:200]
    elif flag.flag == "landline":
        contact.sms_capable = False
    elif flag.flag == "sms_opted_out":
        contact.sms_opted_out_at = contact.sms_opted_out_at or now
    session.add(contact)
    logger.warning("contact point %s flagged %s: %s", contact.id, flag.flag, flag.reason)


async def advance_plan(
    *,
    deps: AlertDeps,
    session: AsyncSession,
    alert: Alert,
    now: datetime,
    why: str,
    outcome: retry.Outcome = retry.Outcome.FAILED,
    problem: retry.ContactProblem | None = None,
    provider_retries: int = 0,
) -> None:
    """The current step did not reach the customer: retry, fall back, or stop, as the alert
    type's retry policy says (rules.retry.next_action)."""
    assert alert.id is not None
    if alert.status not in ALERT_OPEN:
        await session.commit()
        return
    if alert.plan[alert.current_step].is_copy:
        # A copy the customer asked for did not arrive: they were reached already (they
        # answered); the alert is not failed for it, and nothing else is sent.
        reason = f"the copy the customer asked for was not delivered ({why})"[:200]
        move_alert(session, alert, "copy_undelivered", reason=reason, now=now)
        alert.next_step_at = None
        alert.closed_reason = reason
        await session.commit()
        return
    action = retry.next_action(
        steps=[s.for_engine() for s in alert.plan],
        ended_index=alert.current_step,
        outcome=outcome,
        policy=await delivery_policy(session, alert),
        windows=alert.windows.for_rules(),
        expires_at=alert.expires_at or now + timedelta(days=1),
        now=now,
        jitter=random.random(),
        provider_retries=provider_retries,
        problem=problem,
    )
    if action.flag_contact is not None:
        await _flag_contact(session, action.flag_contact, now)
    if action.move == "stop" or action.step_index is None or action.at is None:
        stop(session, alert, "fail", f"{action.reason} ({why})", now)
        await session.commit()
        return
    nxt = action.step_index
    alert.current_step = nxt
    move_alert(session, alert, "next_step", reason=f"{action.reason} ({why})", now=now)
    alert.next_step_at = action.at
    alert.provider_retries = action.provider_retries
    await session.commit()
    wait = max(0.0, (action.at - now).total_seconds())
    logger.info("alert %s moves to step %s in %.0fs: %s", alert.id, nxt, wait, action.reason)
    metrics.FALLBACKS.labels(kind="step", channel=alert.plan[nxt].channel).inc()
    await deps.queue.enqueue_step(
        alert_id=alert.id, step_index=nxt, channel=alert.plan[nxt].channel, defer_seconds=wait
    )


def past_deadline(step: PlannedStep, now: datetime) -> str | None:
    if now > step.deadline:
        return f"its deadline {step.deadline:%Y-%m-%d %H:%M} UTC has passed"
    return None


def _replace_step(alert: Alert, index: int, step: PlannedStep) -> None:
    alert.plan = [*alert.plan[:index], step, *alert.plan[index + 1 :]]


async def reslot(
    deps: AlertDeps, session: AsyncSession, alert: Alert, index: int, now: datetime, why: str
) -> str | None:
    """A step woke too late (a worker outage ran into quiet hours): move it to the next time
    the customer's windows allow, before the alert expires (returns where to), or stop (None)."""
    assert alert.id is not None
    step = alert.plan[index]
    windows = alert.windows.for_rules()
    shift = windows.earliest(step.channel, now)
    expires = alert.expires_at or now + timedelta(days=1)
    if shift.at is None or shift.at >= expires:
        stop(session, alert, "fail", f"step {index} {why} and cannot start before expiry", now)
        await session.commit()
        return None
    until = windows.until(step.channel, shift.at)
    moved = step.model_copy(
        update={
            "not_before": shift.at,
            "deadline": min(expires, until) if until else expires,
            "reason": f"{step.reason}; moved: {why}",
            "released_at": None,  # a paced slot does not carry over: ask the pacer again
        }
    )
    await _hold(deps, session, alert, index, moved, shift.at, now, f":t{int(shift.at.timestamp())}")
    return f"step {index} {why}; moved to {shift.at:%Y-%m-%d %H:%M} UTC"


PAUSED_VOICE_RECHECK_S = 60.0  # a paused voice step with no other channel looks again after


async def skip_paused_voice(
    deps: AlertDeps, session: AsyncSession, alert: Alert, step: PlannedStep, now: datetime
) -> str | None:
    """While a supervisor has paused voice for this alert type, move a voice step on to the
    plan's next channel that is not voice (the alert type's fallback order); with none left,
    hold the step and look again in a minute (None: voice is not paused, go on)."""
    switch = deps.voice_switch
    if switch is None or step.channel != "voice":
        return None
    why = await switch.paused(session, alert.alert_type)
    if why is None:
        return None
    assert alert.id is not None
    index = alert.current_step
    nxt = next(
        (i for i in range(index + 1, len(alert.plan)) if alert.plan[i].channel != "voice"), None
    )
    if nxt is None:
        at = now + timedelta(seconds=PAUSED_VOICE_RECHECK_S)
        await hold_step(deps, session, alert, at, now, f"{why}; no other channel in the plan")
        return f"held: {why}; no other channel in the plan"
    at = max(now, alert.plan[nxt].not_before)
    alert.current_step = nxt
    move_alert(
        session,
        alert,
        "next_step",
        reason=f"{why}: falls back to {alert.plan[nxt].channel}",
        now=now,
    )
    alert.next_step_at = at
    await session.commit()
    await deps.queue.enqueue_step(
        alert_id=alert.id,
        step_index=nxt,
        channel=alert.plan[nxt].channel,
        defer_seconds=max(0.0, (at - now).total_seconds()),
    )
    logger.info("alert_id=%s voice step %s skipped: %s", alert.id, index, why)
    return f"voice paused ({why}): step {nxt} {alert.plan[nxt].channel} next"


async def pace_voice(
    deps: AlertDeps, session: AsyncSession, alert: Alert, step: PlannedStep, now: datetime
) -> str | None:
    """Hold a voice step that offers an agent until the pacer releases it (None: go now)."""
    pacer = deps.pacer
    if pacer is None or step.channel != "voice":
        return None
    if not any(o.intent == "agent" for o in alert.options):
        return None
    if step.released_at:  # this step already holds a slot: it is its time now
        return None
    wait, reason, reserved = await pacer.release(
        session=session, alert_type=alert.alert_type, now=now
    )
    if wait <= 0:
        return None
    at = now + timedelta(seconds=wait)
    # A reserved slot is this call's: the run at `at` places it without asking again.
    paced = step.model_copy(update={"paced": reason[:300], "released_at": at if reserved else None})
    run_key = f":p{int(at.timestamp() * 1000)}"
    await _hold(deps, session, alert, alert.current_step, paced, at, now, run_key)
    return f"paced: {reason}"


async def hold_step(
    deps: AlertDeps, session: AsyncSession, alert: Alert, at: datetime, now: datetime, why: str
) -> None:
    """Run the current step again at ``at`` (a channel alarm holds it), unchanged."""
    index = alert.current_step
    step = alert.plan[index]
    logger.warning("alert_id=%s step %s held until %s: %s", alert.id, index, at, why)
    await _hold(deps, session, alert, index, step, at, now, f":h{int(at.timestamp())}")


async def _hold(
    deps: AlertDeps,
    session: AsyncSession,
    alert: Alert,
    index: int,
    step: PlannedStep,
    at: datetime,
    now: datetime,
    run_key: str,
) -> None:
    assert alert.id is not None
    _replace_step(alert, index, step)
    alert.next_step_at = at
    alert.updated_at = now
    session.add(alert)
    await session.commit()
    await deps.queue.enqueue_step(
        alert_id=alert.id,
        step_index=index,
        channel=step.channel,
        defer_seconds=max(0.0, (at - now).total_seconds()),
        run_key=run_key,
    )
