"""The counts the calls-avoided report is made of, day by day: each alert type's go-live day,
its imported calls, its events (decisions) and its self-served alerts, from the rollup's whole
days and the raw tables for the rest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.models import Alert, Customer, Decision
from alerts.reports.base import DateRange, dialect, fetch
from alerts.reports.coverage import coverage, history
from alerts.reports.funnel import alert_flags
from alerts.reports.models import InboundCallCount, RollupAlertDay, RollupDecisionDay
from alerts.reports.timings import day_of


@dataclass(frozen=True, slots=True)
class View:
    """Where the report reads from: the rollup's whole days before ``today``, unless not."""

    today: date | None = None
    rollup: bool = True


async def go_live_days(session: AsyncSession, period: DateRange, view: View) -> dict[str, date]:
    """The day of each alert type's first alert (types with an alert up to the range's end):
    the rolled-up days' first day with an alert, and the raw tables for the rest."""
    out: dict[str, date] = {}
    past = await history(session, period.last) if view.rollup else None
    cover = await coverage(session, past, today=view.today) if past else None
    if cover is not None and cover.rolled:
        r = RollupAlertDay
        stmt = (
            sa.select(col(r.alert_type), sa.func.min(col(r.day)))
            .where(cover.rolled_days(col(r.day)))
            .group_by(col(r.alert_type))
        )
        out.update({str(t): _as_day(d) for t, d in await fetch(session, stmt)})
    raw = cover.raw if cover is not None else [None]
    for run in raw:
        where = [col(Alert.created_at) < period.end, sa.not_(col(Alert.trial))]
        if run is not None:
            where += [col(Alert.created_at) >= run.start, col(Alert.created_at) < run.end]
        stmt = (
            sa.select(col(Alert.alert_type), sa.func.min(col(Alert.created_at)))
            .where(*where)
            .group_by(col(Alert.alert_type))
        )
        for alert_type, first in await fetch(session, stmt):
            day = _as_day(first)
            out[str(alert_type)] = min(out.get(str(alert_type), day), day)
    return out


def _as_day(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)).date()


Daily = dict[str, dict[date, int]]  # alert type -> day -> count


def _add_daily(into: Daily, rows: list[tuple[Any, ...]]) -> None:
    for alert_type, day, n in rows:
        per_day = into.setdefault(str(alert_type), {})
        per_day[_as_day(day)] = per_day.get(_as_day(day), 0) + int(n or 0)


def sum_days(daily: Daily, alert_type: str, days: list[date]) -> int:
    """The counts of ``alert_type`` from the first to the last of ``days`` (both included)."""
    if not days:
        return 0
    return sum(n for d, n in daily.get(alert_type, {}).items() if days[0] <= d <= days[-1])


async def daily_calls(session: AsyncSession) -> Daily:
    r = InboundCallCount
    stmt = sa.select(col(r.alert_type), col(r.day), sa.func.sum(col(r.calls))).group_by(
        col(r.alert_type), col(r.day)
    )
    out: Daily = {}
    _add_daily(out, await fetch(session, stmt))
    return out


async def daily_events(session: AsyncSession, span: DateRange | None, view: View) -> Daily:
    """Decisions per alert type and day over ``span``: the rollup's, and the raw days'."""
    out: Daily = {}
    if span is None:
        return out
    cover = await coverage(session, span, today=view.today, rollup=view.rollup)
    if cover.rolled:
        r = RollupDecisionDay
        stmt = (
            sa.select(col(r.alert_type), col(r.day), sa.func.sum(col(r.decisions)))
            .where(cover.rolled_days(col(r.day)))
            .group_by(col(r.alert_type), col(r.day))
        )
        _add_daily(out, await fetch(session, stmt))
    day = day_of(dialect(session), col(Decision.created_at))
    for run in cover.raw:
        stmt = (
            sa.select(col(Decision.alert_type), day.label("d"), sa.func.count())
            .where(col(Decision.created_at) >= run.start, col(Decision.created_at) < run.end)
            .group_by(col(Decision.alert_type), sa.text("d"))
        )
        _add_daily(out, await fetch(session, stmt))
    return out


async def daily_self_served(session: AsyncSession, period: DateRange, view: View) -> Daily:
    """Alerts resolved with no agent involved (a keypress, a confirmation), per type and day."""
    out: Daily = {}
    cover = await coverage(session, period, today=view.today, rollup=view.rollup)
    if cover.rolled:
        r = RollupAlertDay
        stmt = (
            sa.select(col(r.alert_type), col(r.day), sa.func.sum(col(r.self_served)))
            .where(cover.rolled_days(col(r.day)))
            .group_by(col(r.alert_type), col(r.day))
        )
        _add_daily(out, await fetch(session, stmt))
    flags = alert_flags()
    day = day_of(dialect(session), col(Alert.created_at))
    for run in cover.raw:
        stmt = (
            sa.select(col(Alert.alert_type), day.label("d"), sa.func.count())
            .select_from(Alert)
            .join(Customer, col(Customer.id) == col(Alert.customer_id))
            .where(
                sa.not_(col(Alert.trial)),
                col(Alert.created_at) >= run.start,
                col(Alert.created_at) < run.end,
                flags["resolved"] == 1,
                flags["routed"] == 0,
            )
            .group_by(col(Alert.alert_type), sa.text("d"))
        )
        _add_daily(out, await fetch(session, stmt))
    return out
