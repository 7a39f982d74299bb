"""Real Chromium: a supervisor opens each report on a hand-counted November
(tests/service/alerts/reports/scenario.py, plus imported call counts and preference changes),
finds each chart drawn and the numbers the test counted; an admin imports call counts through
the upload form. Screenshots of every report at 1280 and 390 pixels."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import JsonValue

from admin_ui.users import create_user
from alerts.models import PreferenceChange
from alerts.reports.calls import import_calls
from channels.twilio_sim import LoopbackServer
from herald.app import create_app
from herald.config import Settings
from herald.runtime import Runtime
from tests.browser.test_admin_browser import browser  # noqa: F401  (the Chromium fixture)
from tests.service.alerts.reports.scenario import seed_november
from tests.service.alerts.reports.seed import Answer, Try, day
from tests.service.alerts.reports.test_handoffs import seed_handoffs

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"
WIDTHS = (1280, 390)
NOV = "since=2026-11-01&until=2026-11-30"


@pytest.fixture
async def server(settings: Settings, runtime: Runtime) -> AsyncIterator[str]:
    async with runtime.deps.sessions() as session:
        s = await seed_november(session)
        await create_user(session=session, username="sam", password=PASSWORD, role="supervisor")
        await create_user(session=session, username="root", password=PASSWORD, role="admin")
        customer_id = s.alerts[0].customer_id
        low = await s.customer("LB")
        for i in range(20):  # enough SMS for a rate: with November's 2, 6 of 22 answered
            answers = (Answer("confirm", channel="sms"),) if i < 5 else ()
            await s.alert(
                low, "low_balance", day(11 + i // 2), Try("sms", "delivered"), answers=answers
            )
        changes: list[tuple[int, dict[str, JsonValue]]] = [
            (2, {"opted_out": True}),
            (2, {"opted_out": True}),
            (9, {"language": "nl"}),
        ]
        for d, after in changes:
            session.add(
                PreferenceChange(
                    customer_id=customer_id,
                    alert_type="large_debit",
                    actor="customer (preferences page)",
                    before={},
                    after=after,
                    created_at=day(d),
                )
            )
        await session.commit()
        # large_debit went live on 2026-10-15: 20 calls a day for 4 weeks before, 14 a day after.
        lines = ["date,reason,calls,alert_type"]
        first = date(2026, 9, 17)
        lines += [f"{first + timedelta(days=i)},card query,20,large_debit" for i in range(28)]
        lines += [
            f"{date(2026, 11, 1) + timedelta(days=i)},card query,14,large_debit" for i in range(30)
        ]
        await import_calls(session=session, text="\n".join(lines) + "\n", filename="seed.csv")
    await seed_handoffs(runtime)
    api = LoopbackServer(create_app(settings, runtime), port=settings.api_port)
    async with api:
        yield api.url


async def _log_in(page: Any, url: str, username: str) -> None:
    await page.goto(f"{url}/admin/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r".*/admin/customers$"))


async def _shots(page: Any, tmp_path: Path, name: str) -> None:
    """A screenshot at each width; on none does the page scroll sideways."""
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        await page.screenshot(path=tmp_path / f"report-{name}-{width}.png", full_page=True)
        assert await page.evaluate("document.documentElement.scrollWidth") <= width, name
    await page.set_viewport_size({"width": WIDTHS[0], "height": 900})


async def _chart(page: Any, name: str) -> list[str]:
    """The chart ``name`` is drawn: an SVG with bars of non-zero width; its bars' texts."""
    svg = page.locator(f'svg[data-chart="{name}"]')
    assert await svg.count() == 1, name
    widths = await svg.locator("rect.bar").evaluate_all(
        "rs => rs.map(r => r.getBoundingClientRect().width)"
    )
    assert widths and max(widths) > 10, (name, widths)
    return [t.strip() for t in await svg.locator("text.value").all_text_contents()]


