"""Run one plan step: the attempt row, the provider's answer, and what it means for the plan.

``run_step`` reads top-down as the steps of one delivery: is the step still due, should it wait
(deadline passed, pacer, channel alarm), the attempt row (created once), was it already sent
(an interrupted or ambiguous earlier send is looked up at the provider first, never sent twice),
may the contact point still be used, then the send and its outcome. It is safe to run any number
of times, and after a crash at any point: rows are committed before and after the provider call.

Past 400 lines on purpose: it is the one place a send's outcome is decided (sent, adopted,
retried, held, failed), and keeping those stages together is what lets it be read top-down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.alert_types.content import ContentError
from alerts.delivery import alarms
from alerts.delivery.messages import build_message
from alerts.delivery.plan import (
    advance_plan,
    as_rules_problem,
    backoff_seconds,
    delivery_policy,
    hold_step,
    pace_voice,
    past_deadline,
    reslot,
    skip_paused_voice,
    stop,
)
from alerts.delivery.rate_limits import keep_distance, wait_for_slot
from alerts.delivery.statuses import pass_on
from alerts.delivery.step_rows import StepRows, insert_attempt, read_step
from alerts.deps import AlertDeps
from alerts.lifecycle import ALERT_OPEN, move_alert, move_attempt, outcome
from alerts.models import Alert, AttemptEvent, ContactPoint, DeliveryAttempt
from alerts.plans import PlannedStep
from channels import metrics
from channels.base import (
    Channel,
    ChannelError,
    Failure,
    OutboundMessage,
    Receipt,
    StatusUpdate,
    TransientChannelError,
    failure_of,
)
from channels.masking import mask
from rules import retry

logger = logging.getLogger(__name__)


class RetryLater(Exception):
    """The provider had a transient problem; the job layer retries after `defer_seconds`."""

    def __init__(self, reason: str, defer_seconds: float) -> None:
        super().__init__(reason)
        self.defer_seconds = defer_seconds


@dataclass(frozen=True, slots=True)
class StepResult:
    action: str  # "sent" | "adopted" | "skipped" | "deferred" | "failed"
    detail: str


@dataclass
class _Run:
    """One run of one step: what every stage below needs."""

    deps: AlertDeps
    session: AsyncSession
    alert: Alert
    step: PlannedStep
    now: datetime
    try_no: int
    rows: StepRows


async def run_step(
    *, deps: AlertDeps, alert_id: int, step_index: int, now: datetime, try_no: int = 1
) -> StepResult:
    """Deliver one plan step. Safe to run any number of times, and after a crash at any point."""
    async with deps.sessions() as session:
        rows = await read_step(session, alert_id, step_index)
        if rows is None:
            return StepResult("skipped", f"alert {alert_id} does not exist")
        alert = rows.alert
        if alert.trial:
            return StepResult("skipped", f"alert {alert_id} is a studio trial: never delivered")
        if (not_due := _not_due(alert, step_index, now)) is not None:
            return StepResult("skipped", not_due)
        run = _Run(deps, session, alert, alert.plan[step_index], now, try_no, rows)
        if alert.expires_at is not None and now >= alert.expires_at:
            reason = f"expired at {alert.expires_at:%Y-%m-%d %H:%M} UTC before step {step_index}"
            stop(session, alert, "expire", reason, now)
            await session.commit()
            return StepResult("skipped", reason)
        attempt = rows.attempt
        if attempt is None and (waiting := await _wait_before_first_try(run)) is not None:
            return waiting
        if (held := await _held_by_alarm(run)) is not None:
            return held
        if attempt is None:
            attempt = await _create_attempt(run, step_index)
            if attempt is None:
                return StepResult("skipped", "another worker created this attempt")
        if attempt.provider_sid or attempt.status not in ("queued", "sending"):
            return StepResult("skipped", f"attempt {attempt.id} already {attempt.status}")
        return await _deliver(run, attempt)


async def after_send(
    *,
    deps: AlertDeps,
    alert_id: int,
    step_index: int,
    now: datetime,
    try_no: int,
    sent: Receipt | ChannelError,
) -> StepResult:
    """The single-step path's end of a send a batch made (alerts.delivery.batch) but could not
    record with the others: the provider's receipt recorded, or its error mapped, on the rows
    read again (the attempt was committed as "sending" before the send)."""
    async with deps.sessions() as session:
        rows = await read_step(session, alert_id, step_index)
        assert rows is not None and rows.attempt is not None, "a batch sends committed attempts"
        alert, attempt = rows.alert, rows.attempt
        run = _Run(deps, session, alert, alert.plan[step_index], now, try_no, rows)
        if isinstance(sent, ChannelError):
            return await _send_failed(run, attempt, sent)
        return await _record_sent(run, attempt, sent)


def not_due(alert: Alert, step_index: int, now: datetime) -> str | None:
    """Why a woken job for ``step_index`` has nothing to do (None: it is due)."""
    return _not_due(alert, step_index, now)


def contact_problem(rows: StepRows, step: PlannedStep) -> str | None:
    """``_contact_problem`` on the contact points read with the step (no session)."""
    contact_id = step.contact_point_id
    if not contact_id:
        return None
    contact = next((c for c in rows.contacts if c.id == int(contact_id)), None)
    return None if contact is None else _problem_of(contact, step)


def _not_due(alert: Alert, step_index: int, now: datetime) -> str | None:
    """Why a woken job for ``step_index`` has nothing to do (None: it is due)."""
    if alert.status not in ALERT_OPEN or alert.current_step != step_index:
        return (
            f"step {step_index} is no longer current "
            f"(alert {alert.status}, step {alert.current_step})"
        )
    if alert.next_step_at and alert.next_step_at > now + timedelta(seconds=1):
        return f"step {step_index} is not due before {alert.next_step_at}"
    return None


async def _wait_before_first_try(run: _Run) -> StepResult | None:
    """A step not yet tried may have to move: past its deadline (re-slotted into the customer's
    windows), or held by the voice pacer until the call centre can take the transfers."""
    index = run.alert.current_step
    late = past_deadline(run.step, run.now)
    if late:
        moved = await reslot(run.deps, run.session, run.alert, index, run.now, late)
        return StepResult("deferred", moved) if moved else StepResult("skipped", late)
    skipped = await skip_paused_voice(run.deps, run.session, run.alert, run.step, run.now)
    if skipped:
        return StepResult("deferred", skipped)
    paced = await pace_voice(run.deps, run.session, run.alert, run.step, run.now)
    return StepResult("deferred", paced) if paced else None


async def _held_by_alarm(run: _Run) -> StepResult | None:
    """While the step's channel has an alarm (the provider refuses Herald's credentials), the
    step waits for the alarm's next check instead of being sent, failed or counted as a retry."""
    alarm = alarms.hold_for(run.session, run.rows.alarms.get(run.step.channel), run.now)
    if alarm is None:
        return None
    why = f"{run.step.channel} is held: {alarm.message}"
    await hold_step(run.deps, run.session, run.alert, alarm.retry_at, run.now, why)
    return StepResult("deferred", why)


