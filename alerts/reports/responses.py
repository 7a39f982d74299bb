"""Response rates and time to respond per channel, side by side, with the number of alerts
behind each rate (none shown below ``MIN_ALERTS_FOR_RATE``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.models import Alert, Response, StatusChange
from alerts.reports.base import MIN_ALERTS_FOR_RATE, DateRange, fetch, percentiles, rate_or_none
from alerts.reports.coverage import Coverage, coverage
from alerts.reports.models import RollupAlertDay
from alerts.reports.timings import CHANNELS, NOT_ANSWERS, timing_parts

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


def reached_on(channel: str) -> ColumnElement[bool]:
    # The move that marks an alert reached names the channel and status ("sms delivered").
    return sa.exists().where(
        col(StatusChange.entity) == "alert",
        col(StatusChange.entity_id) == col(Alert.id),
        col(StatusChange.event) == "reach",
        col(StatusChange.applied).is_(True),
        col(StatusChange.reason).like(f"{channel} %"),
    )


def answered_on(channel: str) -> ColumnElement[bool]:
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
        reached = reached_on(channel)
        sums.append(sa.func.sum(sa.case((reached, 1), else_=0)))
        sums.append(sa.func.sum(sa.case((sa.and_(reached, answered_on(channel)), 1), else_=0)))
    stmt = (
        sa.select(col(Alert.alert_type), *sums)
        .where(*_in_range(period, alert_type))
        .group_by(col(Alert.alert_type))
    )
    return _count_rows(await fetch(session, stmt))


async def _times(
    session: AsyncSession, cover: Coverage, alert_type: str
) -> tuple[dict[tuple[str, ...], list[float | None]], dict[tuple[str, ...], list[float | None]]]:
    """Seconds from the attempt's start to each answer on it, median and p90: per alert type
    and channel, and per channel, from one read of the times."""
    both = timing_parts(session, cover, "respond", alert_type)
    per_type, per_channel = await percentiles(
        session,
        both.c.seconds,
        [both.c.seconds.isnot(None)],
        select_from=both,
        keys={"alert_type": both.c.alert_type, "channel": both.c.key},
        levels=[("alert_type", "channel"), ("channel",)],
        qs=TIME_QUANTILES,
    )
    return per_type, per_channel


async def _rolled_counts(
    session: AsyncSession, cover: Coverage, alert_type: str
) -> dict[tuple[str, str], tuple[int, int]]:
    r = RollupAlertDay
    where = [cover.rolled_days(col(r.day))]
    if alert_type:
        where.append(col(r.alert_type) == alert_type)
    sums = []
    for channel in CHANNELS:
        sums.append(sa.func.sum(getattr(r, f"reached_{channel}")))
        sums.append(sa.func.sum(getattr(r, f"answered_{channel}")))
    stmt = sa.select(col(r.alert_type), *sums).where(*where).group_by(col(r.alert_type))
    return _count_rows(await fetch(session, stmt))


def _count_rows(rows: list[tuple[Any, ...]]) -> dict[tuple[str, str], tuple[int, int]]:
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for row in rows:
        for i, channel in enumerate(CHANNELS):
            out[(str(row[0]), channel)] = (int(row[1 + 2 * i] or 0), int(row[2 + 2 * i] or 0))
    return out


async def response_rates(
    *,
    session: AsyncSession,
    period: DateRange,
    alert_type: str = "",
    today: date | None = None,
    rollup: bool = True,
) -> ResponseRates:
    """Per channel: alerts reached on it, answered on it, the rate, and how long answers took
    (whole days from the rollup, the rest raw)."""
    cover = await coverage(session, period, today=today, rollup=rollup)
    counts = await _rolled_counts(session, cover, alert_type) if cover.rolled else {}
    for part in cover.raw:
        for pair, (reached, answered) in (await _counts(session, part, alert_type)).items():
            had = counts.get(pair, (0, 0))
            counts[pair] = (had[0] + reached, had[1] + answered)
    per_type, overall = await _times(session, cover, alert_type)
    rows: list[ChannelRate] = []
    for (key, channel), (reached, responded) in sorted(counts.items()):
        if reached or responded:
            median, p90, _ = per_type.get((key, channel), [None, None, 0.0])
            rows.append(ChannelRate(key, channel, reached, responded, median, p90))
    totals = []
    for channel in CHANNELS:
        median, p90, _ = overall.get((channel,), [None, None, 0.0])
        reached = sum(r for (_, c), (r, _a) in counts.items() if c == channel)
        responded = sum(a for (_, c), (_r, a) in counts.items() if c == channel)
        totals.append(ChannelRate("all", channel, reached, responded, median, p90))
    rows.sort(key=lambda r: (r.alert_type, CHANNELS.index(r.channel)))
    return ResponseRates(range=period, alert_type=alert_type, totals=totals, rows=rows)
