"""Delivery health: attempts by channel and outcome, provider failures by error code, retries
and fallbacks, time from an event's arrival to the first attempt, expired and failed alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.models import Alert, DeliveryAttempt, Response
from alerts.reports.base import PERCENTILES, DateRange, fetch, percentiles, share
from alerts.reports.coverage import Coverage, coverage
from alerts.reports.models import RollupAlertDay, RollupAttemptDay
from alerts.reports.timings import timing_parts

FAILED = ("failed", "undelivered")  # the provider (or Herald's send) failed the attempt
NO_CODE = "no code given"
TOP_ERRORS = 25


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    channel: str
    status: str
    attempts: int


@dataclass(frozen=True, slots=True)
class FailureRow:
    channel: str
    error: str
    attempts: int


@dataclass(frozen=True, slots=True)
class LatencyRow:
    alert_type: str  # "all" for every alert type
    alerts: int
    p50: float | None
    p95: float | None
    p99: float | None


@dataclass(frozen=True, slots=True)
class EndingRow:
    alert_type: str
    alerts: int
    expired: int
    failed: int
    provider_retries: int

    @property
    def expired_share(self) -> float | None:
        return share(self.expired, self.alerts)


@dataclass(frozen=True, slots=True)
class DeliveryHealth:
    range: DateRange
    alert_type: str
    attempts: int
    outcomes: list[OutcomeRow]
    failures: list[FailureRow]
    retries: int  # another attempt on a channel already tried for the alert
    fallbacks: int  # an attempt on a channel not yet tried for the alert
    latency: list[LatencyRow]
    endings: list[EndingRow]

    @property
    def failed_attempts(self) -> int:
        return sum(r.attempts for r in self.outcomes if r.status in FAILED)

    def as_json(self) -> dict[str, Any]:
        return {
            "range": self.range.as_json(),
            "alert_type": self.alert_type,
            "attempts": self.attempts,
            "failed_attempts": self.failed_attempts,
            "retries": self.retries,
            "fallbacks": self.fallbacks,
            "provider_retries": sum(r.provider_retries for r in self.endings),
            "outcomes": [
                {"channel": r.channel, "status": r.status, "attempts": r.attempts}
                for r in self.outcomes
            ],
            "failures": [
                {"channel": r.channel, "error": r.error, "attempts": r.attempts}
                for r in self.failures
            ],
            "seconds_from_event_to_first_attempt": [
                {
                    "alert_type": r.alert_type,
                    "alerts": r.alerts,
                    "p50": r.p50,
                    "p95": r.p95,
                    "p99": r.p99,
                }
                for r in self.latency
            ],
            "alerts": [
                {
                    "alert_type": r.alert_type,
                    "alerts": r.alerts,
                    "expired": r.expired,
                    "expired_share": r.expired_share,
                    "failed": r.failed,
                    "provider_retries": r.provider_retries,
                }
                for r in self.endings
            ],
        }


def retry_flags() -> tuple[ColumnElement[int], ColumnElement[int]]:
    """1 or 0 per attempt: a retry (a channel tried before for the alert), a fallback (a channel
    not yet tried). Steps after the customer's first answer (the copies they asked for) are
    neither."""
    earlier = aliased(DeliveryAttempt)
    before: list[ColumnElement[bool]] = [
        col(earlier.alert_id) == col(DeliveryAttempt.alert_id),
        col(earlier.step_index) < col(DeliveryAttempt.step_index),
    ]
    any_before = sa.exists().where(*before)
    same_channel = sa.exists().where(*before, col(earlier.channel) == col(DeliveryAttempt.channel))
    after_answer = sa.exists().where(
        col(Response.alert_id) == col(DeliveryAttempt.alert_id),
        col(Response.created_at) < col(DeliveryAttempt.created_at),
    )
    counts = sa.not_(after_answer)
    return (
        sa.case((sa.and_(counts, same_channel), 1), else_=0),
        sa.case((sa.and_(counts, any_before, sa.not_(same_channel)), 1), else_=0),
    )


def error_of() -> ColumnElement[str]:
    """The provider's error code of a failed attempt ("" for the others)."""
    return sa.case(
        (
            col(DeliveryAttempt.status).in_(FAILED),
            sa.func.coalesce(sa.func.nullif(col(DeliveryAttempt.error), ""), NO_CODE),
        ),
        else_=sa.literal(""),
    )


# (channel, status, error) -> [attempts, retries, fallbacks]
Counts = dict[tuple[str, str, str], list[int]]


def _add(into: Counts, rows: list[tuple[Any, ...]]) -> None:
    for channel, status, error, n, retries, fallbacks in rows:
        have = into.setdefault((str(channel), str(status), str(error or "")), [0, 0, 0])
        have[0] += int(n or 0)
        have[1] += int(retries or 0)
        have[2] += int(fallbacks or 0)


async def _raw_attempts(session: AsyncSession, period: DateRange, alert_type: str) -> Any:
    retry, fallback = retry_flags()
    keys = [col(DeliveryAttempt.channel), col(DeliveryAttempt.status), error_of()]
    where = [
        col(DeliveryAttempt.created_at) >= period.start,
        col(DeliveryAttempt.created_at) < period.end,
        sa.not_(col(Alert.trial)),
    ]
    if alert_type:
        where.append(col(Alert.alert_type) == alert_type)
    stmt = (
        sa.select(*keys, sa.func.count(), sa.func.sum(retry), sa.func.sum(fallback))
        .select_from(
            sa.join(DeliveryAttempt, Alert, col(Alert.id) == col(DeliveryAttempt.alert_id))
        )
        .where(*where)
        .group_by(*keys)
    )
    return await fetch(session, stmt)


