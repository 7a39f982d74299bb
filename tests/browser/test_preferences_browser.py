"""Real Chromium: a customer opens their preferences link, sets quiet hours and saves them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from alerts.models import PreferenceChange
from tests.browser.test_admin_browser import browser  # noqa: F401  (the shared fixture)
from tests.conftest import Stack
from tests.factories import make_customer, make_event

pytestmark = pytest.mark.integration


async def test_customer_sets_quiet_hours_in_the_browser(
    stack: Stack,
    browser: Any,  # noqa: F811
) -> None:
    customer = await make_customer(
        stack.runtime.deps,
        ref="C-77",
        name="Grace Hopper",
        phone="+15550004567",
        email="grace@example.com",
    )
    assert customer.id is not None
    await make_event(stack.runtime.deps)  # a debit on their account: large_debit applies
    token = stack.runtime.deps.links.sign_preferences(customer.id)
    page = await browser.new_page()
    await page.goto(f"{stack.api.url}/p/{token}")
    text = await page.inner_text("body")
    assert "Hello Grace." in text and "Hopper" not in text
    assert "***4567" in text and "g***@example.com" in text
    assert "Always sent. We always send these alerts because they protect you" in text
    assert await page.locator('input[name="large_debit.receive"]').count() == 0  # no switch

    await page.get_by_label("Quiet hours:").first.check()
    await page.fill("#s0-from", "21:30")
    await page.fill("#s0-to", "07:15")
    await page.get_by_label("Emails").first.uncheck()  # emails may still arrive at night
    async with page.expect_navigation():
        await page.click("text=Save my settings")

    text = await page.inner_text("body")
    assert "Your changes are saved" in text
    assert (
        "Quiet hours from 9:30 PM to 7:15 AM (UTC time): no phone calls and text messages." in text
    )
    assert await page.input_value("#s0-from") == "9:30 PM"  # the page shows what is now stored
    async with stack.runtime.deps.sessions() as session:
        [change] = (await session.exec(select(PreferenceChange))).all()
    assert change.actor == "customer (preferences page)"
    assert change.after["quiet_hours"] == [{"window": "21:30-07:15", "channels": ["voice", "sms"]}]

    await page.goto(f"{stack.api.url}/p/{token}")  # opening the link again shows them
    assert await page.get_by_label("Quiet hours:").first.is_checked()
    assert await page.input_value("#s0-to") == "7:15 AM"
