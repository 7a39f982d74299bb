"""The inbound-call import and calls avoided, counted by hand, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal

import pytest

from alerts.reports.base import DateRange
from alerts.reports.calls import CallImportError, calls_avoided, cost_per_call, import_calls
from herald.runtime import Runtime
from tests.service.alerts.reports.scenario import NOVEMBER
from tests.service.alerts.reports.seed import Seeder, Try, day


def _csv(rows: list[tuple[date, str, int, str]]) -> str:
    lines = ["date,reason,calls,alert_type"]
    lines += [f"{d.isoformat()},{reason},{n},{t}" for d, reason, n, t in rows]
    return "\n".join(lines) + "\n"


def _days(first: date, n: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(n)]


async def test_the_import_reports_bad_lines_and_a_second_import_replaces(runtime: Runtime) -> None:
    text = (
        "Date,Reason,Calls\n"
        "2026-11-01,card query,12\n"
        "01/11/2026,card query,3\n"
        "2026-11-02,card query,many\n"
        "2026-11-02,,4\n"
        "2026-11-02,card query,7\n"
    )
    async with runtime.deps.sessions() as session:
        report = await import_calls(session=session, text=text, filename="tel.csv")
        assert (report.rows, report.imported, report.replaced) == (5, 2, 0)
        assert report.errors == [
            "line 3: date “01/11/2026” is not a date (use 2026-01-31)",
            "line 4: calls “many” is not a whole number of 0 or more",
            "line 5: reason must be 1 to 100 characters",
        ]
        again = await import_calls(
            session=session, text="date,reason,calls\n2026-11-01,card query,20\n", filename="b.csv"
        )
        assert (again.imported, again.replaced, again.errors) == (0, 1, [])
        result = await calls_avoided(session=session, period=NOVEMBER)
        assert (result.imported_days, result.imported_calls, result.unlinked_calls) == (2, 27, 27)
        assert result.first_day == date(2026, 11, 1) and result.last_day == date(2026, 11, 2)
        semicolons = "date;reason;calls;alert_type\n2026-11-03;card query;4;large_debit\n"
        third = await import_calls(session=session, text=semicolons, filename="excel.csv")
        assert (third.imported, third.errors) == (1, [])
        with pytest.raises(CallImportError, match="missing: calls"):
            await import_calls(session=session, text="date,reason\n", filename="c.csv")


async def test_calls_avoided_per_day_against_the_baseline(november: Runtime) -> None:
    # large_debit went live on 2026-10-15 (its first alert). 30 days before: 10 calls a day;
    # November: 6 a day, and 50 general enquiries that no alert type is about.
    before = [(d, "card query", 10, "large_debit") for d in _days(date(2026, 9, 15), 30)]
    after = [(d, "card query", 6, "large_debit") for d in _days(date(2026, 11, 1), 30)]
    other = [(date(2026, 11, 2), "general enquiry", 50, "")]
    async with november.deps.sessions() as session:
        await import_calls(session=session, text=_csv(before + after + other), filename="t.csv")
        result = await calls_avoided(session=session, period=NOVEMBER, cost=Decimal("5.00"))
    rows = {r.alert_type: r for r in result.rows}
    large = rows["large_debit"]
    assert large.live_from == date(2026, 10, 15) and large.has_baseline
    assert large.per == "day"  # no large_debit event was decided before it went live
    assert (large.before.days, large.before.calls, large.after.days, large.after.calls) == (
        30,
        300,
        30,
        180,
    )
    assert (large.rate_before, large.rate_after) == (10, 6)
    assert large.expected_after == 300 and large.avoided == 120
    half = 1.96 * math.sqrt(180 + 300)
    low, high = large.interval or (0, 0)
    assert (low, high) == pytest.approx((120 - half, 120 + half))
    assert large.saving(Decimal("5.00")) == Decimal("600.00")
    assert large.self_served == 1  # alert 1: "it was me", no agent
    assert not large.small_numbers
    assert not rows["payment_received"].has_baseline  # no calls are about it
    assert result.unlinked_calls == 50 and result.imported_days == 60
    as_json = result.as_json()["alert_types"][0]
    assert as_json["calls_avoided"] == 120 and as_json["saving"] == "600.00"


async def test_calls_avoided_per_1000_events_with_small_numbers(runtime: Runtime) -> None:
    async with runtime.deps.sessions() as session:
        s = Seeder(session)
        c = await s.customer("L")
        for _ in range(4):  # decided while the alert type was still disabled
            await s.skip(c, "low_balance", day(20, month=9), "the alert type is disabled")
        await s.alert(c, "low_balance", day(3), Try("sms", "delivered"))
        await s.alert(c, "low_balance", day(3, hour=15), Try("sms", "delivered"))
        await session.commit()
        text = _csv(
            [
                (date(2026, 9, 20), "balance", 8, "low_balance"),
                (date(2026, 11, 3), "balance", 1, "low_balance"),
            ]
        )
        await import_calls(session=session, text=text, filename="t.csv")
        result = await calls_avoided(session=session, period=NOVEMBER)
    (row,) = result.rows
    assert row.per == "1000 events"
    assert (row.before.events, row.after.events) == (4, 2)
    assert row.rate_before == pytest.approx(2000) and row.rate_after == pytest.approx(500)
    assert row.avoided == pytest.approx(3)
    low, high = row.interval or (0, 0)
    half = 1.96 * math.sqrt(1 + 0.25 * 8)
    assert (low, high) == pytest.approx((3 - half, 3 + half))
    assert row.small_numbers


async def test_without_an_import_there_is_no_baseline(november: Runtime) -> None:
    async with november.deps.sessions() as session:
        result = await calls_avoided(
            session=session, period=DateRange(date(2026, 11, 1), date(2026, 11, 30))
        )
    assert result.imported_days == 0
    rows = {r.alert_type: r for r in result.rows}
    assert not rows["large_debit"].has_baseline and rows["large_debit"].avoided is None
    assert rows["large_debit"].self_served == 1


def test_the_cost_per_call_is_read_as_typed() -> None:
    assert cost_per_call("") == Decimal("5.00")
    assert cost_per_call("4,5") == Decimal("4.50")
    with pytest.raises(ValueError, match="not an amount"):
        cost_per_call("five")
    with pytest.raises(ValueError, match="between"):
        cost_per_call("-1")
