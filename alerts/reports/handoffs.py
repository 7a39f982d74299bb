"""Hand-offs and service level per queue (the kind of hand-off: live transfers, callbacks,
call-me-now, agent tasks): how many, how they ended, how soon an agent took them, the share
answered within the target, abandoned against 3 %, handle time and the busiest hour."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.models import Alert, HandOff, StatusChange
from alerts.reports.base import DateRange, fetch, interpolate, seconds_between, share

TARGET_ANSWER_SECONDS = 20.0  # the call centre's answer target (the voice pacer's, by default)
SERVICE_LEVEL_TARGET = 0.8  # 80 % answered within the target
ABANDONED_TARGET = 0.03  # at most 3 % of live transfers abandoned
ANSWERED = ("claimed", "connected")  # an agent took it
QUEUES = {
    "live_transfer": "Live transfers",
    "call_now": "Call me now",
    "callback": "Callbacks",
    "task": "Tasks for an agent",
}


@dataclass(frozen=True, slots=True)
class QueueRow:
    kind: str
    handoffs: int
    completed: int
    abandoned: int
    expired: int
    failed: int
    still_open: int
    answered: int  # an agent claimed or connected it
    within_target: int  # ... within TARGET_ANSWER_SECONDS
    median_answer_seconds: float | None
    mean_handle_seconds: float | None  # connected -> completed
    busiest_hour: str | None  # "2026-11-03 10:00" UTC
    busiest_hour_count: int

    @property
    def answered_within_target(self) -> float | None:
        return share(self.within_target, self.answered)

    @property
    def abandoned_share(self) -> float | None:
        return share(self.abandoned, self.handoffs)

    def as_json(self) -> dict[str, Any]:
        return {
            "queue": self.kind,
            "handoffs": self.handoffs,
            "completed": self.completed,
            "abandoned": self.abandoned,
            "abandoned_share": self.abandoned_share,
            "abandoned_over_target": (self.abandoned_share or 0) > ABANDONED_TARGET,
            "expired": self.expired,
            "failed": self.failed,
            "open": self.still_open,
            "answered": self.answered,
            "answered_within_target": self.within_target,
            "answered_within_target_share": self.answered_within_target,
            "median_seconds_to_answer": self.median_answer_seconds,
            "mean_handle_seconds": self.mean_handle_seconds,
            "busiest_hour": self.busiest_hour,
            "busiest_hour_handoffs": self.busiest_hour_count,
        }


@dataclass(frozen=True, slots=True)
class HandOffReport:
    range: DateRange
    queues: list[QueueRow]

    def as_json(self) -> dict[str, Any]:
        return {
            "range": self.range.as_json(),
            "target_answer_seconds": TARGET_ANSWER_SECONDS,
            "service_level_target": SERVICE_LEVEL_TARGET,
            "abandoned_target": ABANDONED_TARGET,
            "queues": [q.as_json() for q in self.queues],
        }


def _hour(value: object) -> str:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return f"{moment:%Y-%m-%d %H}:00"


async def handoff_report(*, session: AsyncSession, period: DateRange) -> HandOffReport:
    """Hand-offs created in ``period``, per kind; times from their recorded status moves."""
    trials = sa.select(col(Alert.id)).where(col(Alert.trial))
    in_range = [
        col(HandOff.created_at) >= period.start,
        col(HandOff.created_at) < period.end,
        sa.or_(col(HandOff.alert_id).is_(None), col(HandOff.alert_id).not_in(trials)),
    ]
    stmt = (
        sa.select(col(HandOff.kind), col(HandOff.status), sa.func.count())
        .where(*in_range)
        .group_by(col(HandOff.kind), col(HandOff.status))
    )
    statuses: dict[str, Counter[str]] = {}
    for kind, status, n in await fetch(session, stmt):
        statuses.setdefault(str(kind), Counter())[str(status)] += int(n)
    # The first move to claimed/connected, and the move to completed, of each hand-off.
    taken = (
        sa.select(
            col(StatusChange.entity_id).label("handoff_id"),
            sa.func.min(col(StatusChange.created_at)).label("at"),
        )
        .where(
            col(StatusChange.entity) == "handoff",
            col(StatusChange.applied).is_(True),
            col(StatusChange.to_status).in_(ANSWERED),
        )
        .group_by(col(StatusChange.entity_id))
        .subquery()
    )
    done = aliased(StatusChange)
    connected = aliased(StatusChange)
    wait = seconds_between(session, taken.c.at, col(HandOff.created_at))
    waits: dict[str, list[float]] = {}
    stmt2 = (
        sa.select(col(HandOff.kind), wait)
        .select_from(sa.join(HandOff, taken, taken.c.handoff_id == col(HandOff.id)))
        .where(*in_range)
        .order_by(col(HandOff.kind), wait)
    )
    for kind, seconds in await fetch(session, stmt2):
        if seconds is not None:
            waits.setdefault(str(kind), []).append(max(0.0, float(seconds)))
    handle = seconds_between(session, col(done.created_at), col(connected.created_at))
    stmt3 = (
        sa.select(col(HandOff.kind), sa.func.avg(handle))
        .select_from(HandOff)
        .join(
            connected,
            sa.and_(
                col(connected.entity) == "handoff",
                col(connected.entity_id) == col(HandOff.id),
                col(connected.to_status) == "connected",
                col(connected.applied).is_(True),
            ),
        )
        .join(
            done,
            sa.and_(
                col(done.entity) == "handoff",
                col(done.entity_id) == col(HandOff.id),
                col(done.to_status) == "completed",
                col(done.applied).is_(True),
            ),
        )
        .where(*in_range)
        .group_by(col(HandOff.kind))
    )
    handles = {str(k): float(v) for k, v in await fetch(session, stmt3) if v is not None}
    hours: dict[str, Counter[str]] = {}
    for kind, at in await fetch(
        session, sa.select(col(HandOff.kind), col(HandOff.created_at)).where(*in_range)
    ):
        hours.setdefault(str(kind), Counter())[_hour(at)] += 1
    queues = []
    for kind in sorted(statuses, key=lambda k: (list(QUEUES).index(k) if k in QUEUES else 99, k)):
        counts = statuses[kind]
        kind_waits = waits.get(kind, [])
        busiest = hours.get(kind, Counter()).most_common(1)
        queues.append(
            QueueRow(
                kind=kind,
                handoffs=sum(counts.values()),
                completed=counts["completed"],
                abandoned=counts["abandoned"],
                expired=counts["expired"],
                failed=counts["failed"],
                still_open=sum(
                    n
                    for s, n in counts.items()
                    if s not in ("completed", "abandoned", "expired", "failed")
                ),
                answered=len(kind_waits),
                within_target=sum(1 for w in kind_waits if w <= TARGET_ANSWER_SECONDS),
                median_answer_seconds=interpolate(kind_waits, 0.5) if kind_waits else None,
                mean_handle_seconds=handles.get(kind),
                busiest_hour=busiest[0][0] if busiest else None,
                busiest_hour_count=busiest[0][1] if busiest else 0,
            )
        )
    return HandOffReport(range=period, queues=queues)
