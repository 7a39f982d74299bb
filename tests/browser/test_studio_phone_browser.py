"""Real Chromium: an administrator tries "Large debit" as the customer in the phone in the
browser, hears the menu and presses 1 on the keypad: the call goes through to an agent."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from admin_ui.users import create_user
from herald.runtime import Runtime
from tests.browser.test_admin_browser import browser  # noqa: F401  (the Chromium fixture)
from tests.browser.test_staff_browser import PASSWORD, _shots, server  # noqa: F401
from tests.conftest import Stack

pytestmark = pytest.mark.integration


async def test_the_administrator_places_a_trial_call_and_presses_1_for_an_agent(
    server: str,  # noqa: F811
    runtime: Runtime,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with runtime.deps.sessions() as session:
        await create_user(session=session, username="ann", password=PASSWORD, role="admin")
    ctx = await browser.new_context()
    page = await ctx.new_page()
    await page.goto(f"{server}/admin/alert-types/large_debit/trial")
    await page.get_by_label("Username").fill("ann")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r".*/trial$"))
    await page.get_by_role("link", name="Try it as the customer (a pretend call)").click()
    await page.wait_for_url(re.compile(r".*/phone$"))
    await _shots(page, tmp_path, "phone-ready")

    await page.get_by_role("button", name="Start the call").click()
    screen = page.get_by_label("The customer's phone")
    await screen.get_by_text("Waiting for a key").wait_for()
    assert "Speak to an agent" in await screen.inner_text()
    await _shots(page, tmp_path, "phone-menu")

    await page.get_by_role("button", name="Press 1").click()
    await screen.get_by_text("The call has ended.").wait_for()
    text = await screen.inner_text()
    assert "You pressed 1" in text
    assert "Transferred to an agent" in text
    assert "The agent hears first" in text
    assert await page.get_by_role("button", name="Press 1").count() == 0  # the menu is over
    await _shots(page, tmp_path, "phone-agent")
    await ctx.close()


async def test_the_administrator_sends_a_test_sms_to_the_pretend_recipient(
    stack: Stack,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with stack.runtime.deps.sessions() as session:
        await create_user(session=session, username="ann", password=PASSWORD, role="admin")
    ctx = await browser.new_context()
    page = await ctx.new_page()
    await page.goto(f"{stack.api.url}/admin/alert-types/large_debit/phone")
    await page.get_by_label("Username").fill("ann")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r".*/phone$"))
    await page.get_by_label("Send by").select_option("sms")
    await page.get_by_role("button", name="Send the test").click()
    result = page.get_by_role("status")
    await result.wait_for()
    text = await result.inner_text()
    assert "Sent" in text and "a pretend recipient" in text
    # What was sent: the draft's SMS, filled in (the newest language's, Dutch: "€ 750,00").
    assert re.search(r"750[.,]00", text), text
    await _shots(page, tmp_path, "phone-test-send")
    await ctx.close()
