"""The outbox sweep: find work stranded between a commit and its enqueue, and enqueue it again.

Bounded: due alerts are read a page at a time in id order (keyset, the primary key's index),
their current attempts in one query per page, and one sweep looks at no more than ``limit``
alerts. A ``SweepCursor`` (the worker keeps one) makes the next sweep go on after the last alert
looked at, so a backlog of paced alerts costs each sweep the same, and every due alert is looked
at within ceil(backlog / limit) sweeps."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select

from alerts.decisions.evaluate import evaluate_pending
from alerts.deps import AlertDeps
from alerts.lifecycle import ALERT_OPEN
from alerts.models import Alert, DeliveryAttempt

logger = logging.getLogger(__name__)

PAGE = 500
LIMIT = 5_000  # alerts looked at per sweep
IN_FLIGHT_S = 60  # an attempt "sending" for less than this is probably still on its way


@dataclass
class SweepCursor:
    """Where the next sweep goes on: after this alert id (0: from the start)."""

    after_id: int = 0


@dataclass(frozen=True, slots=True)
class _Due:
    alert_id: int
    step: int
    channel: str


async def sweep(
    *,
    deps: AlertDeps,
    now: datetime,
    grace_seconds: int = 5,
    cursor: SweepCursor | None = None,
    limit: int = LIMIT,
    page: int = PAGE,
) -> int:
    """Evaluate stranded events; re-enqueue due steps whose attempt has not reached the provider."""
    created = await evaluate_pending(deps=deps, now=now)
    count = len(created)
    cursor = cursor if cursor is not None else SweepCursor()
    cutoff = now - timedelta(seconds=grace_seconds)
    start, looked = cursor.after_id, 0
    # From the cursor to the end of the table, then from the start up to the cursor.
    for after, upto in ((start, None), (0, start)) if start else ((0, None),):
        while looked < limit:
            size = min(page, limit - looked)
            due = await _due_page(deps, cutoff, after_id=after, upto_id=upto, size=size)
            if not due:
                cursor.after_id = 0  # walked to the end (of the table, or back to the start)
                break
            looked += len(due)
            after = cursor.after_id = due[-1].alert_id
            for item in await _stranded(deps, due, now):
                if await deps.queue.enqueue_step(
                    alert_id=item.alert_id, step_index=item.step, channel=item.channel
                ):
                    count += 1
    if count:
        logger.info("sweep re-enqueued %s item(s)", count)
    return count


async def _due_page(
    deps: AlertDeps, cutoff: datetime, *, after_id: int, upto_id: int | None, size: int
) -> list[_Due]:
    query = (
        select(col(Alert.id), col(Alert.current_step), col(Alert.plan))
        .where(
            col(Alert.status).in_(ALERT_OPEN),
            col(Alert.next_step_at).is_not(None),
            col(Alert.next_step_at) <= cutoff,
            col(Alert.id) > after_id,
        )
        .order_by(col(Alert.id))
        .limit(size)
    )
    if upto_id is not None:
        query = query.where(col(Alert.id) <= upto_id)
    async with deps.sessions() as session:
        rows = (await session.exec(query)).all()
    due = []
    for alert_id, step, plan in rows:
        steps = [p.channel for p in plan or []]
        if 0 <= step < len(steps):
            due.append(_Due(alert_id or 0, step, steps[step]))
        else:
            logger.warning(
                "sweep: alert %s is due at step %s of a %s-step plan", alert_id, step, len(steps)
            )
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
