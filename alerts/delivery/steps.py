"""Delivery orchestration: run a plan step once, apply provider statuses, move the plan on."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.alert_types.content import AlertContent, ContentError, channel_options, render_context
from alerts.alert_types.store import get_spec
from alerts.deps import AlertDeps
from alerts.lifecycle import ALERT_OPEN, move_alert, move_attempt, outcome
from alerts.links import ResponseLink
from alerts.models import Alert, AttemptEvent, ContactPoint, DeliveryAttempt
from channels.base import (
    OutboundMessage,
    PermanentChannelError,
    StatusUpdate,
    TransientChannelError,
)
from channels.masking import mask
from rules import retry
from rules.alert_types import AlertTypeSpec, DeliveryPolicy
from rules.engine import step_from_dict
from rules.timewindows import SendWindows
from rules.vocabulary import Channel

logger = logging.getLogger(__name__)


class RetryLater(Exception):
    """The provider had a transient problem; the job layer retries after `defer_seconds`."""

    def __init__(self, reason: str, defer_seconds: float) -> None:
        super().__init__(reason)
        self.defer_seconds = defer_seconds


@dataclass(frozen=True, slots=True)
class StepResult:
    action: str  # "sent" | "adopted" | "skipped" | "failed"
    detail: str


def backoff_seconds(policy: DeliveryPolicy, try_no: int) -> float:
    """Exponential backoff with jitter for transient provider errors (the alert type's policy)."""
    return retry.backoff_seconds(policy, max(try_no - 1, 0), random.random())


async def delivery_policy(session: AsyncSession, alert: Alert) -> DeliveryPolicy:
    """The alert type's delivery policy (the defaults if the type no longer exists)."""
    spec = await get_spec(session, alert.alert_type)
    return spec.delivery if spec is not None else DeliveryPolicy()


def record_status(
    session: AsyncSession,
    attempt: DeliveryAttempt,
    status: str,
    provider_status: str | None,
    detail: str | None,
    *,
    applied: bool,
    now: datetime,
) -> None:
    assert attempt.id is not None
    session.add(
        AttemptEvent(
            attempt_id=attempt.id,
            status=status,
            provider_status=provider_status,
            detail=detail,
            applied=applied,
            created_at=now,
        )
    )


async def alert_spec(session: AsyncSession, alert: Alert) -> AlertTypeSpec:
    spec = await get_spec(session, alert.alert_type)
    if spec is None:
        raise ContentError(f"alert type {alert.alert_type!r} no longer exists")
    return spec


def webhook_url(deps: AlertDeps, path: str) -> str:
    return f"{deps.public_url}{path}"


def content_context(deps: AlertDeps, alert: Alert, channel: Channel) -> dict[str, Any]:
    """What the templates of ``channel`` see for this alert."""
    base = {
        **alert.context,
        "brand": deps.brand,
        "callcentre_number": deps.callcentre_number,
        "link_preferences": webhook_url(
            deps, f"/p/{deps.links.sign_preferences(alert.customer_id)}"
        ),
    }
    return render_context(base, alert.options, channel)


def step_locale(alert: Alert, step_index: int) -> str:
    step = alert.plan[step_index] if step_index < len(alert.plan) else {}
    return str(step.get("locale") or alert.locale)


async def voice_content(
    deps: AlertDeps, session: AsyncSession, alert: Alert, attempt: DeliveryAttempt
) -> tuple[AlertContent, dict[str, Any]]:
    spec = await alert_spec(session, alert)
    content = AlertContent(spec, step_locale(alert, attempt.step_index), "voice")
    return content, content_context(deps, alert, "voice")


async def build_message(
    *, deps: AlertDeps, session: AsyncSession, alert: Alert, attempt: DeliveryAttempt
) -> OutboundMessage:
    assert attempt.id is not None and alert.id is not None
    attempt_id, alert_id = attempt.id, alert.id

    def make(**kwargs: Any) -> OutboundMessage:
        return OutboundMessage(
            attempt_id=attempt_id, alert_id=alert_id, to=attempt.address, **kwargs
        )

    if attempt.channel == "voice":
        return make(
            text="",
            twiml_url=webhook_url(deps, f"/webhooks/twilio/voice/{attempt_id}/twiml"),
            status_callback=webhook_url(deps, f"/webhooks/twilio/voice/{attempt_id}/status"),
        )
    spec = await alert_spec(session, alert)
    locale = step_locale(alert, attempt.step_index)
    if attempt.channel == "sms":
        ctx = content_context(deps, alert, "sms")
        return make(
            text=AlertContent(spec, locale, "sms").render("body", ctx),
            status_callback=webhook_url(deps, f"/webhooks/twilio/sms/{attempt_id}/status"),
        )
    ctx = content_context(deps, alert, "email")
    links = {}
    for option in channel_options(alert.options, "email"):
        intent = option["intent"]
        token = deps.links.sign(ResponseLink(attempt_id=attempt_id, option=intent))
        links[intent] = webhook_url(deps, f"/r/f/{token}" if intent == "forward" else f"/r/{token}")
    headers: dict[str, str] = {}
    if alert.category == "marketing":
        # RFC 8058 one-click unsubscribe; also a link at the foot of the email.
        unsubscribe = webhook_url(deps, f"/u/{deps.links.sign_unsubscribe(attempt_id)}")
        ctx["link_unsubscribe"] = unsubscribe
        headers = {
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    subject, text, html = AlertContent(spec, locale, "email").email(ctx, links)
    return make(
        subject=subject,
        text=text,
        html=html,
        message_id=f"<alert-{alert_id}.attempt-{attempt_id}@herald>",
        headers=headers,
    )


async def run_step(
    *, deps: AlertDeps, alert_id: int, step_index: int, now: datetime, try_no: int = 1
) -> StepResult:
    """Deliver one plan step. Safe to run any number of times, and after a crash at any point."""
    async with deps.sessions() as session:
        alert = await session.get(Alert, alert_id)
        if alert is None:
            return StepResult("skipped", f"alert {alert_id} does not exist")
        if alert.status not in ALERT_OPEN or alert.current_step != step_index:
            return StepResult(
                "skipped",
                f"step {step_index} is no longer current "
                f"(alert {alert.status}, step {alert.current_step})",
            )
        if alert.next_step_at and alert.next_step_at > now + timedelta(seconds=1):
            return StepResult(
                "skipped", f"step {step_index} is not due before {alert.next_step_at}"
            )
        step = alert.plan[step_index]
        if alert.expires_at is not None and now >= alert.expires_at:
            reason = f"expired at {alert.expires_at:%Y-%m-%d %H:%M} UTC before step {step_index}"
            _stop(session, alert, "expire", reason, now)
            await session.commit()
            return StepResult("skipped", reason)
        attempt = (
            await session.exec(
                select(DeliveryAttempt).where(
                    DeliveryAttempt.alert_id == alert_id, DeliveryAttempt.step_index == step_index
                )
            )
        ).first()
        late = _past_deadline(step, now)
        if attempt is None and late:
            return await _reslot(deps, session, alert, step_index, now, late)
        if attempt is None:
            paced = await pace_voice(deps, session, alert, step, now)
            if paced is not None:
                return paced
            attempt = DeliveryAttempt(
                alert_id=alert_id,
                step_index=step_index,
                channel=step["channel"],
                address=step["address"],
                created_at=now,
                updated_at=now,
            )
            try:
                async with session.begin_nested():
                    session.add(attempt)
                    await session.flush()
            except IntegrityError:
                return StepResult("skipped", "another worker created this attempt")
            record_status(
                session, attempt, "queued", None, step.get("reason"), applied=True, now=now
            )
        if attempt.provider_sid or attempt.status not in ("queued", "sending"):
            return StepResult("skipped", f"attempt {attempt.id} already {attempt.status}")
        channel = deps.channels[attempt.channel]
        try:
            message = await build_message(deps=deps, session=session, alert=alert, attempt=attempt)
        except ContentError as exc:  # e.g. the alert type lost its content for this channel
            reason = f"not sent: {exc}"
            await _fail_attempt(
                deps=deps, session=session, alert=alert, attempt=attempt, reason=reason, now=now
            )
            return StepResult("failed", reason)
        if attempt.status == "sending" and attempt.sending_started_at is not None:
            # A previous run crashed after asking the provider: adopt what it accepted, if anything.
            used = set(
                (
                    await session.exec(
                        select(DeliveryAttempt.provider_sid).where(
                            col(DeliveryAttempt.provider_sid).is_not(None),
                            # A status callback may have just stored this attempt's own sid.
                            DeliveryAttempt.id != attempt.id,
                        )
                    )
                ).all()
            )
            try:
                found = await channel.find_sent(
                    message, attempt.sending_started_at - timedelta(seconds=5)
                )
            except TransientChannelError as exc:
                policy = await delivery_policy(session, alert)
                raise RetryLater(str(exc), backoff_seconds(policy, try_no)) from exc
            fresh = [r for r in found if r.provider_sid not in used]
            if fresh:
                attempt.provider_sid = fresh[0].provider_sid
                await _move(
                    session,
                    attempt,
                    fresh[0].status,
                    "adopted",
                    "found at the provider after an interrupted send; not sent again",
                    now,
                )
                move_alert(
                    session, alert, "send", reason="adopted after an interrupted send", now=now
                )
                await session.commit()
                logger.info(
                    "adopted provider message attempt_id=%s provider_sid=%s",
                    attempt.id,
                    attempt.provider_sid,
                )
                return StepResult("adopted", attempt.provider_sid)
        problem = await _contact_problem(session, step)
        if problem is not None:
            await _fail_attempt(
                deps=deps,
                session=session,
                alert=alert,
                attempt=attempt,
                reason=f"not sent: {problem}",
                now=now,
            )
            return StepResult("failed", problem)
        if attempt.status == "queued":
            await move_attempt(
                session, attempt, "sending", provider_status=None, detail=f"try {try_no}", now=now
            )
        attempt.sending_started_at = now
        session.add(attempt)
        move_alert(session, alert, "send", reason=f"{attempt.channel} try {try_no}", now=now)
        await session.commit()

        try:
            receipt = await channel.send(message)
        except PermanentChannelError as exc:
            await _fail_attempt(
                deps=deps,
                session=session,
                alert=alert,
                attempt=attempt,
                reason=str(exc),
                now=now,
                outcome=retry.Outcome.PROVIDER_PERMANENT,
                problem=contact_problem_of(attempt.channel, exc.code),
            )
            return StepResult("failed", str(exc))
        except TransientChannelError as exc:
            policy = await delivery_policy(session, alert)
            if try_no > policy.max_provider_retries:
                await _fail_attempt(
                    deps=deps,
                    session=session,
                    alert=alert,
                    attempt=attempt,
                    reason=f"gave up after {try_no} tries: {exc}",
                    now=now,
                    outcome=retry.Outcome.PROVIDER_TRANSIENT,
                    provider_retries=policy.max_provider_retries,
                )
                return StepResult("failed", str(exc))
            attempt.error = str(exc)[:500]
            await move_attempt(
                session,
                attempt,
                "requeue",
                provider_status=None,
                detail=f"will retry: {exc}",
                now=now,
            )
            await session.commit()
            raise RetryLater(str(exc), backoff_seconds(policy, try_no)) from exc

        # The provider's status callbacks can land before this point (a call can ring out
        # while we wait for the API's answer): re-read the row so "sent" never overwrites them.
        await session.refresh(attempt)
        attempt.provider_sid = attempt.provider_sid or receipt.provider_sid
        await _move(
            session, attempt, receipt.status, receipt.status, "accepted by the provider", now
        )
        await session.commit()
        logger.info(
            "sent attempt_id=%s alert_id=%s channel=%s to=%s provider_sid=%s",
            attempt.id,
            alert_id,
            attempt.channel,
            mask(attempt.address),
            receipt.provider_sid,
        )
        if outcome(attempt.channel, attempt.status) == "reached":
            await session.refresh(alert)  # an answer may have closed it meanwhile
            await _reached(session=session, alert=alert, attempt=attempt, now=now)
        return StepResult("sent", receipt.provider_sid)


async def _move(
    session: AsyncSession,
    attempt: DeliveryAttempt,
    status: str,
    provider_status: str,
    detail: str | None,
    now: datetime,
) -> bool:
    """Move the attempt to ``status`` if that is forward from what the database holds now."""
    return await move_attempt(
        session, attempt, status, provider_status=provider_status, detail=detail, now=now
    )


async def _fail_attempt(
    *,
    deps: AlertDeps,
    session: AsyncSession,
    alert: Alert,
    attempt: DeliveryAttempt,
    reason: str,
    now: datetime,
    outcome: retry.Outcome = retry.Outcome.FAILED,
    problem: retry.ContactProblem | None = None,
    provider_retries: int = 0,
) -> None:
    attempt.error = reason[:500]
    await _move(session, attempt, "failed", "error", reason[:500], now)
    logger.warning("attempt failed attempt_id=%s alert_id=%s: %s", attempt.id, alert.id, reason)
    await advance_plan(
        deps=deps,
        session=session,
        alert=alert,
        now=now,
        why=f"{attempt.channel} failed: {reason}",
        outcome=outcome,
        problem=problem,
        provider_retries=provider_retries,
    )


# Provider error codes that say something lasting about the contact point.
_PROBLEMS: dict[str, retry.ContactProblem] = {
    "21211": retry.ContactProblem.INVALID_ADDRESS,
    "21214": retry.ContactProblem.INVALID_ADDRESS,
    "30005": retry.ContactProblem.INVALID_ADDRESS,
    "21614": retry.ContactProblem.LANDLINE,
    "30006": retry.ContactProblem.LANDLINE,
    "21610": retry.ContactProblem.CARRIER_OPT_OUT,
    "5.1.1": retry.ContactProblem.INVALID_ADDRESS,  # SMTP: mailbox does not exist
    "5.1.2": retry.ContactProblem.INVALID_ADDRESS,  # SMTP: domain does not exist
}


def contact_problem_of(channel: str, code: str | None) -> retry.ContactProblem | None:
    problem = _PROBLEMS.get((code or "").strip())
    if problem in (retry.ContactProblem.LANDLINE, retry.ContactProblem.CARRIER_OPT_OUT):
        return problem if channel == "sms" else None
    return problem


def classify(attempt: DeliveryAttempt, answered_by: str | None) -> retry.Outcome:
    """The retry policy's name for how an attempt ended."""
    if attempt.status == "busy":
        return retry.Outcome.BUSY
    if attempt.status == "no_answer":
        return retry.Outcome.NO_ANSWER
    if attempt.status == "completed" and answered_by and answered_by.startswith("machine"):
        return retry.Outcome.VOICEMAIL
    if outcome(attempt.channel, attempt.status) == "reached":
        return retry.Outcome.REACHED
    if contact_problem_of(attempt.channel, attempt.error) is not None:
        return retry.Outcome.PROVIDER_PERMANENT
    return retry.Outcome.FAILED


async def _reached(
    *, session: AsyncSession, alert: Alert, attempt: DeliveryAttempt, now: datetime
) -> None:
    if alert.status in ALERT_OPEN and alert.status != "delivered":
        move_alert(session, alert, "reach", reason=f"{attempt.channel} {attempt.status}", now=now)
        alert.next_step_at = None
        await session.commit()
        logger.info("alert delivered alert_id=%s attempt_id=%s", alert.id, attempt.id)


def _stop(session: AsyncSession, alert: Alert, event: str, reason: str, now: datetime) -> None:
    """End the alert's plan: ``event`` is "fail" or "expire"."""
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
    if alert.plan[alert.current_step].get("copy"):
        # A copy the customer asked for did not arrive: they were reached already (they
        # answered); the alert is not failed for it, and nothing else is sent.
        reason = f"the copy the customer asked for was not delivered ({why})"[:200]
        move_alert(session, alert, "copy_undelivered", reason=reason, now=now)
        alert.next_step_at = None
        alert.closed_reason = reason
        await session.commit()
        return
    policy = await delivery_policy(session, alert)
    steps = [step_from_dict(s) for s in alert.plan]
    action = retry.next_action(
        steps=steps,
        ended_index=alert.current_step,
        outcome=outcome,
        policy=policy,
        windows=SendWindows.from_dict(alert.windows),
        expires_at=alert.expires_at or now + timedelta(days=1),
        now=now,
        jitter=random.random(),
        provider_retries=provider_retries,
        problem=problem,
    )
    if action.flag_contact is not None:
        await _flag_contact(session, action.flag_contact, now)
    if action.move == "stop" or action.step_index is None or action.at is None:
        _stop(session, alert, "fail", f"{action.reason} ({why})", now)
        await session.commit()
        return
    nxt = action.step_index
    alert.current_step = nxt
    move_alert(session, alert, "next_step", reason=f"{action.reason} ({why})", now=now)
    alert.next_step_at = action.at
    alert.provider_retries = action.provider_retries
    alert.updated_at = now
    session.add(alert)
    await session.commit()
    wait = max(0.0, (action.at - now).total_seconds())
    logger.info("alert %s moves to step %s in %.0fs: %s", alert.id, nxt, wait, action.reason)
    await deps.queue.enqueue_step(
        alert_id=alert.id, step_index=nxt, channel=alert.plan[nxt]["channel"], defer_seconds=wait
    )


def _past_deadline(step: dict[str, Any], now: datetime) -> str | None:
    deadline = step.get("deadline")
    if not deadline:
        return None
    at = datetime.fromisoformat(str(deadline))
    return f"its deadline {at:%Y-%m-%d %H:%M} UTC has passed" if now > at else None


async def _reslot(
    deps: AlertDeps, session: AsyncSession, alert: Alert, index: int, now: datetime, why: str
) -> StepResult:
    """A step woke too late (a worker outage ran into quiet hours): move it to the next time
    the customer's windows allow, before the alert expires, or stop."""
    assert alert.id is not None
    step = dict(alert.plan[index])
    windows = SendWindows.from_dict(alert.windows)
    shift = windows.earliest(step["channel"], now)
    expires = alert.expires_at or now + timedelta(days=1)
    if shift.at is None or shift.at >= expires:
        _stop(session, alert, "fail", f"step {index} {why} and cannot start before expiry", now)
        await session.commit()
        return StepResult("skipped", why)
    until = windows.until(step["channel"], shift.at)
    step["not_before"] = shift.at.isoformat()
    step["deadline"] = (min(expires, until) if until else expires).isoformat()
    step["reason"] = f"{step.get('reason', '')}; moved: {why}"
    step.pop("released_at", None)  # a paced slot does not carry over: ask the pacer again
    alert.plan = [*alert.plan[:index], step, *alert.plan[index + 1 :]]
    alert.next_step_at = shift.at
    alert.updated_at = now
    session.add(alert)
    await session.commit()
    wait = max(0.0, (shift.at - now).total_seconds())
    await deps.queue.enqueue_step(
        alert_id=alert.id,
        step_index=index,
        channel=step["channel"],
        defer_seconds=wait,
        run_key=f":t{int(shift.at.timestamp())}",
    )
    return StepResult("deferred", f"step {index} {why}; moved to {shift.at:%Y-%m-%d %H:%M} UTC")


async def _contact_problem(session: AsyncSession, step: dict[str, Any]) -> str | None:
    """Why the step's contact point may not be used now (flagged since the plan was made)."""
    contact_id = step.get("contact_point_id")
    contact = await session.get(ContactPoint, int(contact_id)) if contact_id else None
    if contact is None:
        return None
    if contact.invalid_at is not None:
        return f"the {contact.kind} was reported invalid ({contact.invalid_reason or 'provider'})"
    if contact.consent_withdrawn_at is not None:
        return "the customer withdrew consent for this contact point"
    if step["channel"] == "sms" and contact.sms_opted_out_at is not None:
        return "the customer texted STOP to this number"
    if step["channel"] == "sms" and not contact.sms_capable:
        return "the number is a landline"
    return None


async def pace_voice(
    deps: AlertDeps, session: AsyncSession, alert: Alert, step: dict[str, Any], now: datetime
) -> StepResult | None:
    """Hold a voice step that offers an agent until the pacer releases it (None: go now)."""
    pacer = deps.pacer
    if pacer is None or step["channel"] != "voice":
        return None
    if not any(o.get("intent") == "agent" for o in alert.options):
        return None
    if step.get("released_at"):  # this step already holds a slot: it is its time now
        return None
    assert alert.id is not None
    wait, reason, reserved = await pacer.release(
        session=session, alert_type=alert.alert_type, now=now
    )
    if wait <= 0:
        return None
    at = now + timedelta(seconds=wait)
    index = alert.current_step
    paced = {**step, "paced": reason[:300]}
    if reserved:  # the slot is this call's: the run at `at` places it without asking again
        paced["released_at"] = at.isoformat()
    alert.plan = [*alert.plan[:index], paced, *alert.plan[index + 1 :]]
    alert.next_step_at = at
    alert.updated_at = now
    session.add(alert)
    await session.commit()
    await deps.queue.enqueue_step(
        alert_id=alert.id,
        step_index=alert.current_step,
        channel="voice",
        defer_seconds=wait,
        run_key=f":p{int(at.timestamp() * 1000)}",
    )
    return StepResult("deferred", f"paced: {reason}")


async def apply_status(
    *, deps: AlertDeps, attempt_id: int, update: StatusUpdate, now: datetime
) -> str:
    """Apply a provider status callback; returns what happened, for the log and the tests."""
    async with deps.sessions() as session:
        attempt = await session.get(DeliveryAttempt, attempt_id)
        if attempt is None:
            return "unknown attempt"
        if attempt.provider_sid is None and update.provider_sid:
            # The callback can beat our own commit of the provider's reply; the sid is ours.
            attempt.provider_sid = update.provider_sid
        elif update.provider_sid and attempt.provider_sid != update.provider_sid:
            logger.warning(
                "status for another provider sid attempt_id=%s provider_sid=%s",
                attempt_id,
                update.provider_sid,
            )
            return "sid mismatch"
        if update.status is None:
            record_status(
                session,
                attempt,
                "unknown",
                update.provider_status,
                "unknown provider status ignored",
                applied=False,
                now=now,
            )
            await session.commit()
            logger.warning(
                "unknown provider status %r ignored attempt_id=%s",
                update.provider_status,
                attempt_id,
            )
            return "ignored"
        detail = update.error_code
        if update.answered_by:
            detail = f"answered by {update.answered_by}" + (f"; {detail}" if detail else "")
        if update.error_code:
            attempt.error = update.error_code
        applied = await _move(session, attempt, update.status, update.provider_status, detail, now)
        await session.commit()
        if not applied:
            logger.info(
                "late or duplicate status ignored attempt_id=%s status=%s",
                attempt_id,
                update.status,
            )
            return "ignored"
        alert = await session.get(Alert, attempt.alert_id)
        assert alert is not None
        result = outcome(attempt.channel, attempt.status, update.answered_by)
        if alert.current_step != attempt.step_index:
            return "applied"
        if result == "reached":
            await _reached(session=session, alert=alert, attempt=attempt, now=now)
        elif result == "not_reached":
            kind = classify(attempt, update.answered_by)
            await advance_plan(
                deps=deps,
                session=session,
                alert=alert,
                now=now,
                why=f"{attempt.channel} {attempt.status.replace('_', ' ')}"
                + (f" ({update.answered_by})" if update.answered_by else ""),
                outcome=kind,
                problem=contact_problem_of(attempt.channel, attempt.error),
            )
        return "applied"