async def _create_attempt(run: _Run, step_index: int) -> DeliveryAttempt | None:
    """The step's attempt row, created once (None when another worker created it first)."""
    assert run.alert.id is not None
    attempt = DeliveryAttempt(
        alert_id=run.alert.id,
        step_index=step_index,
        channel=run.step.channel,
        address=run.step.address,
        created_at=run.now,
        updated_at=run.now,
    )
    created = await insert_attempt(run.session, attempt)
    if created is not None:
        _note(run.session, created, run.step.reason, run.now)
    return created


async def _deliver(run: _Run, attempt: DeliveryAttempt) -> StepResult:
    """Send the attempt once: look up an earlier try first, check the contact point, send."""
    channel = run.deps.channels[attempt.channel]
    try:
        message = await build_message(
            deps=run.deps, session=run.session, alert=run.alert, attempt=attempt, spec=run.rows.spec
        )
    except ContentError as exc:  # e.g. the alert type lost its content for this channel
        reason = f"not sent: {exc}"
        await _fail_attempt(run, attempt, reason)
        return StepResult("failed", reason)
    if attempt.status == "sending" and attempt.sending_started_at is not None:
        adopted = await _adopt_earlier_send(run, attempt, channel, message)
        if adopted is not None:
            return adopted
    problem = await _contact_problem(run.session, run.step)
    if problem is not None:
        await _fail_attempt(run, attempt, f"not sent: {problem}")
        return StepResult("failed", problem)
    # The provider's rate limit: raises (nothing committed) when the slot is not now.
    await wait_for_slot(
        run.deps.send_gate,
        kind=attempt.channel,
        alert_id=attempt.alert_id,
        step_index=attempt.step_index,
        message=message,
    )
    await _mark_sending(run, attempt)
    await keep_distance(run.deps.send_gate, kind=attempt.channel, message=message)
    try:
        receipt = await channel.send(message)
    except ChannelError as exc:
        return await _send_failed(run, attempt, exc)
    return await _record_sent(run, attempt, receipt)


