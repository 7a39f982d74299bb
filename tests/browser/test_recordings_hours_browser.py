"""Real Chromium: an administrator uploads a recording on /admin/recordings and plays it, then
changes the call-centre hours on /admin/hours and sees the 14-day preview change."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from admin_ui.users import create_user
from alerts.columns import utcnow
from herald.runtime import Runtime
from tests.api.test_recordings_page import wav
from tests.browser.test_admin_browser import browser  # noqa: F401  (the Chromium fixture)
from tests.browser.test_staff_browser import PASSWORD, _shots, server  # noqa: F401
from tests.browser.test_studio_audio_browser import DURATION

pytestmark = pytest.mark.integration


async def test_upload_and_play_a_recording_then_edit_the_hours(
    server: str,  # noqa: F811
    runtime: Runtime,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with runtime.deps.sessions() as session:
        await create_user(session=session, username="ada", password=PASSWORD, role="admin")
    ctx = await browser.new_context()
    page = await ctx.new_page()
    await page.goto(f"{server}/admin/recordings")
    await page.get_by_label("Username").fill("ada")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r".*/admin/recordings$"))

    row = page.locator("#slot-large_debit-en-0")
    sample = tmp_path / "greeting.wav"
    sample.write_bytes(wav(1.0))
    await row.locator('input[type="file"]').set_input_files(str(sample))
    await row.get_by_role("button", name="Upload", exact=True).click()
    await page.wait_for_url(re.compile(r".*/admin/recordings#slot-large_debit-en-0$"))
    assert await page.locator("#slot-large_debit-en-0 audio").evaluate(DURATION) > 0.5
    await _shots(page, tmp_path, "recordings")
    await row.get_by_text("Remove the recording").click()
    await row.get_by_role("button", name="Yes, remove it").click()
    await page.wait_for_url(re.compile(r".*/admin/recordings#slot-large_debit-en-0$"))
    assert "Recording removed" in await page.locator("body").inner_text()
    assert await page.locator("#slot-large_debit-en-0 audio").count() == 0

    await page.get_by_role("link", name="Hours", exact=True).click()
    await page.wait_for_url(re.compile(r".*/admin/hours$"))
    await page.get_by_label("Time zone").fill("Europe/Amsterdam")
    for day in ("Saturday", "Sunday"):
        await page.get_by_label(day, exact=True).fill("")
    await page.get_by_label("Monday", exact=True).fill("17:00-09:00")
    await page.get_by_role("button", name="Save the hours").click()
    assert "closes before it opens" in await page.locator("#h-mon-error").inner_text()
    await _shots(page, tmp_path, "hours-error")
    await page.get_by_label("Monday", exact=True).fill("07:30-19:00")
    tomorrow = utcnow().astimezone(ZoneInfo("Europe/Amsterdam")).date() + timedelta(days=1)
    await page.locator("#h-blackouts").fill(f"{tomorrow.isoformat()}: large_debit")
    await page.get_by_role("button", name="Save the hours").click()
    await page.wait_for_url(re.compile(r".*/admin/hours\?saved=1.*"))
    preview = page.locator("table.days")
    assert await preview.get_by_text("07:30-19:00").count() >= 2
    row = preview.locator("tbody tr").nth(1)
    assert "Blackout: large_debit" in await row.inner_text()
    await _shots(page, tmp_path, "hours-blackout")
    await ctx.close()