async def test_a_supervisor_reads_each_report(
    server: str,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    ctx = await browser.new_context()
    page = await ctx.new_page()
    await _log_in(page, server, "sam")
    await page.get_by_role("link", name="Reports", exact=True).click()
    await page.wait_for_url(re.compile(r".*/admin/reports$"))
    await _shots(page, tmp_path, "index")

    await page.goto(f"{server}/admin/reports/funnel?{NOV}")
    await page.get_by_label("Alert type", exact=True).select_option("large_debit")
    await page.get_by_role("button", name="Show").click()
    await page.wait_for_url(re.compile(r".*alert_type=large_debit.*"))
    values = await _chart(page, "funnel")
    assert values[:3] == ["10", "6 · 60%", "5 · 83%"]
    assert values[-1] == "2 · 100%"
    table = await page.get_by_role("table").first.inner_text()
    assert "Large debit\t10\t6" in table and "EXPIRED" in table.upper()
    as_of = await page.locator(".as-of").inner_text()
    assert as_of.startswith("Figures as of ") and "today from the live records" in as_of
    await _shots(page, tmp_path, "funnel")
    await page.get_by_label("Split by", exact=True).select_option("channel")
    await page.get_by_role("button", name="Show").click()
    await page.wait_for_url(re.compile(r".*group_by=channel.*"))
    assert "not sent" in await page.get_by_role("table").first.inner_text()
    await _shots(page, tmp_path, "funnel-by-channel")

    await page.goto(f"{server}/admin/reports/response-rates?{NOV}")
    svg = page.locator('svg[data-chart="rates"]')
    texts = await svg.locator("text.value").all_text_contents()
    assert texts == [
        "1 alert: too few for a rate (needs 20)",
        "27% of 22 alerts",
        "2 alerts: too few for a rate (needs 20)",
    ]
    assert await _chart(page, "rates") == texts  # one bar drawn: the SMS rate
    await _shots(page, tmp_path, "response-rates")

    await page.goto(f"{server}/admin/reports/delivery?{NOV}&alert_type=large_debit")
    assert await _chart(page, "failures") == ["1"]
    latency = await _chart(page, "latency")
    assert latency == ["1 min 15 s", "1 min 24 s", "1 min 25 s"]  # of 65, 70, 75, 80 and 85 s
    glance = await page.get_by_role("region", name="At a glance").inner_text()
    assert "Attempts\n8" in glance and "Fallbacks\n2" in glance
    await _shots(page, tmp_path, "delivery")

    await page.goto(f"{server}/admin/reports/calls-avoided?{NOV}")
    calls = await _chart(page, "calls")
    assert calls == ["20.0 calls a day", "14.0 calls a day"]
    row = await page.get_by_role("row", name=re.compile("Large debit")).first.inner_text()
    assert "180" in row and "900.00" in row  # 20 a day for 30 days expected, 420 received, at 5.00
    assert await page.get_by_role("button", name="Import call counts").count() == 0
    await _shots(page, tmp_path, "calls-avoided")

    await page.goto(f"{server}/admin/reports/choices?{NOV}")
    svg = page.locator('svg[data-chart="optouts"]')
    heights = await svg.locator("rect.bar").evaluate_all(
        "rs => rs.map(r => r.getBoundingClientRect().height)"
    )
    assert len(heights) == 30 and max(heights) > 50 and sorted(heights)[-2] == 0
    summary = await page.get_by_role("region", name="Customers' choices").inner_text()
    assert "Opted out\n2" in summary
    days = page.get_by_role("table", name="Days with opt-outs or withdrawn consent")
    assert "2026-11-02\t2\t0\t0" in await days.inner_text()
    await _shots(page, tmp_path, "choices")

    await page.goto(f"{server}/admin/reports/handoffs?{NOV}")
    queues = await _chart(page, "handoffs")
    # November's two hand-offs (no agent yet) and seed_handoffs': 2 of 3 live transfers
    # answered within 20 s; the callback claimed after 10 minutes.
    assert queues == ["67% of 3 answered", "0% of 1 answered"]
    row = await page.get_by_role("row", name=re.compile("Live transfers")).inner_text()
    assert "25.0%" in row and "over 3%" in row and "busiest: 3 from 2026-11-02 10:00 UTC" in row
    await _shots(page, tmp_path, "handoffs")
    await ctx.close()


async def test_an_admin_imports_call_counts_through_the_form(
    server: str,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    upload = tmp_path / "calls.csv"
    upload.write_text("date,reason,calls,alert_type\n2026-11-02,card query,3,large_debit\nbad\n")
    ctx = await browser.new_context()
    page = await ctx.new_page()
    await _log_in(page, server, "root")
    await page.goto(f"{server}/admin/reports/calls-avoided")
    await page.get_by_label("CSV file from the telephony system").set_input_files(upload)
    await page.get_by_role("button", name="Import call counts").click()
    status = await page.get_by_role("status").inner_text()
    assert "0 new day and reason count(s), 1 replaced, 1 line(s) rejected" in status
    await _shots(page, tmp_path, "calls-imported")
    await ctx.close()
