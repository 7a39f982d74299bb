"""Delivery health: attempts by channel and outcome, provider failures by error code, retries
and fallbacks, time from an event's arrival to the first attempt, expired and failed alerts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.models import Alert, DeliveryAttempt, Event, Response
from alerts.reports.base import PERCENTILES, DateRange, fetch, percentiles, seconds_between, share

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


def _attempts_in(period: DateRange, alert_type: str) -> list[ColumnElement[bool]]:
    where = [
        col(DeliveryAttempt.created_at) >= period.start,
        col(DeliveryAttempt.created_at) < period.end,
        sa.not_(col(Alert.trial)),
    ]
    if alert_type:
        where.append(col(Alert.alert_type) == alert_type)
    return where


def _attempts_joined() -> Any:
    return sa.join(DeliveryAttempt, Alert, col(Alert.id) == col(DeliveryAttempt.alert_id))


async def _outcomes(session: AsyncSession, period: DateRange, alert_type: str) -> list[OutcomeRow]:
    stmt = (
        sa.select(col(DeliveryAttempt.channel), col(DeliveryAttempt.status), sa.func.count())
        .select_from(_attempts_joined())
        .where(*_attempts_in(period, alert_type))
        .group_by(col(DeliveryAttempt.channel), col(DeliveryAttempt.status))
        .order_by(col(DeliveryAttempt.channel), col(DeliveryAttempt.status))
    )
    return [OutcomeRow(str(c), str(s), int(n)) for c, s, n in await fetch(session, stmt)]


async def _failures(session: AsyncSession, period: DateRange, alert_type: str) -> list[FailureRow]:
    error = sa.func.coalesce(sa.func.nullif(col(DeliveryAttempt.error), ""), NO_CODE)
    stmt = (
        sa.select(col(DeliveryAttempt.channel), error.label("error"), sa.func.count().label("n"))
        .select_from(_attempts_joined())
        .where(*_attempts_in(period, alert_type), col(DeliveryAttempt.status).in_(FAILED))
        .group_by(col(DeliveryAttempt.channel), sa.text("error"))
        .order_by(sa.text("n DESC"), col(DeliveryAttempt.channel), sa.text("error"))
        .limit(TOP_ERRORS)
    )
    return [FailureRow(str(c), str(e), int(n)) for c, e, n in await fetch(session, stmt)]


async def _retries_and_fallbacks(
    session: AsyncSession, period: DateRange, alert_type: str
) -> tuple[int, int]:
    """Attempts after the alert's first: on a channel tried before (a retry) or not (a fallback).
    Steps after the customer's first answer (the copies they asked for) are neither."""
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
    stmt = (
        sa.select(
            sa.func.sum(sa.case((same_channel, 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(any_before, sa.not_(same_channel)), 1), else_=0)),
        )
        .select_from(_attempts_joined())
        .where(*_attempts_in(period, alert_type), sa.not_(after_answer))
    )
    retries, fallbacks = (await fetch(session, stmt))[0]
    return int(retries or 0), int(fallbacks or 0)


async def _latency(session: AsyncSession, period: DateRange, alert_type: str) -> list[LatencyRow]:
    first = (
        sa.select(
            col(DeliveryAttempt.alert_id).label("alert_id"),
            sa.func.min(
                sa.func.coalesce(
                    col(DeliveryAttempt.sending_started_at), col(DeliveryAttempt.created_at)
                )
            ).label("at"),
        )
        .group_by(col(DeliveryAttempt.alert_id))
        .subquery()
    )
    joined = sa.join(Alert, first, first.c.alert_id == col(Alert.id)).join(
        Event, col(Event.id) == col(Alert.event_id)
    )
    where = [
        col(Alert.created_at) >= period.start,
        col(Alert.created_at) < period.end,
        sa.not_(col(Alert.trial)),
    ]
    if alert_type:
        where.append(col(Alert.alert_type) == alert_type)
    seconds = seconds_between(session, first.c.at, col(Event.created_at))
    by_type = await percentiles(
        session, seconds, where, select_from=joined, group=col(Alert.alert_type)
    )
    overall = await percentiles(session, seconds, where, select_from=joined)
    rows = [
        LatencyRow(key, int(values[-1] or 0), *values[: len(PERCENTILES)])
        for key, values in sorted(by_type.items())
    ]
    if "" in overall and len(rows) > 1:
        values = overall[""]
        rows.append(LatencyRow("all", int(values[-1] or 0), *values[: len(PERCENTILES)]))
    return rows


async def _endings(session: AsyncSession, period: DateRange, alert_type: str) -> list[EndingRow]:
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
        .order_by(col(Alert.alert_type))
    )
    return [
        EndingRow(str(t), int(n), int(e or 0), int(f or 0), int(r or 0))
        for t, n, e, f, r in await fetch(session, stmt)
    ]


async def delivery_health(
    *, session: AsyncSession, period: DateRange, alert_type: str = ""
) -> DeliveryHealth:
    """Attempts made in ``period`` (outcomes, failures, retries, fallbacks) and alerts raised in
    it (time to first attempt, expired and failed)."""
    outcomes = await _outcomes(session, period, alert_type)
    retries, fallbacks = await _retries_and_fallbacks(session, period, alert_type)
    return DeliveryHealth(
        range=period,
        alert_type=alert_type,
        attempts=sum(r.attempts for r in outcomes),
        outcomes=outcomes,
        failures=await _failures(session, period, alert_type),
        retries=retries,
        fallbacks=fallbacks,
        latency=await _latency(session, period, alert_type),
        endings=await _endings(session, period, alert_type),
    )
