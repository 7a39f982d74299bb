"""Provider status callbacks (and bounces, and the sweep's provider lookups) applied to an
attempt, and what they mean for the plan.

An attempt's move and its follow-up (the plan's next step, the alert's status, a "call me now"
hand-off) commit in one transaction: either both happened or neither did, and a callback that
fails half-way leaves nothing behind to converge. ``pass_on`` is the one follow-up, used by
fresh callbacks, by a send adopted after a crash and by the sweep (``follow_up``) alike."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import or_
from sqlalchemy import update as update_rows
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.delivery.direct import call_ended
from alerts.delivery.plan import advance_plan, as_rules_problem, reached, retry_outcome
from alerts.deps import AlertDeps
from alerts.lifecycle import ATTEMPT, move_attempt, outcome
from alerts.lifecycle.statements import move_attempt_and_reach
from alerts.models import Alert, AttemptEvent, DeliveryAttempt
from channels import metrics
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
        return await apply_status_to(deps, session, attempt, update, now)


async def apply_status_to(
    deps: AlertDeps,
    session: AsyncSession,
    attempt: DeliveryAttempt,
    update: StatusUpdate,
    now: datetime,
) -> str:
    """``apply_status`` on an attempt the caller has loaded in ``session`` (a webhook that
    matched the callback to it first: one session and one read per callback). Commits."""
    if not _same_message(attempt, update):
        return "sid mismatch"
    if update.status is None:
        await _unknown_status(session, attempt, update, now)
        return "ignored"
    if not await _move(session, attempt, update, now):
        await session.commit()  # the refusal, in the attempt's history
        return "ignored"
    await pass_on(deps, session, attempt, update, now)  # commits the move with it
    return "applied"


async def moved_forward(
    session: AsyncSession, *, channel: str, attempt_id: int, update: StatusUpdate, now: datetime
) -> DeliveryAttempt | None:
    """A status callback's common case in one statement: the attempt ``attempt_id`` of
    ``channel``, whose message is the callback's (or not yet known), moved to the reported
    status if the attempt table (``alerts.lifecycle.ATTEMPT``) allows it from the status the
    database holds: a compare-and-set UPDATE ... RETURNING, the row read back by the same
    statement. The move is recorded in the attempt's history (not committed: the caller
    commits it with its follow-up, ``pass_on``).

    None when the statement moved nothing: the attempt is missing, another channel's or another
    message's, the status unknown, or the move backwards (a late or duplicate callback). The
    caller then takes the full path (``apply_status_to``), which tells those apart and records
    the refusal, exactly as before."""
    if update.status is None or not update.provider_sid:
        return None
    target = ATTEMPT.target(update.status)
    if target is None:
        return None
    values: dict[str, object] = {
        "status": target,
        "updated_at": now,
        "provider_sid": update.provider_sid,
    }
    if update.error_code:
        values["error"] = update.error_code
    moved = await session.exec(
        update_rows(DeliveryAttempt)
        .where(
            col(DeliveryAttempt.id) == attempt_id,
            col(DeliveryAttempt.channel) == channel,
            col(DeliveryAttempt.status).in_(ATTEMPT.sources(update.status)),
            or_(
                col(DeliveryAttempt.provider_sid) == update.provider_sid,
                col(DeliveryAttempt.provider_sid).is_(None),
            ),
        )
        .values(**values)
        .returning(DeliveryAttempt)
    )
    attempt: DeliveryAttempt | None = moved.scalars().one_or_none()
    if attempt is None:
        return None
    metrics.attempt_moved(channel, target)
    session.add(
        AttemptEvent(
            attempt_id=attempt_id,
            status=target,
            provider_status=update.provider_status,
            detail=_detail(update),
            applied=True,
            created_at=now,
        )
    )
    return attempt


def in_one_statement(session: AsyncSession) -> bool:
    """The session's database takes ``move_attempt_and_reach`` (PostgreSQL's writable CTEs;
    SQLite keeps the ORM path)."""
    bind = session.bind
    return bind is not None and bind.dialect.name == "postgresql"


def whole_in_one(channel: str, update: StatusUpdate) -> bool:
    """The statement is this callback's whole work, follow-up included, whatever it finds: an
    SMS status that reaches the customer or changes nothing for the plan (an SMS step is never
    a "call me now" call, and an alert that is not waiting on the attempt has nothing to do).
    It then needs no transaction of its own (``applied_alone``)."""
    if channel != "sms" or update.status is None:
        return False
    return outcome(channel, update.status, update.answered_by) in ("reached", "pending")


async def applied_alone(
    deps: AlertDeps, *, channel: str, attempt_id: int, update: StatusUpdate, now: datetime
) -> bool:
    """``applied_in_one`` for a callback ``whole_in_one`` says is one statement: run alone, in
    autocommit (PostgreSQL applies a single statement atomically), so neither BEGIN nor COMMIT
    costs a round trip. False when nothing moved (nothing written) or on SQLite: the caller
    takes its path in a transaction."""
    async with deps.sessions() as session:
        if not in_one_statement(session):
            return False
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        return await applied_in_one(
            deps, session, channel=channel, attempt_id=attempt_id, update=update, now=now
        )


async def applied_in_one(
    deps: AlertDeps,
    session: AsyncSession,
    *,
    channel: str,
    attempt_id: int,
    update: StatusUpdate,
    now: datetime,
) -> bool:
    """``moved_forward`` and ``pass_on`` for PostgreSQL, committed: one statement moves the
    attempt and, when the status reaches the customer on the alert's current step, the alert
    (``alerts.lifecycle.statements.move_attempt_and_reach``); an outcome that needs the plan (not
    reached: retry or fall back; a "call me now" call) loads the attempt and runs ``pass_on``.
    False when nothing moved (nothing written): the caller takes the full path."""
    if update.status is None or not update.provider_sid:
        return False
    result = outcome(channel, update.status, update.answered_by)
    moved = await move_attempt_and_reach(
        session,
        attempt_id=attempt_id,
        channel=channel,
        status=update.status,
        provider_sid=update.provider_sid,
        provider_status=update.provider_status,
        error=update.error_code,
        detail=_detail(update),
        reach=result == "reached",
        now=now,
    )
    if moved is None:
        return False
    alert_id, alert_moved = moved
    if result == "pending" or alert_moved:
        await session.commit()
        if alert_moved:
            logger.info("alert delivered alert_id=%s attempt_id=%s", alert_id, attempt_id)
        return True
    attempt = await session.get(DeliveryAttempt, attempt_id)
    assert attempt is not None  # moved by this transaction
    await pass_on(deps, session, attempt, update, now)
    return True


async def follow_up(
    *, deps: AlertDeps, attempt_id: int, update: StatusUpdate, now: datetime
) -> bool:
    """Re-apply the follow-up of an attempt that reached an outcome while its alert still waits
    on it (a follow-up lost before the one-transaction rule, or one that failed in a way the
    sweep can see). Idempotent: the alert row is locked and re-checked, so only an alert still
    delivering the attempt's step moves; returns True when it did."""
    async with deps.sessions() as session:
        attempt = await session.get(DeliveryAttempt, attempt_id)
        if attempt is None:
            return False
        alert = await session.get(Alert, attempt.alert_id, with_for_update=True)
        if (
            alert is None
            or alert.status != "delivering"
            or alert.current_step != attempt.step_index
            or outcome(attempt.channel, attempt.status, update.answered_by) == "pending"
        ):
            await session.rollback()
            return False
        logger.warning(
            "re-applying a lost follow-up attempt_id=%s alert_id=%s status=%s",
            attempt.id,
            alert.id,
            attempt.status,
        )
        await pass_on(deps, session, attempt, update, now)
        return True


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


def _detail(update: StatusUpdate) -> str | None:
    """What the attempt's history says beside the status (who answered, the error code)."""
    detail = update.error_code
    if update.answered_by:
        detail = f"answered by {update.answered_by}" + (f"; {detail}" if detail else "")
    return detail


async def _move(
    session: AsyncSession, attempt: DeliveryAttempt, update: StatusUpdate, now: datetime
) -> bool:
    """Move the attempt to the reported status if that is forward (not committed: the caller
    commits it with its follow-up)."""
    assert update.status is not None
    if update.error_code:
        attempt.error = update.error_code
    applied = await move_attempt(
        session,
        attempt,
        update.status,
        provider_status=update.provider_status,
        detail=_detail(update),
        now=now,
    )
    if not applied:
        logger.info(
            "late or duplicate status ignored attempt_id=%s status=%s", attempt.id, update.status
        )
    return applied


async def pass_on(
    deps: AlertDeps,
    session: AsyncSession,
    attempt: DeliveryAttempt,
    update: StatusUpdate,
    now: datetime,
) -> None:
    """What the new status means: the step's own follow-up (a "call me now" call ended), then
    the plan, if the attempt is its current step: reached, or retry / fall back / stop.
    Commits (with whatever the session holds: the attempt's move)."""
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