async def _adopt_earlier_send(
    run: _Run, attempt: DeliveryAttempt, channel: Channel, message: OutboundMessage
) -> StepResult | None:
    """An earlier try crashed, or got no clear answer, after asking the provider: adopt what the
    provider accepted (by number and time), if anything, instead of sending again."""
    assert attempt.sending_started_at is not None
    try:
        found = await channel.find_sent(message, attempt.sending_started_at - timedelta(seconds=5))
    except TransientChannelError as exc:
        policy = await delivery_policy(run.session, run.alert)
        raise RetryLater(str(exc), backoff_seconds(policy, run.try_no)) from exc
    taken = await _sids_of_other_attempts(run.session, attempt, [r.provider_sid for r in found])
    fresh = [r for r in found if r.provider_sid not in taken]
    if not fresh:
        return None
    # Asked before any row is written: no transaction stays open over the provider's answer.
    update = await _adopted_update(channel, fresh[0].provider_sid, fresh[0].status)
    await run.session.refresh(run.alert)  # an answer may have closed it meanwhile
    attempt.provider_sid = fresh[0].provider_sid
    await move_attempt(
        run.session,
        attempt,
        fresh[0].status,
        provider_status="adopted",
        detail="found at the provider after an interrupted send; not sent again",
        now=run.now,
    )
    move_alert(
        run.session, run.alert, "send", reason="adopted after an interrupted send", now=run.now
    )
    logger.info(
        "adopted provider message attempt_id=%s provider_sid=%s",
        attempt.id,
        attempt.provider_sid,
    )
    # The same follow-up as a fresh send's callback: reached ends the plan, a call or text the
    # provider already failed moves it on (retry, fall back); committed with the move.
    await pass_on(run.deps, run.session, attempt, update, run.now)
    return StepResult("adopted", attempt.provider_sid)


async def _adopted_update(channel: Channel, provider_sid: str, status: str) -> StatusUpdate:
    """The adopted message's status as a callback would have told it: an ended one is asked
    again by id for what a list does not say (answered by a machine, the error code)."""
    update = StatusUpdate(provider_sid=provider_sid, status=status, provider_status="adopted")
    if outcome(channel.kind, status) == "pending":
        return update
    try:
        found = await channel.status_of(provider_sid)
    except ChannelError as exc:
        logger.warning("adopted %s: no detail from the provider (%s)", provider_sid, exc)
        return update
    return found if found is not None and found.status == status else update


async def _sids_of_other_attempts(
    session: AsyncSession, attempt: DeliveryAttempt, sids: list[str]
) -> set[str]:
    """Which of ``sids`` other attempts own already (a callback may have just stored this
    attempt's own sid; only the candidates are read, never every sid ever stored)."""
    if not sids:
        return set()
    rows = await session.exec(
        select(DeliveryAttempt.provider_sid).where(
            col(DeliveryAttempt.provider_sid).in_(sids), DeliveryAttempt.id != attempt.id
        )
    )
    return {sid for sid in rows.all() if sid}


