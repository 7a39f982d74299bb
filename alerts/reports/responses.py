"""Response rates and time to respond per channel, side by side, with the number of alerts
behind each rate (none shown below ``MIN_ALERTS_FOR_RATE``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.models import Alert, DeliveryAttempt, Response, StatusChange
from alerts.reports.base import (
    MIN_ALERTS_FOR_RATE,
    DateRange,
    fetch,
    percentiles,
    rate_or_none,
    seconds_between,
)
from alerts.reports.funnel import NOT_ANSWERS

CHANNELS = ("voice", "sms", "email")
TIME_QUANTILES = (0.5, 0.9)


@dataclass(frozen=True, slots=True)
class ChannelRate:
    alert_type: str  # "all" for the channel's total
    channel: str
    reached: int  # alerts that reached the customer on this channel
    responded: int  # of those, alerts answered on this channel
    median_seconds: float | None
    p90_seconds: float | None

    @property
    def rate(self) -> float | None:
        return rate_or_none(self.responded, self.reached)

    @property
    def too_few(self) -> bool:
        return self.reached < MIN_ALERTS_FOR_RATE

    def as_json(self) -> dict[str, Any]:
        return {
            "alert_type": self.alert_type,
            "channel": self.channel,
            "alerts_reached": self.reached,
            "alerts_responded": self.responded,
            "response_rate": self.rate,
            "too_few_alerts": self.too_few,
            "median_seconds_to_respond": self.median_seconds,
            "p90_seconds_to_respond": self.p90_seconds,
        }


@dataclass(frozen=True, slots=True)
class ResponseRates:
    range: DateRange
    alert_type: str
    totals: list[ChannelRate]  # one per channel
    rows: list[ChannelRate]  # per alert type and channel

    def as_json(self) -> dict[str, Any]:
        return {
            "range": self.range.as_json(),
            "alert_type": self.alert_type,
            "min_alerts_for_a_rate": MIN_ALERTS_FOR_RATE,
            "channels": [r.as_json() for r in self.totals],
            "rows": [r.as_json() for r in self.rows],
        }


def _in_range(period: DateRange, alert_type: str) -> list[ColumnElement[bool]]:
    where = [
        col(Alert.created_at) >= period.start,
        col(Alert.created_at) < period.end,
        sa.not_(col(Alert.trial)),
    ]
    if alert_type:
        where.append(col(Alert.alert_type) == alert_type)
    return where


def _reached(channel: str) -> ColumnElement[bool]:
    # The move that marks an alert reached names the channel and status ("sms delivered").
    return sa.exists().where(
        col(StatusChange.entity) == "alert",
        col(StatusChange.entity_id) == col(Alert.id),
        col(StatusChange.event) == "reach",
        col(StatusChange.applied).is_(True),
        col(StatusChange.reason).like(f"{channel} %"),
    )


def _answered(channel: str) -> ColumnElement[bool]:
    return sa.exists().where(
        col(Response.alert_id) == col(Alert.id),
        col(Response.channel) == channel,
        col(Response.intent).not_in(NOT_ANSWERS),
    )


async def _counts(
    session: AsyncSession, period: DateRange, alert_type: str
) -> dict[tuple[str, str], tuple[int, int]]:
    """{(alert type, channel): (reached on channel, answered on channel)}, in one pass."""
    sums = []
    for channel in CHANNELS:
        reached = _reached(channel)
        sums.append(sa.func.sum(sa.case((reached, 1), else_=0)))
        sums.append(sa.func.sum(sa.case((sa.and_(reached, _answered(channel)), 1), else_=0)))
    stmt = (
        sa.select(col(Alert.alert_type), *sums)
        .where(*_in_range(period, alert_type))
        .group_by(col(Alert.alert_type))
    )
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for row in await fetch(session, stmt):
        for i, channel in enumerate(CHANNELS):
            out[(str(row[0]), channel)] = (int(row[1 + 2 * i] or 0), int(row[2 + 2 * i] or 0))
    return out


async def _times(
    session: AsyncSession, period: DateRange, alert_type: str, *, by_type: bool
) -> dict[str, list[float | None]]:
    """Seconds from the attempt's start to each answer on it, median and p90, per channel (and
    alert type: the key is ``"<alert type>|<channel>"``)."""
    started = sa.func.coalesce(
        col(DeliveryAttempt.sending_started_at), col(DeliveryAttempt.created_at)
    )
    channel = col(Response.channel)
    return await percentiles(
        session,
        seconds_between(session, col(Response.created_at), started),
        [
            *_in_range(period, alert_type),
            channel.in_(CHANNELS),
            col(Response.intent).not_in(NOT_ANSWERS),
        ],
        select_from=sa.join(
            Response, DeliveryAttempt, col(Response.attempt_id) == col(DeliveryAttempt.id)
        ).join(Alert, col(Alert.id) == col(Response.alert_id)),
        group=col(Alert.alert_type) + "|" + channel if by_type else channel,
        qs=TIME_QUANTILES,
    )


async def response_rates(
    *, session: AsyncSession, period: DateRange, alert_type: str = ""
) -> ResponseRates:
    """Per channel: alerts reached on it, answered on it, the rate, and how long answers took."""
    counts = await _counts(session, period, alert_type)
    per_type = await _times(session, period, alert_type, by_type=True)
    overall = await _times(session, period, alert_type, by_type=False)
    rows: list[ChannelRate] = []
    for (key, channel), (reached, responded) in sorted(counts.items()):
        if reached or responded:
            median, p90, _ = per_type.get(f"{key}|{channel}", [None, None, 0.0])
            rows.append(ChannelRate(key, channel, reached, responded, median, p90))
    totals = []
    for channel in CHANNELS:
        median, p90, _ = overall.get(channel, [None, None, 0.0])
        reached = sum(r for (_, c), (r, _a) in counts.items() if c == channel)
        responded = sum(a for (_, c), (_r, a) in counts.items() if c == channel)
        totals.append(ChannelRate("all", channel, reached, responded, median, p90))
    rows.sort(key=lambda r: (r.alert_type, CHANNELS.index(r.channel)))
    return ResponseRates(range=period, alert_type=alert_type, totals=totals, rows=rows)
