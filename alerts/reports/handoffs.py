"""Hand-offs and service level per queue (the kind of hand-off: live transfers, callbacks,
call-me-now, agent tasks): how many, how they ended, how soon an agent took them, the share
answered within the target, abandoned against 3 %, handle time and the busiest hour."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.models import HandOff, StatusChange
from alerts.reports.base import DateRange, fetch, percentiles, seconds_between, share
from alerts.reports.coverage import Coverage, coverage
from alerts.reports.models import RollupHandOffHour
from alerts.reports.timings import not_trial_handoff, timing_parts

TARGET_ANSWER_SECONDS = 20.0  # the call centre's answer target (the voice pacer's, by default)
SERVICE_LEVEL_TARGET = 0.8  # 80 % answered within the target
ABANDONED_TARGET = 0.03  # at most 3 % of live transfers abandoned
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


@dataclass(slots=True)
class _Found:
    statuses: dict[str, Counter[str]] = field(default_factory=dict)
    handles: dict[str, list[float]] = field(default_factory=dict)  # kind -> [count, sum]
    hours: dict[str, dict[str, int]] = field(default_factory=dict)  # kind -> hour -> count

    def add_status(self, kind: object, status: object, n: object) -> None:
        self.statuses.setdefault(str(kind), Counter())[str(status)] += int(str(n or 0))

    def add_handles(self, kind: object, count: object, total: object) -> None:
        have = self.handles.setdefault(str(kind), [0.0, 0.0])
        have[0] += float(str(count or 0))
        have[1] += float(str(total or 0.0))

    def add_hour(self, kind: str, hour: str, n: int) -> None:
        hours = self.hours.setdefault(kind, {})
        hours[hour] = hours.get(hour, 0) + n


async def _raw(session: AsyncSession, period: DateRange, found: _Found) -> None:
    in_range = [
        col(HandOff.created_at) >= period.start,
        col(HandOff.created_at) < period.end,
        not_trial_handoff(),
    ]
    stmt = (
        sa.select(col(HandOff.kind), col(HandOff.status), sa.func.count())
        .where(*in_range)
        .group_by(col(HandOff.kind), col(HandOff.status))
    )
    for kind, status, n in await fetch(session, stmt):
        found.add_status(kind, status, n)
    done = aliased(StatusChange)
    connected = aliased(StatusChange)
    handle = seconds_between(session, col(done.created_at), col(connected.created_at))
    stmt3 = (
        sa.select(col(HandOff.kind), sa.func.count(handle), sa.func.sum(handle))
        .select_from(HandOff)
        .join(connected, _moved(connected, "connected"))
        .join(done, _moved(done, "completed"))
        .where(*in_range)
        .group_by(col(HandOff.kind))
    )
    for kind, count, total in await fetch(session, stmt3):
        found.add_handles(kind, count, total)
    for kind, at in await fetch(
        session, sa.select(col(HandOff.kind), col(HandOff.created_at)).where(*in_range)
    ):
        found.add_hour(str(kind), _hour(at), 1)


def _moved(alias: Any, status: str) -> ColumnElement[bool]:
    return sa.and_(
        col(alias.entity) == "handoff",
        col(alias.entity_id) == col(HandOff.id),
        col(alias.to_status) == status,
        col(alias.applied).is_(True),
    )


async def _rolled(session: AsyncSession, cover: Coverage, found: _Found) -> None:
    r = RollupHandOffHour
    keys = [col(r.day), col(r.hour), col(r.kind), col(r.status)]
    stmt = (
        sa.select(
            *keys,
            sa.func.sum(col(r.handoffs)),
            sa.func.sum(col(r.handle_count)),
            sa.func.sum(col(r.handle_seconds)),
        )
        .where(cover.rolled_days(col(r.day)))
        .group_by(*keys)
    )
    for day, hour, kind, status, n, count, total in await fetch(session, stmt):
        if n:
            found.add_status(kind, status, n)
            found.add_hour(str(kind), f"{str(day)[:10]} {int(hour):02d}:00", int(n))
        if count:
            found.add_handles(kind, count, total)


async def _waits(
    session: AsyncSession, cover: Coverage
) -> dict[str, tuple[int, int, float | None]]:
    """Per kind: hand-offs an agent took, those taken within the target, the median wait (a
    wait below zero, a clock skew, counts as zero), all in SQL."""
    times = timing_parts(session, cover, "handoff_wait")
    wait = sa.case((times.c.seconds < 0, 0.0), else_=times.c.seconds)
    where = [times.c.seconds.isnot(None)]
    (medians,) = await percentiles(
        session,
        wait,
        where,
        select_from=times,
        keys={"key": times.c.key},
        levels=[("key",)],
        qs=(0.5,),
    )
    within = sa.func.sum(sa.case((wait <= TARGET_ANSWER_SECONDS, 1), else_=0))
    stmt = sa.select(times.c.key, within).where(*where).group_by(times.c.key)
    counts = {str(k): int(n or 0) for k, n in await fetch(session, stmt)}
    return {
        key: (int(values[-1] or 0), counts.get(key, 0), values[0])
        for (key,), values in medians.items()
    }


async def handoff_report(
    *,
    session: AsyncSession,
    period: DateRange,
    today: date | None = None,
    rollup: bool = True,
) -> HandOffReport:
    """Hand-offs created in ``period``, per kind; times from their recorded status moves (whole
    days from the rollup, the rest raw)."""
    cover = await coverage(session, period, today=today, rollup=rollup)
    found = _Found()
    if cover.rolled:
        await _rolled(session, cover, found)
    for run in cover.raw:
        await _raw(session, run, found)
    waits = await _waits(session, cover)
    statuses = found.statuses
    handles = {k: total / count for k, (count, total) in found.handles.items() if count}
    hours = {k: Counter(dict(sorted(h.items()))) for k, h in found.hours.items()}
    queues = []
    for kind in sorted(statuses, key=lambda k: (list(QUEUES).index(k) if k in QUEUES else 99, k)):
        counts = statuses[kind]
        answered, within, median = waits.get(kind, (0, 0, None))
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
                answered=answered,
                within_target=within,
                median_answer_seconds=median,
                mean_handle_seconds=handles.get(kind),
                busiest_hour=busiest[0][0] if busiest else None,
                busiest_hour_count=busiest[0][1] if busiest else 0,
            )
        )
    return HandOffReport(range=period, queues=queues)
