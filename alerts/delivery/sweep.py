"""The outbox sweep: find work stranded between a commit and its enqueue, and enqueue it again.

Bounded: due alerts are read a page at a time in (due time, id) order (keyset over the due-time
index), their current attempts in one query per page, and one sweep looks at no more than
``limit`` alerts. A ``SweepCursor`` (the worker keeps one) makes the next sweep go on after the
last alert looked at, so a backlog of paced alerts costs each sweep the same, and every due
alert is looked at within ceil(backlog / limit) sweeps.

Then the alerts being delivered converge (alerts.delivery.reconcile): an attempt whose status
callback never came is looked up at the provider, an ended attempt whose alert did not follow
is followed up; bounded the same way, with its own cursor."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from alerts.decisions.evaluate import evaluate_pending
from alerts.delivery.reconcile import STUCK_AFTER_S, InFlightCursor, converge
from alerts.deps import AlertDeps, BatchStepQueue, StepJob
from alerts.lifecycle import ALERT_OPEN
from alerts.models import Alert, DeliveryAttempt

logger = logging.getLogger(__name__)

PAGE = 500
LIMIT = 5_000  # alerts looked at per sweep
IN_FLIGHT_S = 60  # an attempt "sending" for less than this is probably still on its way


@dataclass
class SweepCursor:
    """Where the next sweep goes on: after this (due time, alert id); None: from the start."""

    after: tuple[datetime, int] | None = None
    in_flight: InFlightCursor = field(default_factory=InFlightCursor)


@dataclass(frozen=True, slots=True)
class _Due:
    alert_id: int
    step: int
    channel: str
    due_at: datetime


async def sweep(
    *,
    deps: AlertDeps,
    now: datetime,
    grace_seconds: int = 5,
    cursor: SweepCursor | None = None,
    limit: int = LIMIT,
    page: int = PAGE,
    stuck_after_s: float = STUCK_AFTER_S,
) -> int:
    """Evaluate stranded events; re-enqueue due steps whose attempt has not reached the provider;
    converge the alerts being delivered (returns how many items it re-enqueued or moved)."""
    created = await evaluate_pending(deps=deps, now=now)
    count = len(created)
    cursor = cursor if cursor is not None else SweepCursor()
    cutoff = now - timedelta(seconds=grace_seconds)
    start, looked = cursor.after, 0
    # From the cursor to the last due alert, then from the first up to the cursor.
    for after, upto in ((start, None), (None, start)) if start else ((None, None),):
        while looked < limit:
            size = min(page, limit - looked)
            due = await _due_page(deps, cutoff, after=after, upto=upto, size=size)
            if not due:
                cursor.after = None  # walked to the end (of the due alerts, or the cursor)
                break
            looked += len(due)
            after = cursor.after = (due[-1].due_at, due[-1].alert_id)
            count += await _enqueue(deps, await _stranded(deps, due, now))
    converged = await converge(
        deps=deps, now=now, cursor=cursor.in_flight, limit=limit, stuck_after_s=stuck_after_s
    )
    count += converged.moved
    if count:
        logger.info("sweep re-enqueued or moved %s item(s)", count)
    return count


async def _enqueue(deps: AlertDeps, stranded: list[_Due]) -> int:
    """Offer the stranded steps to the queue: one round trip per page when it can batch (a
    backlog of queued steps is offered every sweep; each already queued is skipped by job id,
    as ``enqueue_step`` skips it), else one ``enqueue_step`` each."""
    if isinstance(deps.queue, BatchStepQueue):
        return await deps.queue.enqueue_steps(
            [StepJob(item.alert_id, item.step, item.channel) for item in stranded]
        )
    count = 0
    for item in stranded:
        if await deps.queue.enqueue_step(
            alert_id=item.alert_id, step_index=item.step, channel=item.channel
        ):
            count += 1
    return count


async def _due_page(
    deps: AlertDeps,
    cutoff: datetime,
    *,
    after: tuple[datetime, int] | None,
    upto: tuple[datetime, int] | None,
    size: int,
) -> list[_Due]:
    """Due alerts in (due time, id) order after ``after`` and up to ``upto``: a range scan of
    the due-time index, so a page costs the same however long the backlog."""
    at, alert_id = col(Alert.next_step_at), col(Alert.id)
    # No status in the WHERE: the planner would pick the status index and sort every due alert.
    query = (
        sa.select(alert_id, col(Alert.current_step), col(Alert.plan), at, col(Alert.status))
        .where(at.is_not(None), at <= cutoff)
        .order_by(at, alert_id)
        .limit(size)
    )
    if after is not None:
        query = query.where(sa.or_(at > after[0], sa.and_(at == after[0], alert_id > after[1])))
    if upto is not None:
        query = query.where(sa.or_(at < upto[0], sa.and_(at == upto[0], alert_id <= upto[1])))
    async with deps.sessions() as session:
        rows = (await (await session.connection()).execute(query)).all()
    due = []
    for found_id, step, plan, due_at, status in rows:
        steps = [p.channel for p in plan or []]
        if due_at is None:
            continue
        if status not in ALERT_OPEN or not 0 <= step < len(steps):
            # A closed alert with a due time left over, or a step past its plan: looked at, and
            # kept in the page so that the cursor moves past it.
            due.append(_Due(found_id or 0, -1, "", due_at))
            continue
        due.append(_Due(found_id or 0, step, steps[step], due_at))
    return due


async def _stranded(deps: AlertDeps, due: list[_Due], now: datetime) -> list[_Due]:
    """The due steps whose attempt is missing, still queued, or sending for too long."""
    query = select(
        col(DeliveryAttempt.alert_id),
        col(DeliveryAttempt.step_index),
        col(DeliveryAttempt.status),
        col(DeliveryAttempt.sending_started_at),
    ).where(col(DeliveryAttempt.alert_id).in_([d.alert_id for d in due]))
    query = query.order_by(col(DeliveryAttempt.id))
    async with deps.sessions() as session:
        rows = (await session.exec(query)).all()
    attempts: dict[tuple[int, int], tuple[str, datetime | None]] = {}
    for alert_id, step, status, started in rows:
        attempts.setdefault((alert_id, step), (status, started))  # the step's first attempt
    stranded = []
    for item in due:
        if item.step < 0:
            continue
        found = attempts.get((item.alert_id, item.step))
        if found is None:
            stranded.append(item)
            continue
        status, started = found
        if status == "queued" or (
            status == "sending" and not (started and started > now - timedelta(seconds=IN_FLIGHT_S))
        ):
            stranded.append(item)
    return stranded
