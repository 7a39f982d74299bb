"""Real Chromium: an administrator logs in and reads a customer's story; a customer answers an
email alert on its confirm page."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from admin_ui.users import create_user
from alerts.models import Response
from herald.worker import drain
from tests.conftest import Stack, missing_infrastructure
from tests.factories import mail_text
from tests.integration.test_loop import DEMO_SCENARIO, _load_demo
from tests.service.alerts.customers.test_history import seed

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        missing_infrastructure("playwright is not installed (make test installs it)")
    if CHROMIUM is None:
        missing_infrastructure("Chromium is not installed (apt-get install chromium)")
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            await b.close()


async def test_admin_logs_in_and_sees_the_single_view(stack: Stack, browser: Any) -> None:
    stack.set_scenario(DEMO_SCENARIO)
    await _load_demo(stack)
    await drain(stack.runtime, wait_deferred=True, timeout=60, idle_check=stack.idle)
    async with stack.runtime.deps.sessions() as session:
        await create_user(session=session, username="ops", password="correct horse battery")
    page = await browser.new_page()
    await page.goto(f"{stack.api.url}/admin/customers/C-1003")
    assert "/admin/login" in page.url  # not logged in: sent to the login form
    await page.fill("input[name=username]", "ops")
    await page.fill("input[name=password]", "wrong password!")
    await page.click("button[type=submit]")
    assert "Wrong username or password" in await page.content()
    await page.fill("input[name=username]", "ops")
    await page.fill("input[name=password]", "correct horse battery")
    await page.click("button[type=submit]")
    await page.wait_for_url(re.compile(r".*/admin/customers/C-1003$"))
    text = await page.inner_text("body")
    assert "Chloe Dubois" in text
    assert "holds (event.amount = 980.40" in text  # the decision's reason
    assert "no answer" in text and "delivered" in text  # voice, then the SMS that followed
    assert "Europe/Paris" in text
    await page.goto(f"{stack.api.url}/admin/handoffs")
    text = await page.inner_text("body")
    # Open work only: a free-text SMS question waits for a callback; Alice's live transfer
    # ended when her call did (completed), and Daniel has not clicked yet.
    assert "Which shop is this? I never ordered furniture" in text
    assert "Alice Martin" not in text and "Daniel Okafor" not in text


async def _log_in(page: Any, url: str) -> None:
    await page.goto(url)
    await page.get_by_label("Username").fill("ops")
    await page.get_by_label("Password").fill("correct horse battery")
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r".*/admin/customers/C-LONG$"))


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
async def test_admin_reads_a_long_history_page_by_page(
    stack: Stack, browser: Any, tmp_path: Path, width: int, height: int
) -> None:
    await seed(stack.runtime, ref="C-LONG", account="NL01HIST0000000025", alerts=25, skips=3)
    async with stack.runtime.deps.sessions() as session:
        await create_user(session=session, username="ops", password="correct horse battery")
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    await _log_in(page, f"{stack.api.url}/admin/customers/C-LONG")
    text = await page.inner_text("body")
    assert "Showing 20 of 25 alerts" in text and "Showing 3 of 3 events without an alert" in text
    assert len(await page.get_by_role("heading", name=re.compile(r"^Alert #")).all()) == 20
    await page.screenshot(path=tmp_path / f"customer-{width}.png")
    await page.get_by_role("link", name="Older alerts").scroll_into_view_if_needed()
    await page.screenshot(path=tmp_path / f"customer-pager-{width}.png")
    await page.get_by_role("link", name="Older alerts").click()
    await page.wait_for_url(re.compile(r".*/admin/customers/C-LONG\?before=\d+#alerts$"))
    text = await page.inner_text("body")
    assert "Showing 21 to 25 of 25 alerts" in text
    assert len(await page.get_by_role("heading", name=re.compile(r"^Alert #")).all()) == 5
    await page.screenshot(path=tmp_path / f"older-alerts-{width}.png")
    await page.get_by_role("link", name="Newest alerts").scroll_into_view_if_needed()
    await page.screenshot(path=tmp_path / f"older-alerts-pager-{width}.png")
    await page.screenshot(path=tmp_path / f"older-alerts-full-{width}.png", full_page=True)
    # Nothing wider than the screen: a phone scrolls down, never sideways.
    assert await page.evaluate("document.documentElement.scrollWidth") <= width
    await page.get_by_role("link", name="Newest alerts").click()
    await page.wait_for_url(re.compile(r".*/admin/customers/C-LONG\?#alerts$"))
    assert "Showing 20 of 25 alerts" in await page.inner_text("body")
    await context.close()


async def test_customer_answers_an_email_alert_in_the_browser(stack: Stack, browser: Any) -> None:
    await _load_demo(stack)
    await drain(stack.runtime, wait_deferred=True, timeout=60, idle_check=stack.idle)
    [mail] = [m for m in stack.sink.messages if m["To"] == "daniel@example.com"]
    html = mail_text(mail, "html")
    link = re.search(r'href="([^"]+)"[^>]*>\s*This payment was mine', html)
    assert link, html
    page = await browser.new_page()
    await page.set_content(html)  # the email as a mail client shows it
    async with page.expect_navigation():
        await page.click("text=This payment was mine")
    assert await page.locator("form button").count() == 1  # a confirm page, nothing done yet
    async with stack.runtime.deps.sessions() as session:
        assert (await session.exec(select(Response))).all() == []
    await page.click("form button")
    assert "no further action" in (await page.inner_text("body")).lower()
    async with stack.runtime.deps.sessions() as session:
        [response] = (await session.exec(select(Response))).all()
    assert (response.channel, response.intent) == ("email", "confirm")
    await page.go_back()
    await page.reload()
    assert "already have your answer" in (await page.inner_text("body")).lower()
