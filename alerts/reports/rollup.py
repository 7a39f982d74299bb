"""Keeps the daily rollups current, incrementally: each refresh reads only the rows added to the
append-only source tables since its watermarks (their last ids), turns them into the UTC days
whose figures they change, drops those days from the rollup and rebuilds the days that are
missing (every whole day before today). A re-run with nothing new changes nothing.

What changes a day's figures, and how the refresh sees it:

- a new alert, decision, attempt, answer or hand-off: its id is past the watermark;
- an alert's or hand-off's status move (expired, reached, completed...): a new ``status_changes``
  row; an attempt's status (and the provider id that comes with it): a new ``attempt_events`` row;
- a customer's language or segment (the funnel's groups): the customer differs from the copy
  the rollup grouped by (``report_rollup_customers``).

Ids are handed out before commit, so a row with a lower id can become visible after one with a
higher id: a watermark only moves past rows older than ``GRACE`` (younger ones are read again
next time; reading a row twice only rebuilds a day twice).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.columns import utcnow
from alerts.models import (
    Alert,
    AttemptEvent,
    Customer,
    Decision,
    DeliveryAttempt,
    HandOff,
    Response,
    StatusChange,
)
from alerts.reports.base import DateRange
from alerts.reports.models import RollupCustomer, RollupDay, RollupMark, RollupTiming
from alerts.reports.rollup_build import ROLLUP_TABLES, statements
from alerts.reports.timings import TIMINGS, day_of

logger = logging.getLogger(__name__)

GRACE = timedelta(minutes=5)
# A refresh a report runs before reading rebuilds at most this many days; the others are read
# from the raw tables until a full refresh (the worker's job, `herald reports refresh`).
READ_BUDGET_DAYS = 2
LOCK_KEY = 0x4845524C  # "HERL": one refresh at a time on PostgreSQL
FIRST_DAY = "first_day"  # a mark holding the first day with data, as an ordinal
SOURCES: dict[str, Any] = {
    "alerts": Alert,
    "decisions": Decision,
    "delivery_attempts": DeliveryAttempt,
    "attempt_events": AttemptEvent,
    "responses": Response,
    "handoffs": HandOff,
    "status_changes": StatusChange,
}


@dataclass(slots=True)
class RefreshReport:
    changed_days: list[date] = field(default_factory=list)  # dropped: their figures moved
    built_days: list[date] = field(default_factory=list)
    left_days: int = 0  # still missing (over the budget): read raw until the next refresh
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "changed_days": [d.isoformat() for d in self.changed_days],
            "built_days": [d.isoformat() for d in self.built_days],
            "days_left": self.left_days,
            "seconds": round(self.seconds, 3),
        }


def _dialect(session: AsyncSession) -> str:
    return str(session.get_bind().dialect.name)


async def _scalar(session: AsyncSession, stmt: sa.Executable) -> Any:
    return (await (await session.connection()).execute(stmt)).scalar()


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


async def _marks(session: AsyncSession) -> dict[str, int]:
    rows = (
        await (await session.connection()).execute(
            sa.select(col(RollupMark.source), col(RollupMark.last_id))
        )
    ).all()
    return {str(s): int(n) for s, n in rows}


async def _save_mark(session: AsyncSession, source: str, value: int, now: datetime) -> None:
    table = RollupMark.__table__  # type: ignore[attr-defined]
    await (await session.connection()).execute(sa.delete(table).where(table.c.source == source))
    await (await session.connection()).execute(
        sa.insert(table).values(source=source, last_id=value, updated_at=now)
    )


async def _safe_marks(
    session: AsyncSession, marks: dict[str, int], now: datetime
) -> dict[str, int]:
    """Per source, the highest id up to which every row is older than ``GRACE`` (one
    statement: a primary-key range of each table past its watermark)."""
    parts = []
    for source, model in SOURCES.items():
        last = marks.get(source, 0)
        recent = sa.func.min(col(model.id)).filter(col(model.created_at) >= now - GRACE)
        parts.append(
            sa.select(sa.literal(source), recent, sa.func.max(col(model.id))).where(
                col(model.id) > last
            )
        )
    out: dict[str, int] = {}
    for source, recent, top in (
        await (await session.connection()).execute(sa.union_all(*parts))
    ).all():
        last = marks.get(str(source), 0)
        if recent is not None:
            out[str(source)] = max(last, int(recent) - 1)
        else:
            out[str(source)] = last if top is None else int(top)
    return out


def _customers_differ() -> sa.Select[Any]:
    """The customers whose language or segment differs from the rollup's copy."""
    copy = RollupCustomer.__table__  # type: ignore[attr-defined]
    return (
        sa.select(col(Customer.id))
        .select_from(Customer)
        .outerjoin(copy, copy.c.customer_id == col(Customer.id))
        .where(
            sa.or_(
                copy.c.customer_id.is_(None),
                copy.c.locale.is_distinct_from(col(Customer.locale)),
                copy.c.segment.is_distinct_from(col(Customer.segment)),
            )
        )
    )


