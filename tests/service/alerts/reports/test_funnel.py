"""The funnel counted by hand (tests/service/alerts/reports/scenario.py), on SQLite and
PostgreSQL: totals, shares, skip reasons, and by channel, language and segment."""

from __future__ import annotations

import pytest

from alerts.reports.base import ReportInputError
from alerts.reports.funnel import FunnelFilters, funnel
from herald.runtime import Runtime
from tests.service.alerts.reports.scenario import NOVEMBER


async def _funnel(runtime: Runtime, **filters: str) -> dict[tuple[str, str], dict[str, object]]:
    async with runtime.deps.sessions() as session:
        result = await funnel(session=session, period=NOVEMBER, filters=FunnelFilters(**filters))
    return {(r.alert_type, r.group): r.as_json() for r in result.rows}


def _steps(row: dict[str, object]) -> tuple[object, ...]:
    names = ("events", "alerts", "sent", "delivered", "responded", "routed", "resolved")
    return (*(row[n] for n in names), row["expired"], row["failed"])


async def test_the_funnel_of_each_alert_type(november: Runtime) -> None:
    rows = await _funnel(november)
    assert set(rows) == {("large_debit", ""), ("payment_received", "")}
    large = rows[("large_debit", "")]
    assert _steps(large) == (10, 6, 5, 4, 3, 2, 2, 1, 1)
    assert large["skipped"] == 4
    assert large["skip_reasons"] == {
        "condition not met": 2,
        "customer opted out": 1,
        "duplicate within the dedupe window": 1,
    }
    shares = large["share_of_previous_step"]
    assert isinstance(shares, dict)
    assert shares["events"] is None
    assert shares["alerts"] == pytest.approx(6 / 10)
    assert shares["sent"] == pytest.approx(5 / 6)
    assert shares["responded"] == pytest.approx(3 / 4)
    assert shares["resolved"] == pytest.approx(2 / 2)
    assert _steps(rows[("payment_received", "")]) == (1, 1, 1, 1, 0, 0, 0, 0, 0)


async def test_grouped_by_the_first_channel_tried(november: Runtime) -> None:
    rows = await _funnel(november, alert_type="large_debit", group_by="channel")
    assert set(rows) == {("large_debit", g) for g in ("voice", "sms", "not sent")}
    # Events have no channel: by channel the funnel starts at the alerts.
    assert _steps(rows[("large_debit", "voice")]) == (None, 4, 4, 3, 3, 2, 2, 0, 1)
    assert _steps(rows[("large_debit", "sms")]) == (None, 1, 1, 1, 0, 0, 0, 0, 0)
    assert _steps(rows[("large_debit", "not sent")]) == (None, 1, 0, 0, 0, 0, 0, 1, 0)


async def test_by_language_and_filtered_by_segment_and_channel(november: Runtime) -> None:
    rows = await _funnel(november, alert_type="large_debit", group_by="language")
    assert _steps(rows[("large_debit", "en")]) == (6, 4, 3, 2, 2, 1, 2, 1, 1)
    assert _steps(rows[("large_debit", "nl")]) == (4, 2, 2, 2, 1, 1, 0, 0, 0)
    rows = await _funnel(november, segment="business")
    assert _steps(rows[("large_debit", "")]) == (4, 2, 2, 2, 1, 1, 0, 0, 0)
    assert ("payment_received", "") not in rows
    rows = await _funnel(november, channel="sms")
    assert _steps(rows[("large_debit", "")]) == (None, 1, 1, 1, 0, 0, 0, 0, 0)


def test_an_unknown_grouping_is_refused_with_the_choices() -> None:
    with pytest.raises(ReportInputError, match="channel, language, segment"):
        FunnelFilters(group_by="colour")
