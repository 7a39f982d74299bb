"""The reports benchmark in its short form (what `make bench` runs with a million alerts on
PostgreSQL): it generates the data it says on both databases, and every report runs over it."""

from __future__ import annotations

from benchmarks.reports import run


async def test_the_short_benchmark_generates_and_times_every_report(database_url: str) -> None:
    result = await run(database_url, alerts=2000)
    assert result.rows["alerts"] == 2000 and result.rows["decisions"] == 2500
    # Every alert with an attempt but those failing at once (n % 50 == 7), and the fallbacks.
    assert result.rows["reached"] == 1900 - 300 - 40 + 300
    assert result.check["alerts"] == 2000 and result.check["events"] == 2500
    assert set(result.seconds) == {
        "funnel",
        "funnel by channel",
        "response rates",
        "delivery health",
        "calls avoided",
        "customers' choices",
        "hand-offs",
        "funnel, all 60 days",
    }
    assert all(s >= 0 for s in result.seconds.values())
    # The rollups were built, followed the late answers, and every report read from them gave
    # the raw tables' figures.
    assert result.rollup["built_days"] == 59 and result.rollup["late_answers"] > 0
    assert result.rollup["refreshed_days"] and result.rollup["differ_from_raw"] == []
    assert set(result.rollup["raw_seconds"]) == set(result.seconds)