async def _mark_sending(run: _Run, attempt: DeliveryAttempt) -> None:
    """Commit "sending" (and when) before the provider is asked: a crash after this point is
    looked up at the provider by the next run, never sent blind."""
    if attempt.status == "queued":
        await move_attempt(
            run.session,
            attempt,
            "sending",
            provider_status=None,
            detail=f"try {run.try_no}",
            now=run.now,
            also={"sending_started_at": run.now},  # the same UPDATE
        )
    else:
        _note(run.session, attempt, f"try {run.try_no}", run.now)
        attempt.sending_started_at = run.now
        run.session.add(attempt)
    move_alert(
        run.session, run.alert, "send", reason=f"{attempt.channel} try {run.try_no}", now=run.now
    )
    await run.session.commit()


async def _send_failed(run: _Run, attempt: DeliveryAttempt, exc: ChannelError) -> StepResult:
    """The one place a failed send becomes a retry, a hold, a fallback or a failure."""
    failure = failure_of(exc)
    metrics.sent(attempt.channel, _provider(run, attempt), str(failure))
    if failure is Failure.CONFIGURATION:
        return await _configuration_error(run, attempt, exc)
    if failure is not Failure.RETRY_LATER:
        await _fail_attempt(
            run,
            attempt,
            str(exc),
            outcome=retry.Outcome.PROVIDER_PERMANENT,
            problem=as_rules_problem(exc.contact_problem),
        )
        return StepResult("failed", str(exc))
    assert isinstance(exc, TransientChannelError)
    policy = await delivery_policy(run.session, run.alert)
    if run.try_no > policy.max_provider_retries:
        await _fail_attempt(
            run,
            attempt,
            f"gave up after {run.try_no} tries: {exc}",
            outcome=retry.Outcome.PROVIDER_TRANSIENT,
            provider_retries=policy.max_provider_retries,
        )
        return StepResult("failed", str(exc))
    attempt.error = str(exc)[:500]
    if exc.ambiguous:
        # The provider may have accepted it: the attempt stays "sending", so the retry looks it
        # up at the provider (by number and time) before anything is sent again.
        _note(run.session, attempt, f"no clear answer, looked up before a retry: {exc}", run.now)
        run.session.add(attempt)
    else:
        await move_attempt(
            run.session,
            attempt,
            "requeue",
            provider_status=None,
            detail=f"will retry: {exc}",
            now=run.now,
        )
    await run.session.commit()
    metrics.RETRIES.labels(channel=attempt.channel).inc()
    raise RetryLater(str(exc), backoff_seconds(policy, run.try_no)) from exc


async def _configuration_error(
    run: _Run, attempt: DeliveryAttempt, exc: ChannelError
) -> StepResult:
    """The provider refused Herald itself: raise the channel's alarm, put the attempt back in
    the queue (nothing was sent) and hold the step until the alarm's next check."""
    attempt.error = str(exc)[:500]
    await move_attempt(
        run.session,
        attempt,
        "requeue",
        provider_status=None,
        detail=f"held, the channel's configuration is wrong: {exc}",
        now=run.now,
    )
    provider = getattr(run.deps.channels[attempt.channel], "key", attempt.channel)
    alarm = await alarms.raise_alarm(
        run.session, channel=attempt.channel, provider=provider, message=str(exc), now=run.now
    )
    why = f"{attempt.channel} is held: {exc}"
    await hold_step(run.deps, run.session, run.alert, alarm.retry_at, run.now, why)
    return StepResult("deferred", why)


# The provider took the message; if the database blinks now (a restart, a failover), the step
# must not end and run again: where the provider cannot be asked (email) that sends twice. The
# answer is kept and written once the database answers again (found by the fault-injection run).
RECORD_WAITS_S = (0.5, 1.0, 2.0, 4.0, 8.0)


async def _record_sent(run: _Run, attempt: DeliveryAttempt, receipt: Receipt) -> StepResult:
    attempt_id = attempt.id
    for tried, wait in enumerate((*RECORD_WAITS_S, None)):
        try:
            if tried:  # expired by the rollback (the alarm read with the step too)
                for row in (run.alert, attempt, *run.rows.alarms.values()):
                    await run.session.refresh(row)
            return await _sent(run, attempt, receipt)
        except OperationalError as exc:
            if wait is None:
                raise
            logger.warning(
                "sent attempt_id=%s but cannot record it yet (%s); again in %.1fs",
                attempt_id,
                type(exc.orig).__name__,
                wait,
            )
            with contextlib.suppress(SQLAlchemyError):
                await run.session.rollback()
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


