"""Calls avoided: the telephony system's inbound call counts (a CSV import), and per alert type
the calls before it went live against after, per 1,000 events (or per day), with an interval.

The method, as the page states it: the baseline rate is the calls about the alert type's reason
per 1,000 of its events (per day when either period has no events) on the days before its first
alert; the calls expected after go-live are that rate times the events (or days) after; the calls
avoided are expected minus received. Call counts are treated as Poisson, so the 95 % interval is
``avoided ± 1.96 · sqrt(received_after + (exposure_after / exposure_before)² · calls_before)``
(the normal approximation; it is wide when the counts are small, and the page says so).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts import audit
from alerts.columns import utcnow
from alerts.reports.base import DateRange, fetch
from alerts.reports.calls_counts import (
    View,
    daily_calls,
    daily_events,
    daily_self_served,
    go_live_days,
    sum_days,
)
from alerts.reports.funnel import NO_TYPE
from alerts.reports.models import InboundCallCount

COLUMNS = ("date", "reason", "calls")  # required; "alert_type" is optional
OPTIONAL = ("alert_type",)
DEFAULT_COST_PER_CALL = Decimal("5.00")
Z95 = 1.96
# Below this many calls in either period the page says the range is wide: a few calls more or
# less would change the figure a lot.
SMALL_COUNTS = 30
MAX_ROWS = 100_000
MAX_ERRORS = 50


class CallImportError(ValueError):
    """A file that cannot be imported at all (no header, wrong columns)."""


@dataclass(slots=True)
class CallImportReport:
    filename: str
    rows: int = 0
    imported: int = 0
    replaced: int = 0
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "rows": self.rows,
            "imported": self.imported,
            "replaced": self.replaced,
            "rejected": len(self.errors),
            "errors": self.errors[:MAX_ERRORS],
        }


def _parse_row(row: dict[str, str], line: int) -> tuple[date, str, str, int]:
    raw_day = (row.get("date") or "").strip()
    try:
        day = date.fromisoformat(raw_day)
    except ValueError:
        raise ValueError(f"line {line}: date “{raw_day}” is not a date (use 2026-01-31)") from None
    reason = (row.get("reason") or "").strip()
    if not reason or len(reason) > 100:
        raise ValueError(f"line {line}: reason must be 1 to 100 characters")
    alert_type = (row.get("alert_type") or "").strip()
    if len(alert_type) > 64:
        raise ValueError(f"line {line}: alert_type is longer than 64 characters")
    raw_calls = (row.get("calls") or "").strip()
    if not raw_calls.isdigit():
        raise ValueError(f"line {line}: calls “{raw_calls}” is not a whole number of 0 or more")
    return day, reason, alert_type, int(raw_calls)


async def import_calls(*, session: AsyncSession, text: str, filename: str) -> CallImportReport:
    """Store every good row of a CSV export (columns ``date, reason, calls[, alert_type]``,
    separated by commas, semicolons or tabs); a day and reason already imported get the new
    count. Bad rows are reported by line."""
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    # Spreadsheets in many countries export with ";" (or a tab) between the columns.
    delimiter = next((d for d in (",", ";", "\t") if d in first_line), ",")
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise CallImportError(
            f"{filename}: the first line must name the columns {', '.join(COLUMNS)} "
            f"(and optionally {', '.join(OPTIONAL)}); missing: {', '.join(missing)}"
        )
    reader.fieldnames = header
    report = CallImportReport(filename=filename[:200])
    parsed: dict[tuple[date, str], tuple[str, int]] = {}
    for line, row in enumerate(reader, start=2):
        report.rows += 1
        if report.rows > MAX_ROWS:
            raise CallImportError(f"{filename}: more than {MAX_ROWS} rows: split the file")
        try:
            day, reason, alert_type, calls = _parse_row(row, line)
        except ValueError as exc:
            report.errors.append(str(exc))
            continue
        parsed[(day, reason)] = (alert_type, calls)
    existing = {
        (r.day, r.reason): r
        for r in (
            await session.exec(
                select(InboundCallCount).where(
                    col(InboundCallCount.day).in_({d for d, _ in parsed})
                )
            )
        ).all()
    }
    now = utcnow()
    for (day, reason), (alert_type, calls) in parsed.items():
        found = existing.get((day, reason))
        if found is None:
            session.add(
                InboundCallCount(
                    day=day,
                    reason=reason,
                    alert_type=alert_type,
                    calls=calls,
                    source=report.filename,
                    imported_at=now,
                )
            )
            report.imported += 1
        else:
            found.alert_type, found.calls = alert_type, calls
            found.source, found.imported_at = report.filename, now
            session.add(found)
            report.replaced += 1
    audit.record(
        session,
        kind="inbound_calls",
        entity_id=report.filename,
        action="import",
        after={
            "imported": report.imported,
            "replaced": report.replaced,
            "rejected": len(report.errors),
        },
    )
    await session.commit()
    return report


# --- the report --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    first: date | None
    last: date | None
    days: int
    calls: int
    events: int


@dataclass(frozen=True, slots=True)
class CallsAvoided:
    alert_type: str
    live_from: date | None  # the day of the alert type's first alert
    before: Period
    after: Period
    per: str  # "1000 events" | "day"
    self_served: int  # alerts resolved after go-live without an agent (a lower bound)
    linked_calls: int  # every imported call about this alert type, any day

    @property
    def has_baseline(self) -> bool:
        """Imported calls about this alert type, on days before and after it went live."""
        return self.linked_calls > 0 and self.before.days > 0 and self.after.days > 0

    def _exposure(self, p: Period) -> float:
        return p.events / 1000 if self.per == "1000 events" else float(p.days)

    @property
    def rate_before(self) -> float | None:
        e = self._exposure(self.before)
        return self.before.calls / e if self.has_baseline and e else None

    @property
    def rate_after(self) -> float | None:
        e = self._exposure(self.after)
        return self.after.calls / e if self.has_baseline and e else None

    @property
    def expected_after(self) -> float | None:
        rate = self.rate_before
        return None if rate is None else rate * self._exposure(self.after)

    @property
    def avoided(self) -> float | None:
        expected = self.expected_after
        return None if expected is None else expected - self.after.calls

    @property
    def interval(self) -> tuple[float, float] | None:
        avoided, before = self.avoided, self._exposure(self.before)
        if avoided is None or not before:
            return None
        ratio = self._exposure(self.after) / before
        half = Z95 * math.sqrt(self.after.calls + ratio * ratio * self.before.calls)
        return avoided - half, avoided + half

    @property
    def small_numbers(self) -> bool:
        return min(self.before.calls, self.after.calls) < SMALL_COUNTS

    def saving(self, cost_per_call: Decimal) -> Decimal | None:
        return None if self.avoided is None else _money(self.avoided, cost_per_call)

    def saving_interval(self, cost_per_call: Decimal) -> tuple[Decimal, Decimal] | None:
        if self.interval is None:
            return None
        low, high = self.interval
        return _money(low, cost_per_call), _money(high, cost_per_call)

    def as_json(self, cost_per_call: Decimal) -> dict[str, Any]:
        def period(p: Period) -> dict[str, Any]:
            return {
                "from": p.first.isoformat() if p.first else None,
                "to": p.last.isoformat() if p.last else None,
                "days": p.days,
                "calls": p.calls,
                "events": p.events,
            }

        interval = self.interval
        saving_interval = self.saving_interval(cost_per_call)
        saving = self.saving(cost_per_call)
        return {
            "alert_type": self.alert_type,
            "live_from": self.live_from.isoformat() if self.live_from else None,
            "has_baseline": self.has_baseline,
            "rate_per": self.per,
            "before": period(self.before),
            "after": period(self.after),
            "calls_per_unit_before": self.rate_before,
            "calls_per_unit_after": self.rate_after,
            "expected_calls_after": self.expected_after,
            "calls_avoided": self.avoided,
            "calls_avoided_95": list(interval) if interval else None,
            "small_numbers": self.small_numbers,
            "saving": str(saving) if saving is not None else None,
            "saving_95": [str(v) for v in saving_interval] if saving_interval else None,
            "self_served_after": self.self_served,
            "linked_calls": self.linked_calls,
        }


def _money(calls: float, cost: Decimal) -> Decimal:
    return (Decimal(str(round(calls, 2))) * cost).quantize(Decimal("0.01"))


def cost_per_call(value: str | None) -> Decimal:
    """The cost of one call a person typed (``4.50``); the default when empty."""
    if value is None or not value.strip():
        return DEFAULT_COST_PER_CALL
    try:
        cost = Decimal(value.strip().replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"cost per call “{value}” is not an amount: use the form 4.50") from None
    if not cost.is_finite() or cost < 0 or cost > 10_000:
        raise ValueError("cost per call must be between 0 and 10000")
    return cost.quantize(Decimal("0.01"))


@dataclass(frozen=True, slots=True)
class CallsReport:
    range: DateRange
    cost_per_call: Decimal
    imported_days: int
    imported_calls: int
    unlinked_calls: int  # calls whose reason names no alert type
    first_day: date | None
    last_day: date | None
    rows: list[CallsAvoided]

    def as_json(self) -> dict[str, Any]:
        return {
            "range": self.range.as_json(),
            "cost_per_call": str(self.cost_per_call),
            "imported_days": self.imported_days,
            "imported_calls": self.imported_calls,
            "calls_not_linked_to_an_alert_type": self.unlinked_calls,
            "import_from": self.first_day.isoformat() if self.first_day else None,
            "import_to": self.last_day.isoformat() if self.last_day else None,
            "alert_types": [r.as_json(self.cost_per_call) for r in self.rows],
        }


async def _covered_days(session: AsyncSession) -> list[date]:
    stmt = sa.select(col(InboundCallCount.day)).distinct().order_by(col(InboundCallCount.day))
    return [d for (d,) in await fetch(session, stmt)]


async def calls_avoided(
    *,
    session: AsyncSession,
    period: DateRange,
    cost: Decimal = DEFAULT_COST_PER_CALL,
    today: date | None = None,
    rollup: bool = True,
) -> CallsReport:
    """Calls avoided per alert type that has imported calls or alerts in ``period``."""
    covered = await _covered_days(session)
    view = View(today, rollup)
    go_live = await go_live_days(session, period, view)
    totals = await fetch(
        session,
        sa.select(
            col(InboundCallCount.alert_type), sa.func.sum(col(InboundCallCount.calls))
        ).group_by(col(InboundCallCount.alert_type)),
    )
    by_type = {str(t): int(n or 0) for t, n in totals}
    types = sorted((set(by_type) - {""}) | set(go_live))
    calls = await daily_calls(session)
    # Every period below is a span of imported days: their decisions, day by day, at once.
    span = DateRange(covered[0], covered[-1]) if covered else None
    events = await daily_events(session, span, view)
    served = await daily_self_served(session, period, view)
    rows = []
    for alert_type in types:
        if alert_type == NO_TYPE:
            continue
        live = go_live.get(alert_type)
        before_days = [d for d in covered if live is not None and d < live]
        after_days = [
            d
            for d in covered
            if live is not None and d >= live and period.first <= d <= period.last
        ]
        if live is None:  # calls imported for an alert type that never sent anything yet
            before_days = [d for d in covered if d <= period.last]
        before = Period(
            before_days[0] if before_days else None,
            before_days[-1] if before_days else None,
            len(before_days),
            sum_days(calls, alert_type, before_days),
            sum_days(events, alert_type, before_days),
        )
        after = Period(
            after_days[0] if after_days else None,
            after_days[-1] if after_days else None,
            len(after_days),
            sum_days(calls, alert_type, after_days),
            sum_days(events, alert_type, after_days),
        )
        per = "1000 events" if before.events and after.events else "day"
        self_served = 0 if live is None else sum_days(served, alert_type, [live, period.last])
        rows.append(
            CallsAvoided(
                alert_type, live, before, after, per, self_served, by_type.get(alert_type, 0)
            )
        )
    return CallsReport(
        range=period,
        cost_per_call=cost,
        imported_days=len(covered),
        imported_calls=sum(by_type.values()),
        unlinked_calls=by_type.get("", 0),
        first_day=covered[0] if covered else None,
        last_day=covered[-1] if covered else None,
        rows=rows,
    )


def baseline_window(live: date, days: int) -> DateRange:
    """The ``days`` before ``live`` (what to export from the telephony system)."""
    return DateRange(live - timedelta(days=days), live - timedelta(days=1))
