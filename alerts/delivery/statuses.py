"""Provider status callbacks (and bounces) applied to an attempt, and what they mean for the
plan."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.delivery.direct import call_ended
from alerts.delivery.plan import advance_plan, as_rules_problem, reached, retry_outcome
from alerts.deps import AlertDeps
from alerts.lifecycle import move_attempt, outcome
from alerts.models import Alert, AttemptEvent, DeliveryAttempt
from channels.base import StatusUpdate
from rules import retry

logger = logging.getLogger(__name__)


def _why(attempt: DeliveryAttempt, update: StatusUpdate) -> str:
    said = f"{attempt.channel} {attempt.status.replace('_', ' ')}"
    return said + (f" ({update.answered_by})" if update.answered_by else "")


async def apply_status(
    *, deps: AlertDeps, attempt_id: int, update: StatusUpdate, now: datetime
) -> str:
    """Apply a provider status callback; returns what happened, for the log and the tests."""
    async with deps.sessions() as session:
        attempt = await session.get(DeliveryAttempt, attempt_id)
        if attempt is None:
            return "unknown attempt"
        if not _same_message(attempt, update):
            return "sid mismatch"
        if update.status is None:
            await _unknown_status(session, attempt, update, now)
            return "ignored"
        if not await _move(session, attempt, update, now):
            return "ignored"
        await _pass_on(deps, session, attempt, update, now)
        return "applied"


def _same_message(attempt: DeliveryAttempt, update: StatusUpdate) -> bool:
    """The callback is about this attempt's message (the first one may tell us its sid: the
    callback can beat our own commit of the provider's reply)."""
    if attempt.provider_sid is None and update.provider_sid:
        attempt.provider_sid = update.provider_sid
    elif update.provider_sid and attempt.provider_sid != update.provider_sid:
        logger.warning(
            "status for another provider sid attempt_id=%s provider_sid=%s",
            attempt.id,
            update.provider_sid,
        )
        return False
    return True


async def _unknown_status(
    session: AsyncSession, attempt: DeliveryAttempt, update: StatusUpdate, now: datetime
) -> None:
    assert attempt.id is not None
    session.add(
        AttemptEvent(
            attempt_id=attempt.id,
            status="unknown",
            provider_status=update.provider_status,
            detail="unknown provider status ignored",
            applied=False,
            created_at=now,
        )
    )
    await session.commit()
    logger.warning(
        "unknown provider status %r ignored attempt_id=%s", update.provider_status, attempt.id
    )


async def _move(
    session: AsyncSession, attempt: DeliveryAttempt, update: StatusUpdate, now: datetime
) -> bool:
    """Move the attempt to the reported status if that is forward (committed either way)."""
    assert update.status is not None
    detail = update.error_code
    if update.answered_by:
        detail = f"answered by {update.answered_by}" + (f"; {detail}" if detail else "")
    if update.error_code:
        attempt.error = update.error_code
    applied = await move_attempt(
        session,
        attempt,
        update.status,
        provider_status=update.provider_status,
        detail=detail,
        now=now,
    )
    await session.commit()
    if not applied:
        logger.info(
            "late or duplicate status ignored attempt_id=%s status=%s", attempt.id, update.status
        )
    return applied


async def _pass_on(
    deps: AlertDeps,
    session: AsyncSession,
    attempt: DeliveryAttempt,
    update: StatusUpdate,
    now: datetime,
) -> None:
    """What the new status means: the step's own follow-up (a "call me now" call ended), then
    the plan, if the attempt is its current step: reached, or retry / fall back / stop."""
    alert = await session.get(Alert, attempt.alert_id)
    assert alert is not None
    result = outcome(attempt.channel, attempt.status, update.answered_by)
    if result != "pending" and attempt.step_index < len(alert.plan):
        step = alert.plan[attempt.step_index]
        await call_ended(session, attempt, step, now=now, answered_by=update.answered_by)
    if alert.current_step != attempt.step_index or result == "pending":
        await session.commit()
        return
    if result == "reached":
        await reached(session=session, alert=alert, attempt=attempt, now=now)
        await session.commit()
        return
    problem = as_rules_problem(update.contact_problem)
    await advance_plan(
        deps=deps,
        session=session,
        alert=alert,
        now=now,
        why=_why(attempt, update),
        outcome=retry.Outcome.PROVIDER_PERMANENT
        if problem is not None
        else retry_outcome(attempt, update.answered_by),
        problem=problem,
    )