async def _rolled_attempts(session: AsyncSession, cover: Coverage, alert_type: str) -> Any:
    r = RollupAttemptDay
    keys = [col(r.channel), col(r.status), col(r.error)]
    where = [cover.rolled_days(col(r.day))]
    if alert_type:
        where.append(col(r.alert_type) == alert_type)
    sums = [sa.func.sum(col(r.attempts)), sa.func.sum(col(r.retries)), sa.func.sum(r.fallbacks)]
    return await fetch(session, sa.select(*keys, *sums).where(*where).group_by(*keys))


async def _attempts(session: AsyncSession, cover: Coverage, alert_type: str) -> Counts:
    counts: Counts = {}
    if cover.rolled:
        _add(counts, await _rolled_attempts(session, cover, alert_type))
    for run in cover.raw:
        _add(counts, await _raw_attempts(session, run, alert_type))
    return counts


def _outcomes(counts: Counts) -> list[OutcomeRow]:
    by: dict[tuple[str, str], int] = {}
    for (channel, status, _), (n, _r, _f) in counts.items():
        by[(channel, status)] = by.get((channel, status), 0) + n
    return [OutcomeRow(c, s, n) for (c, s), n in sorted(by.items())]


def _failures(counts: Counts) -> list[FailureRow]:
    by: dict[tuple[str, str], int] = {}
    for (channel, status, error), (n, _r, _f) in counts.items():
        if status in FAILED:
            by[(channel, error)] = by.get((channel, error), 0) + n
    ranked = sorted(by.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_ERRORS]
    return [FailureRow(c, e, n) for (c, e), n in ranked]


async def _latency(session: AsyncSession, cover: Coverage, alert_type: str) -> list[LatencyRow]:
    """Per alert type and over all of them, from one read of the times."""
    times = timing_parts(session, cover, "first_attempt", alert_type)
    by_type, overall = await percentiles(
        session,
        times.c.seconds,
        [times.c.seconds.isnot(None)],
        select_from=times,
        keys={"alert_type": times.c.alert_type},
        levels=[("alert_type",), ()],
    )
    rows = [
        LatencyRow(key, int(values[-1] or 0), *values[: len(PERCENTILES)])
        for (key,), values in sorted(by_type.items())
    ]
    if () in overall and len(rows) > 1:
        values = overall[()]
        rows.append(LatencyRow("all", int(values[-1] or 0), *values[: len(PERCENTILES)]))
    return rows


async def _raw_endings(session: AsyncSession, period: DateRange, alert_type: str) -> Any:
    where = [
        col(Alert.created_at) >= period.start,
        col(Alert.created_at) < period.end,
        sa.not_(col(Alert.trial)),
    ]
    if alert_type:
        where.append(col(Alert.alert_type) == alert_type)
    stmt = (
        sa.select(
            col(Alert.alert_type),
            sa.func.count(),
            sa.func.sum(sa.case((col(Alert.status) == "expired", 1), else_=0)),
            sa.func.sum(sa.case((col(Alert.status) == "failed", 1), else_=0)),
            sa.func.sum(col(Alert.provider_retries)),
        )
        .where(*where)
        .group_by(col(Alert.alert_type))
    )
    return await fetch(session, stmt)


async def _rolled_endings(session: AsyncSession, cover: Coverage, alert_type: str) -> Any:
    r = RollupAlertDay
    where = [cover.rolled_days(col(r.day))]
    if alert_type:
        where.append(col(r.alert_type) == alert_type)
    names = ("alerts", "expired", "failed", "provider_retries")
    stmt = (
        sa.select(col(r.alert_type), *(sa.func.sum(getattr(r, n)) for n in names))
        .where(*where)
        .group_by(col(r.alert_type))
    )
    return await fetch(session, stmt)


async def _endings(session: AsyncSession, cover: Coverage, alert_type: str) -> list[EndingRow]:
    rows = list(await _rolled_endings(session, cover, alert_type)) if cover.rolled else []
    for run in cover.raw:
        rows.extend(await _raw_endings(session, run, alert_type))
    sums: dict[str, list[int]] = {}
    for t, *values in rows:
        have = sums.setdefault(str(t), [0, 0, 0, 0])
        for i, v in enumerate(values):
            have[i] += int(v or 0)
    return [EndingRow(t, n, e, f, r) for t, (n, e, f, r) in sorted(sums.items()) if n]


async def delivery_health(
    *,
    session: AsyncSession,
    period: DateRange,
    alert_type: str = "",
    today: date | None = None,
    rollup: bool = True,
) -> DeliveryHealth:
    """Attempts made in ``period`` (outcomes, failures, retries, fallbacks) and alerts raised in
    it (time to first attempt, expired and failed); whole days from the rollup, the rest raw."""
    cover = await coverage(session, period, today=today, rollup=rollup)
    counts = await _attempts(session, cover, alert_type)
    outcomes = _outcomes(counts)
    return DeliveryHealth(
        range=period,
        alert_type=alert_type,
        attempts=sum(r.attempts for r in outcomes),
        outcomes=outcomes,
        failures=_failures(counts),
        retries=sum(r for _n, r, _f in counts.values()),
        fallbacks=sum(f for _n, _r, f in counts.values()),
        latency=await _latency(session, cover, alert_type),
        endings=await _endings(session, cover, alert_type),
    )
