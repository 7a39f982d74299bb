"""Which days of a report come from the daily rollups and which from the raw tables: a day is
read from the rollup when it is over (before today) and built (``report_rollup_days``);
today, and any day the last refresh dropped or has not built yet, is read raw. The two parts
are added up, so the figures are exact whatever the rollup holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.reports.base import DateRange
from alerts.reports.models import RollupDay, RollupMark

FIRST_DAY = "first_day"  # alerts.reports.rollup's mark: no data before it


@dataclass(frozen=True, slots=True)
class Coverage:
    rolled: list[DateRange]  # runs of days read from the rollups
    raw: list[DateRange]  # runs of days read from the raw tables
    built_at: datetime | None  # when the newest rolled-up day was built

    def rolled_days(self, day: Any) -> ColumnElement[bool]:
        """A rollup row's ``day`` is one of the rolled-up days."""
        if not self.rolled:
            return sa.false()
        return sa.or_(*(sa.and_(day >= r.first, day <= r.last) for r in self.rolled))


def runs(days: list[date]) -> list[DateRange]:
    """Consecutive days as ranges: [1, 2, 3, 7] -> [1..3, 7..7]."""
    out: list[DateRange] = []
    for day in sorted(days):
        if out and out[-1].last + timedelta(days=1) == day:
            out[-1] = DateRange(out[-1].first, day)
        else:
            out.append(DateRange(day, day))
    return out


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


async def coverage(
    session: AsyncSession, period: DateRange, *, today: date | None = None, rollup: bool = True
) -> Coverage:
    """Split ``period`` into rolled-up and raw days (``rollup=False``: every day raw)."""
    if not rollup:
        return Coverage([], [period], None)
    today = today or datetime.now(UTC).date()
    last = min(period.last, today - timedelta(days=1))
    built: dict[date, datetime] = {}
    if last >= period.first:
        stmt = sa.select(col(RollupDay.day), col(RollupDay.built_at)).where(
            col(RollupDay.day) >= period.first, col(RollupDay.day) <= last
        )
        built = {
            _as_date(d): at for d, at in (await (await session.connection()).execute(stmt)).all()
        }
    days = [period.first + timedelta(days=i) for i in range(period.days)]
    return Coverage(
        rolled=runs([d for d in days if d in built]),
        raw=runs([d for d in days if d not in built]),
        built_at=max(built.values(), default=None),
    )


async def history(session: AsyncSession, last: date) -> DateRange | None:
    """Every day up to ``last`` that can hold data (from the rollup's first day), or None when
    the rollup was never built (then only the raw tables know)."""
    stmt = sa.select(col(RollupMark.last_id)).where(col(RollupMark.source) == FIRST_DAY)
    found = (await (await session.connection()).execute(stmt)).scalar()
    if found is None:
        return None
    first = date.fromordinal(int(found))
    return DateRange(min(first, last), last)