async def _up_to_date(session: AsyncSession, marks: dict[str, int], today: date) -> bool:
    """Nothing to do, in one statement of primary-key lookups: no source has a row past its
    watermark, no customer differs from the rollup's copy, every day before ``today`` is
    built. (Rows younger than ``GRACE`` stay past the watermark, so for a few minutes after
    a write the full refresh runs; it changes nothing when they changed nothing.)"""
    if FIRST_DAY not in marks or any(s not in marks for s in SOURCES):
        return False
    first = date.fromordinal(marks[FIRST_DAY])
    new = [sa.exists().where(col(m.id) > marks[s]) for s, m in SOURCES.items()]
    built = sa.select(sa.func.count()).where(
        col(RollupDay.day) >= first, col(RollupDay.day) < today
    )
    stmt = sa.select(sa.or_(*new, sa.exists(_customers_differ())), built.scalar_subquery())
    if _dialect(session) == "postgresql":
        await (await session.connection()).execute(sa.text("SET LOCAL jit = off"))
    changed, days = (await (await session.connection()).execute(stmt)).one()
    return not changed and int(days or 0) >= (today - first).days


async def _changed_customers(session: AsyncSession, *, first: bool) -> list[int]:
    """Bring the rollup's copy of customers' language and segment up to date; the ids of those
    that changed (nothing on the first build: there is nothing built to correct)."""
    copy = RollupCustomer.__table__  # type: ignore[attr-defined]
    differs = _customers_differ()
    ids = [int(i or 0) for (i,) in (await (await session.connection()).execute(differs)).all()]
    for chunk in (ids[i : i + 5000] for i in range(0, len(ids), 5000)):
        await (await session.connection()).execute(
            sa.delete(copy).where(copy.c.customer_id.in_(chunk))
        )
        await (await session.connection()).execute(
            sa.insert(copy).from_select(
                ["customer_id", "locale", "segment"],
                sa.select(col(Customer.id), col(Customer.locale), col(Customer.segment)).where(
                    col(Customer.id).in_(chunk)
                ),
            )
        )
    return [] if first else ids


async def _ids(session: AsyncSession, stmt: sa.Select[Any]) -> set[int]:
    rows = (await (await session.connection()).execute(stmt)).all()
    return {int(i) for (i,) in rows if i is not None}


