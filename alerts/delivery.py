"""Delivery orchestration: run a plan step once, apply provider statuses, move the plan on."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.content import Renderer
from alerts.deps import AlertDeps
from alerts.keywords import sms_opted_out
from alerts.links import ResponseLink
from alerts.masking import mask
from alerts.models import Alert, AlertType, AttemptEvent, DeliveryAttempt
from alerts.status import ALERT_OPEN, may_move, outcome
from channels.base import (
    OutboundMessage,
    PermanentChannelError,
    StatusUpdate,
    TransientChannelError,
)

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


def backoff_seconds(try_no: int) -> float:
    """Exponential backoff with jitter for transient provider errors: ~5s, 10s, 20s, 40s..."""
    base = float(min(5 * 2 ** max(try_no - 1, 0), 600))
    return base + secrets.randbelow(1000) / 1000 * base / 2


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


async def alert_type_content(session: AsyncSession, key: str) -> dict[str, str]:
    row = (await session.exec(select(AlertType).where(AlertType.key == key))).first()
    content = row.params.get("content", {}) if row else {}
    return {str(k): str(v) for k, v in content.items()} if isinstance(content, dict) else {}


def webhook_url(deps: AlertDeps, path: str) -> str:
    return f"{deps.public_url}{path}"


async def build_message(
    *, deps: AlertDeps, session: AsyncSession, alert: Alert, attempt: DeliveryAttempt
) -> OutboundMessage:
    assert attempt.id is not None and alert.id is not None
    renderer = Renderer(await alert_type_content(session, alert.alert_type))
    ctx = content_context(deps, alert)
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
    if attempt.channel == "sms":
        return make(
            text=renderer.render("sms", ctx),
            status_callback=webhook_url(deps, f"/webhooks/twilio/sms/{attempt_id}/status"),
        )
    for option in ("agent", "confirm", "call_me"):
        token = deps.links.sign(ResponseLink(attempt_id=attempt_id, option=option))
        ctx[f"link_{option}"] = webhook_url(deps, f"/r/{token}")
    token = deps.links.sign(ResponseLink(attempt_id=attempt_id, option="forward"))
    ctx["link_forward"] = webhook_url(deps, f"/r/f/{token}")
    return make(
        subject=renderer.render("email_subject", ctx),
        text=renderer.render("email_text", ctx),
        html=renderer.render("email_html", ctx, html=True),
        message_id=f"<alert-{alert_id}.attempt-{attempt_id}@herald>",
    )


def content_context(deps: AlertDeps, alert: Alert) -> dict[str, str]:
    return {**alert.context, "brand": deps.brand, "callcentre_number": deps.callcentre_number}


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
        attempt = (
            await session.exec(
                select(DeliveryAttempt).where(
                    DeliveryAttempt.alert_id == alert_id, DeliveryAttempt.step_index == step_index
                )
            )
        ).first()
        if attempt is None:
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
        message = await build_message(deps=deps, session=session, alert=alert, attempt=attempt)
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
                raise RetryLater(str(exc), backoff_seconds(try_no)) from exc
            fresh = [r for r in found if r.provider_sid not in used]
            if fresh:
                attempt.provider_sid = fresh[0].provider_sid
                _move(
                    session,
                    attempt,
                    fresh[0].status,
                    "adopted",
                    "found at the provider after an interrupted send; not sent again",
                    now,
                )
                alert.status = "delivering"
                alert.updated_at = now
                session.add(alert)
                await session.commit()
                logger.info(
                    "adopted provider message attempt_id=%s provider_sid=%s",
                    attempt.id,
                    attempt.provider_sid,
                )
                return StepResult("adopted", attempt.provider_sid)
        if attempt.channel == "sms" and await sms_opted_out(
            session=session, customer_id=alert.customer_id, number=attempt.address
        ):
            reason = "not sent: the customer texted STOP to this number"
            await _fail_attempt(
                deps=deps, session=session, alert=alert, attempt=attempt, reason=reason, now=now
            )
            return StepResult("failed", reason)
        attempt.status = "sending"
        attempt.sending_started_at = now
        attempt.updated_at = now
        alert.status = "delivering"
        alert.updated_at = now
        session.add_all([attempt, alert])
        record_status(session, attempt, "sending", None, f"try {try_no}", applied=True, now=now)
        await session.commit()

        try:
            receipt = await channel.send(message)
        except PermanentChannelError as exc:
            await _fail_attempt(
                deps=deps, session=session, alert=alert, attempt=attempt, reason=str(exc), now=now
            )
            return StepResult("failed", str(exc))
        except TransientChannelError as exc:
            if try_no >= deps.max_transient_tries:
                await _fail_attempt(
                    deps=deps,
                    session=session,
                    alert=alert,
                    attempt=attempt,
                    reason=f"gave up after {try_no} tries: {exc}",
                    now=now,
                )
                return StepResult("failed", str(exc))
            attempt.status = "queued"
            attempt.sending_started_at = None
            attempt.error = str(exc)[:500]
            session.add(attempt)
            record_status(
                session, attempt, "queued", None, f"will retry: {exc}", applied=True, now=now
            )
            await session.commit()
            raise RetryLater(str(exc), backoff_seconds(try_no)) from exc

        # The provider's status callbacks can land before this point (a call can ring out
        # while we wait for the API's answer): re-read the row so "sent" never overwrites them.
        await session.refresh(attempt)
        attempt.provider_sid = attempt.provider_sid or receipt.provider_sid
        _move(session, attempt, receipt.status, receipt.status, "accepted by the provider", now)
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


def _move(
    session: AsyncSession,
    attempt: DeliveryAttempt,
    status: str,
    provider_status: str,
    detail: str | None,
    now: datetime,
) -> bool:
    applied = may_move(attempt.status, status)
    if applied:
        attempt.status = status
        attempt.updated_at = now
        session.add(attempt)
    record_status(session, attempt, status, provider_status, detail, applied=applied, now=now)
    return applied


async def _fail_attempt(
    *,
    deps: AlertDeps,
    session: AsyncSession,
    alert: Alert,
    attempt: DeliveryAttempt,
    reason: str,
    now: datetime,
) -> None:
    attempt.error = reason[:500]
    _move(session, attempt, "failed", "error", reason[:500], now)
    logger.warning("attempt failed attempt_id=%s alert_id=%s: %s", attempt.id, alert.id, reason)
    await advance_plan(
        deps=deps, session=session, alert=alert, now=now, why=f"{attempt.channel} failed: {reason}"
    )


async def _reached(
    *, session: AsyncSession, alert: Alert, attempt: DeliveryAttempt, now: datetime
) -> None:
    if alert.status in ALERT_OPEN:
        alert.status = "delivered"
        alert.next_step_at = None
        alert.step_token = secrets.token_hex(8)
        alert.updated_at = now
        session.add(alert)
        await session.commit()
        logger.info("alert delivered alert_id=%s attempt_id=%s", alert.id, attempt.id)


async def advance_plan(
    *, deps: AlertDeps, session: AsyncSession, alert: Alert, now: datetime, why: str
) -> None:
    """The current step did not reach the customer: schedule the next one, or give up."""
    assert alert.id is not None
    if alert.status not in ALERT_OPEN:
        await session.commit()
        return
    nxt = alert.current_step + 1
    alert.step_token = secrets.token_hex(8)
    alert.updated_at = now
    if nxt >= len(alert.plan):
        alert.status = "failed"
        alert.next_step_at = None
        alert.closed_reason = f"no channel reached the customer ({why})"
        session.add(alert)
        await session.commit()
        logger.info("alert failed alert_id=%s: %s", alert.id, alert.closed_reason)
        return
    wait = int(alert.plan[nxt].get("wait_seconds", 0))
    alert.current_step = nxt
    alert.status = "pending"
    alert.next_step_at = now + timedelta(seconds=wait)
    session.add(alert)
    await session.commit()
    logger.info(
        "alert moves to step %s (%s) in %ss alert_id=%s: %s",
        nxt,
        alert.plan[nxt]["channel"],
        wait,
        alert.id,
        why,
    )
    await deps.queue.enqueue_step(
        alert_id=alert.id, step_index=nxt, channel=alert.plan[nxt]["channel"], defer_seconds=wait
    )


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
        applied = _move(session, attempt, update.status, update.provider_status, detail, now)
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
            await advance_plan(
                deps=deps,
                session=session,
                alert=alert,
                now=now,
                why=f"{attempt.channel} {attempt.status.replace('_', ' ')}",
            )
        return "applied"
