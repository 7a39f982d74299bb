"""Real Chromium: a supervisor watches the board while Fred, a fraud agent, opens his console
and becomes available, and the demo's Alice presses 1 in her large-debit call (routed to the
fraud queue): the fraud queue's agents and transfers waiting change on the board without a
reload (server-sent events). She pauses all voice calls from the board and resumes them.
Screenshots at 1280 and 390 pixels."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from admin_ui.users import create_user
from herald.config import Settings
from herald.runtime import Runtime
from tests.browser.test_admin_browser import browser  # noqa: F401  (the Chromium fixture)
from tests.browser.test_agent_browser import (
    PASSWORD,
    WIDTHS,
    _alice_presses_1,
    _console,
    _demo,
    _shots,
    server,
)

pytestmark = pytest.mark.integration
__all__ = ["server"]


async def _count(page: Any, queue: str, selector: str) -> str:
    return str(await page.locator(f'section[data-queue="{queue}"] {selector}').inner_text()).strip()


async def test_the_board_changes_live_when_an_agent_does_and_a_transfer_arrives(
    server: str,
    runtime: Runtime,
    settings: Settings,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    await _demo(runtime, settings, server)
    async with runtime.deps.sessions() as session:
        await create_user(session=session, username="sue", password=PASSWORD, role="supervisor")
    ctx = await browser.new_context(viewport={"width": WIDTHS[0], "height": 900})
    board = await ctx.new_page()
    await board.goto(f"{server}/supervisor")
    await board.get_by_label("Username").fill("sue")
    await board.get_by_label("Password").fill(PASSWORD)
    await board.get_by_role("button", name="Log in").click()
    await board.wait_for_url(re.compile(r".*/supervisor$"))
    await board.get_by_text("Updates live").wait_for()
    assert await _count(board, "fraud", '[data-count="available"]') == "0"
    assert await _count(board, "fraud", '[data-figure="transfers"]') == "0"

    fred_ctx, _fred = await _console(browser, server, "fred")  # Fred: Available
    await board.wait_for_function(
        """() => document.querySelector('section[data-queue="fraud"] [data-count="available"]')
                   .textContent.trim() === "1" """,
        timeout=15_000,
    )
    await _alice_presses_1(runtime)
    await board.wait_for_function(
        """() => document.querySelector('section[data-queue="fraud"] [data-figure="transfers"]')
                   .textContent.trim() === "1" """,
        timeout=15_000,
    )
    await board.locator("#board").get_by_text("Alice Martin").wait_for()
    await _shots(board, tmp_path, "supervisor-board")

    await board.get_by_label("Reason (shown on the board and in the audit log)").fill("drill")
    await board.get_by_role("button", name="Pause all voice calls").click()
    await board.get_by_text("All voice calls are paused", exact=True).wait_for()
    await _shots(board, tmp_path, "supervisor-board-paused")
    await board.get_by_role("button", name="Resume all voice calls").click()
    await board.get_by_text("Voice resumed").wait_for()

    await board.get_by_role("link", name="Forecast before a launch").click()
    await board.get_by_label("Alert type").select_option(label="Large debit")
    await board.get_by_label("Customers to call").fill("800")
    await board.get_by_label("Start time (UTC, HH:MM)").fill("09:00")
    await board.get_by_role("button", name="Run the forecast").click()
    await board.get_by_role("heading", name="Expected day").wait_for()
    await _shots(board, tmp_path, "supervisor-forecast")
    await fred_ctx.close()
    await ctx.close()
