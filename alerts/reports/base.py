"""What every report shares: the date range, shares and thresholds, and the two things SQLite and
PostgreSQL spell differently (seconds between two times, percentiles)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel.ext.asyncio.session import AsyncSession

DEFAULT_DAYS = 30
MAX_DAYS = 366 * 3
# A rate over fewer alerts than this is not shown: a handful of answers says nothing yet.
MIN_ALERTS_FOR_RATE = 20
PERCENTILES = (0.5, 0.95, 0.99)


class ReportInputError(ValueError):
    """A filter a person typed that Herald cannot use; the message says what to type instead."""


@dataclass(frozen=True, slots=True)
class DateRange:
    """Whole UTC days from ``first`` to ``last``, both included."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), UTC)

    @property
    def end(self) -> datetime:
        """Exclusive: midnight after ``last``."""
        return datetime.combine(self.last + timedelta(days=1), time(), UTC)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def as_json(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def date_range(since: str | None, until: str | None, *, today: date) -> DateRange:
    """The range a person asked for (``YYYY-MM-DD``, either end optional); by default the last
    30 days up to and including ``today``."""

    def parse(value: str | None, name: str) -> date | None:
        if not value or not value.strip():
            return None
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ReportInputError(
                f"{name} “{value}” is not a date: use the form 2026-01-31"
            ) from None

    last = parse(until, "to") or today
    first = parse(since, "from") or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ReportInputError(f"from {first} is after to {last}: swap them")
    if (last - first).days >= MAX_DAYS:
        raise ReportInputError(f"a report covers at most {MAX_DAYS} days: shorten the range")
    return DateRange(first, last)


def share(part: int, whole: int) -> float | None:
    """``part / whole`` as a fraction in [0, 1]; None when there is nothing to divide by."""
    return part / whole if whole else None


def rate_or_none(part: int, whole: int) -> float | None:
    """A rate only when at least ``MIN_ALERTS_FOR_RATE`` alerts stand behind it."""
    return part / whole if whole >= MIN_ALERTS_FOR_RATE else None


async def fetch(session: AsyncSession, stmt: sa.Executable) -> list[tuple[Any, ...]]:
    """The rows of a core SELECT as tuples (the reports read numbers, not model objects).

    On PostgreSQL the JIT compiler is off for the report's transaction: the reports are index
    lookups per alert, which JIT does not speed up, and compiling them cost more than running
    them (0.6 s of a 0.7 s funnel over 10,000 alerts)."""
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.text("SET LOCAL jit = off"))
    return [tuple(row) for row in (await conn.execute(stmt)).all()]


def dialect(session: AsyncSession) -> str:
    bind = session.get_bind()
    return str(bind.dialect.name)


def seconds_between(session: AsyncSession, later: Any, earlier: Any) -> ColumnElement[float]:
    """Seconds from ``earlier`` to ``later`` (two timestamp columns) in this database's SQL."""
    if dialect(session) == "postgresql":
        return sa.cast(sa.func.extract("epoch", later - earlier), sa.Float)
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


def interpolate(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of sorted ``values`` by linear interpolation (PostgreSQL's
    ``percentile_cont``), so both databases give the same figure."""
    if not values:
        raise ValueError("no values")
    position = q * (len(values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


Levels = Sequence[tuple[str, ...]]


async def percentiles(
    session: AsyncSession,
    seconds: ColumnElement[float],
    where: Sequence[ColumnElement[bool]],
    *,
    select_from: Any,
    keys: dict[str, Any] | None = None,
    levels: Levels = ((),),
    qs: Sequence[float] = PERCENTILES,
) -> list[dict[tuple[str, ...], list[float | None]]]:
    """Per level (a tuple of names of ``keys`` to group by; ``()`` for every row), ``{the
    group's values: [p for p in qs] + [count]}`` of ``seconds`` over the rows of
    ``select_from`` that match ``where``, every level from one read of the rows.

    PostgreSQL computes them itself (``percentile_cont``, the levels as ``GROUPING SETS``);
    SQLite has no percentile function, so its values are read once in order and interpolated
    the same way."""
    keys = keys or {}
    names = list(keys)
    if dialect(session) == "postgresql":
        return await _pg_percentiles(session, seconds, where, select_from, keys, levels, qs)
    stmt = (
        sa.select(*(keys[n].label(n) for n in names), seconds)
        .select_from(select_from)
        .where(*where)
        .order_by(seconds)
    )
    found: list[dict[tuple[str, ...], list[float]]] = [{} for _ in levels]
    at = [[names.index(n) for n in level] for level in levels]
    for *values, value in await fetch(session, stmt):
        if value is None:
            continue
        for i, positions in enumerate(at):
            group = tuple(str(values[p] or "") for p in positions)
            found[i].setdefault(group, []).append(float(value))
    return [
        {g: [*(interpolate(v, q) for q in qs), float(len(v))] for g, v in level.items()}
        for level in found
    ]


async def _pg_percentiles(
    session: AsyncSession,
    seconds: ColumnElement[float],
    where: Sequence[ColumnElement[bool]],
    select_from: Any,
    keys: dict[str, Any],
    levels: Levels,
    qs: Sequence[float],
) -> list[dict[tuple[str, ...], list[float | None]]]:
    names = list(keys)
    columns = [sa.func.percentile_cont(q).within_group(seconds) for q in qs]
    # grouping(a, b, ...) sets the bit of each key the row's level does not group by
    masks = {
        sum(1 << (len(names) - 1 - i) for i, n in enumerate(names) if n not in level): index
        for index, level in enumerate(levels)
    }
    mask: Any = sa.func.grouping(*keys.values()) if names else sa.literal(0)
    sets = [sa.tuple_(*(keys[n] for n in level)) if level else sa.text("()") for level in levels]
    stmt = (
        sa.select(*keys.values(), mask, *columns, sa.func.count(seconds))
        .select_from(select_from)
        .where(*where)
        .group_by(sa.func.grouping_sets(*sets) if names else sa.text("()"))
    )
    out: list[dict[tuple[str, ...], list[float | None]]] = [{} for _ in levels]
    for row in await fetch(session, stmt):
        values, level, figures = row[: len(names)], int(row[len(names)]), row[len(names) + 1 :]
        index = masks[level]
        if figures[-1]:
            group = tuple(str(values[names.index(n)] or "") for n in levels[index])
            out[index][group] = [None if v is None else float(v) for v in figures[:-1]]
            out[index][group].append(float(figures[-1]))
    return out