# The alert's columns that a moment can change under a step (an answer, a copy asked for).
_ALERT_STATE = ("status", "current_step", "next_step_at", "closed_reason", "updated_at")


async def _sent(run: _Run, attempt: DeliveryAttempt, receipt: Receipt) -> StepResult:
    # The provider's status callbacks can land before this point (a call can ring out while
    # we wait for the API's answer): the move is a compare-and-set, so "sent" never overwrites
    # them (a refused move re-reads the row).
    attempt.provider_sid = attempt.provider_sid or receipt.provider_sid
    await move_attempt(
        run.session,
        attempt,
        receipt.status,
        provider_status=receipt.status,
        detail="accepted by the provider",
        now=run.now,
    )
    alarm = run.rows.alarms.get(attempt.channel)  # read with the step: no second read
    if alarm is not None:
        await alarms.clear_alarm(run.session, attempt.channel, run.now, alarm)
    metrics.sent(attempt.channel, _provider(run, attempt), "accepted")
    reached_now = outcome(attempt.channel, attempt.status) == "reached"
    if not reached_now:
        await run.session.commit()
    logger.info(
        "sent attempt_id=%s alert_id=%s channel=%s to=%s provider_sid=%s",
        attempt.id,
        run.alert.id,
        attempt.channel,
        mask(attempt.address),
        receipt.provider_sid,
    )
    if reached_now:  # an email is reached once the server took it: one transaction with it
        # An answer may have closed it, or asked for a copy, meanwhile: what the follow-up
        # reads (not the plan's and context's JSON documents: a copy moves the current step).
        await run.session.refresh(run.alert, attribute_names=_ALERT_STATE)
        update = StatusUpdate(
            provider_sid=attempt.provider_sid or "", status=attempt.status, provider_status="sent"
        )
        await pass_on(run.deps, run.session, attempt, update, run.now)
    return StepResult("sent", receipt.provider_sid)


async def _fail_attempt(
    run: _Run,
    attempt: DeliveryAttempt,
    reason: str,
    *,
    outcome: retry.Outcome = retry.Outcome.FAILED,
    problem: retry.ContactProblem | None = None,
    provider_retries: int = 0,
) -> None:
    attempt.error = reason[:500]
    await move_attempt(
        run.session, attempt, "failed", provider_status="error", detail=reason[:500], now=run.now
    )
    logger.warning("attempt failed attempt_id=%s alert_id=%s: %s", attempt.id, run.alert.id, reason)
    await advance_plan(
        deps=run.deps,
        session=run.session,
        alert=run.alert,
        now=run.now,
        why=f"{attempt.channel} failed: {reason}",
        outcome=outcome,
        problem=problem,
        provider_retries=provider_retries,
    )


def _provider(run: _Run, attempt: DeliveryAttempt) -> str:
    return str(getattr(run.deps.channels[attempt.channel], "key", attempt.channel))


def _note(session: AsyncSession, attempt: DeliveryAttempt, detail: str, now: datetime) -> None:
    """A line in the attempt's history that is not a status move."""
    assert attempt.id is not None
    session.add(
        AttemptEvent(
            attempt_id=attempt.id,
            status=attempt.status,
            detail=detail[:500],
            applied=True,
            created_at=now,
        )
    )


async def _contact_problem(session: AsyncSession, step: PlannedStep) -> str | None:
    """Why the step's contact point may not be used now (flagged since the plan was made)."""
    contact_id = step.contact_point_id
    contact = await session.get(ContactPoint, int(contact_id)) if contact_id else None
    return None if contact is None else _problem_of(contact, step)


def _problem_of(contact: ContactPoint, step: PlannedStep) -> str | None:
    if contact.invalid_at is not None:
        return f"the {contact.kind} was reported invalid ({contact.invalid_reason or 'provider'})"
    if contact.consent_withdrawn_at is not None:
        return "the customer withdrew consent for this contact point"
    if step.channel == "sms" and contact.sms_opted_out_at is not None:
        return "the customer texted STOP to this number"
    if step.channel == "sms" and not contact.sms_capable:
        return "the number is a landline"
    return None
