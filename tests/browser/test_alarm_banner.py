"""Real Chromium: when a provider refuses Herald's credentials, the staff pages say so at the top,
in words an operator acts on, on a wide screen and on a phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from admin_ui.users import create_user
from alerts.columns import utcnow
from alerts.delivery.alarms import raise_alarm
from tests.browser.test_admin_browser import browser  # noqa: F401  (the Chromium fixture)
from tests.conftest import Stack

pytestmark = pytest.mark.integration


async def test_a_channel_alarm_is_shown_on_the_staff_pages(
    stack: Stack,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with stack.runtime.deps.sessions() as session:
        await create_user(session=session, username="ops", password="correct horse battery")
        await raise_alarm(
            session,
            channel="sms",
            provider="twilio_sms",
            message="sending the SMS failed: HTTP 401, Twilio 20003: "
            "Twilio rejected Herald's credentials",
            now=utcnow(),
        )
        await session.commit()
    for width in (1280, 390):
        page = await browser.new_page(viewport={"width": width, "height": 800})
        await page.goto(f"{stack.api.url}/admin/login")
        await page.get_by_label("Username").fill("ops")
        await page.get_by_label("Password").fill("correct horse battery")
        await page.get_by_role("button", name="Log in").click()
        await page.goto(f"{stack.api.url}/admin/handoffs")
        banner = page.get_by_role("alert")
        await banner.wait_for()
        words = await banner.inner_text()
        assert "SMS is not sending" in words and "rejected Herald's credentials" in words
        assert "Check the SMS credentials" in words
        overflow = await page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert overflow is False, f"the page scrolls sideways at {width} px"
        await page.screenshot(path=str(tmp_path / f"alarm-{width}.png"), full_page=True)
        await page.close()