async def _touched(
    session: AsyncSession, marks: dict[str, int], customers: list[int]
) -> tuple[set[int], set[int]]:
    """The alert ids and the hand-off ids whose figures may have changed: each a range of the
    source table's primary key past its watermark (or the changed customers' alerts)."""

    def new(model: Any, source: str) -> Any:
        return col(model.id) > marks.get(source, 0)

    moves = marks.get("status_changes", 0)
    tagged: Any = sa.union_all(
        sa.select(sa.literal("h"), col(HandOff.id)).where(new(HandOff, "handoffs")),
        sa.select(col(StatusChange.entity), col(StatusChange.entity_id)).where(
            col(StatusChange.id) > moves
        ),
        sa.select(sa.literal("a"), col(Alert.id)).where(new(Alert, "alerts")),
        sa.select(sa.literal("a"), col(DeliveryAttempt.alert_id)).where(
            new(DeliveryAttempt, "delivery_attempts")
        ),
        sa.select(sa.literal("e"), col(AttemptEvent.attempt_id)).where(
            new(AttemptEvent, "attempt_events")
        ),
        sa.select(sa.literal("a"), col(Response.alert_id)).where(new(Response, "responses")),
    )
    alerts: set[int] = set()
    handoffs: set[int] = set()
    attempts: set[int] = set()
    for tag, found in (await (await session.connection()).execute(tagged)).all():
        if found is not None:
            {"h": handoffs, "handoff": handoffs, "e": attempts}.get(str(tag), alerts).add(
                int(found)
            )
    for chunk in _chunks(sorted(attempts)):
        alerts |= await _ids(
            session,
            sa.select(col(DeliveryAttempt.alert_id)).where(col(DeliveryAttempt.id).in_(chunk)),
        )
    for chunk in _chunks(sorted(handoffs)):
        alerts |= await _ids(
            session, sa.select(col(HandOff.alert_id)).where(col(HandOff.id).in_(chunk))
        )
    for chunk in _chunks(customers):
        alerts |= await _ids(
            session, sa.select(col(Alert.id)).where(col(Alert.customer_id).in_(chunk))
        )
    return alerts, handoffs


def _chunks(ids: list[int], size: int = 5000) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


async def _changed_days(
    session: AsyncSession, marks: dict[str, int], customers: list[int]
) -> set[date]:
    d = _dialect(session)
    alerts, handoffs = await _touched(session, marks, customers)
    queries: list[sa.Select[Any]] = [
        sa.select(day_of(d, col(Decision.created_at))).where(
            col(Decision.id) > marks.get("decisions", 0)
        )
    ]
    for chunk in _chunks(sorted(alerts)):
        queries.append(sa.select(day_of(d, col(Alert.created_at))).where(col(Alert.id).in_(chunk)))
        queries.append(
            sa.select(day_of(d, col(DeliveryAttempt.created_at))).where(
                col(DeliveryAttempt.alert_id).in_(chunk)
            )
        )
    for chunk in _chunks(sorted(handoffs)):
        queries.append(
            sa.select(day_of(d, col(HandOff.created_at))).where(col(HandOff.id).in_(chunk))
        )
    for chunk in _chunks(customers):  # a customer's language or segment: their decisions
        queries.append(
            sa.select(day_of(d, col(Decision.created_at))).where(
                col(Decision.customer_id).in_(chunk)
            )
        )
    days: set[date] = set()
    for q in queries:
        rows = (await (await session.connection()).execute(q.distinct())).all()
        days.update(_as_date(v) for (v,) in rows if v)
    return days


async def _first_day(session: AsyncSession, marks: dict[str, int]) -> date | None:
    if FIRST_DAY in marks:
        return date.fromordinal(marks[FIRST_DAY])
    firsts = [
        await _scalar(session, sa.select(sa.func.min(col(model.created_at))))
        for model in (Alert, Decision, DeliveryAttempt, HandOff)
    ]
    found = [_as_date(f) for f in firsts if f is not None]
    return min(found) if found else None


async def _drop_days(session: AsyncSession, days: list[date]) -> None:
    for chunk in (days[i : i + 500] for i in range(0, len(days), 500)):
        for model in ROLLUP_TABLES:
            table: Any = model.__table__  # type: ignore[union-attr]
            where = [table.c.day.in_(chunk)]
            if model is RollupTiming:  # its index leads with the kind
                where.append(table.c.kind.in_(list(TIMINGS)))
            await (await session.connection()).execute(sa.delete(table).where(*where))
        await (await session.connection()).execute(
            sa.delete(RollupDay).where(col(RollupDay.day).in_(chunk))
        )


