"""Real Chromium: a supervisor closes the centre on Sundays and adds a holiday; the next 14 days
change on the page; a mistake is shown beside its day. Screenshots at 1280 and 390 px."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from admin_ui.users import create_user
from alerts.columns import utcnow
from tests.browser.test_admin_browser import browser  # noqa: F401  (the shared fixture)
from tests.conftest import Stack

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"


async def test_a_supervisor_changes_the_hours_and_sees_the_next_days(
    stack: Stack,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with stack.runtime.deps.sessions() as session:
        await create_user(session=session, username="sam", password=PASSWORD, role="supervisor")
    base = stack.api.url
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(f"{base}/admin/login?next=/admin/hours")
    await page.get_by_label("Username").fill("sam")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r".*/admin/hours$"))

    await page.get_by_label("Time zone").fill("Europe/Amsterdam")
    await page.get_by_label("Monday").fill("17:00-09:00")
    await page.get_by_role("button", name="Save the hours").click()
    error = page.locator("#h-mon-error")
    assert "closes before it opens" in await error.inner_text()
    assert await page.get_by_label("Monday").get_attribute("aria-invalid") == "true"

    today = utcnow().astimezone(ZoneInfo("Europe/Amsterdam")).date()
    holiday = today + timedelta(days=2)
    for weekday in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"):
        await page.get_by_label(weekday, exact=True).fill("08:00-18:00")
    await page.get_by_label("Saturday").fill("")
    await page.get_by_label("Sunday").fill("")
    await page.get_by_label("Days the centre is closed").fill(holiday.isoformat())
    await page.get_by_role("button", name="Save the hours").click()
    await page.wait_for_url(re.compile(r".*/admin/hours\?saved=1.*"))
    assert "Saved." in await page.locator("[role=status]").inner_text()

    rows = page.locator("table.days tbody tr")
    assert await rows.count() == 14
    for i in range(14):
        day = today + timedelta(days=i)
        cells = await rows.nth(i).inner_text()
        assert day.strftime("%d %b") in cells
        if day == holiday:
            assert "Closed · holiday" in cells
        elif day.weekday() >= 5:
            assert "Closed" in cells and "holiday" not in cells
        else:
            assert "08:00-18:00" in cells
    await page.screenshot(path=tmp_path / "hours-1280.png", full_page=True)
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.screenshot(path=tmp_path / "hours-390.png", full_page=True)
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await context.close()