async def _build(session: AsyncSession, days: list[date], now: datetime) -> None:
    """Build the rollup of ``days`` (none of them built), a run of consecutive days at once."""
    dialect = _dialect(session)
    for run in _runs(days):
        for stmt in statements(dialect, run):
            await (await session.connection()).execute(stmt)
    marker = RollupDay.__table__  # type: ignore[attr-defined]
    for chunk in (days[i : i + 500] for i in range(0, len(days), 500)):
        await (await session.connection()).execute(
            sa.insert(marker), [{"day": d, "built_at": now} for d in chunk]
        )


def _runs(days: list[date]) -> list[DateRange]:
    """Consecutive days as ranges: [1, 2, 3, 7] -> [1..3, 7..7]."""
    runs: list[DateRange] = []
    for day in sorted(days):
        if runs and runs[-1].last + timedelta(days=1) == day:
            runs[-1] = DateRange(runs[-1].first, day)
        else:
            runs.append(DateRange(day, day))
    return runs


async def _lock(session: AsyncSession) -> None:
    if _dialect(session) == "postgresql":
        await (await session.connection()).execute(sa.text("SET LOCAL jit = off"))
        await (await session.connection()).execute(
            sa.select(sa.func.pg_advisory_xact_lock(LOCK_KEY))
        )


async def refresh_rollups(
    *,
    session: AsyncSession,
    today: date,
    budget_days: int | None = None,
    now: datetime | None = None,
) -> RefreshReport:
    """Bring the rollups up to date for every whole day before ``today`` (at most
    ``budget_days`` days rebuilt, newest first) and commit."""
    began = utcnow()
    now = now or began
    report = RefreshReport()
    if await _up_to_date(session, await _marks(session), today):
        await session.commit()
        report.seconds = (utcnow() - began).total_seconds()
        return report
    await _lock(session)
    marks = await _marks(session)
    first_build = not any(s in marks for s in SOURCES)
    customers = await _changed_customers(session, first=first_build)
    earliest: date | None = None
    if not first_build:
        built = set(await _built_days(session))
        touched = await _changed_days(session, marks, customers)
        earliest = min(touched, default=None)
        changed = sorted(d for d in touched if d in built)
        await _drop_days(session, changed)
        report.changed_days = changed
    for source, mark in (await _safe_marks(session, marks, now)).items():
        if mark != marks.get(source):
            await _save_mark(session, source, mark, now)
    first = await _first_day(session, marks)
    if earliest is not None:
        first = earliest if first is None else min(first, earliest)
    if first is not None:
        if min(first, today).toordinal() != marks.get(FIRST_DAY):
            await _save_mark(session, FIRST_DAY, min(first, today).toordinal(), now)
        built = set(await _built_days(session))
        missing = [
            first + timedelta(days=i)
            for i in range((today - first).days)
            if first + timedelta(days=i) not in built
        ]
        missing.sort(reverse=True)
        chosen = missing if budget_days is None else missing[:budget_days]
        await _build(session, chosen, now)
        if len(chosen) > READ_BUDGET_DAYS and _dialect(session) == "postgresql":
            for model in ROLLUP_TABLES:  # the planner's statistics for the tables just filled
                table: Any = model.__table__  # type: ignore[union-attr]
                await (await session.connection()).execute(sa.text(f"ANALYZE {table.name}"))
        report.built_days, report.left_days = sorted(chosen), len(missing) - len(chosen)
    await session.commit()
    report.seconds = (utcnow() - began).total_seconds()
    if report.built_days or report.changed_days:
        logger.info("report rollups refreshed: %s", report.as_json())
    return report


async def _built_days(session: AsyncSession) -> list[date]:
    rows = (await (await session.connection()).execute(sa.select(col(RollupDay.day)))).all()
    return [_as_date(d) for (d,) in rows]
