"""Real Chromium: an administrator tries the "Large debit" email as the customer. The studio
shows the draft's email (built by the code that sends emails) with its response buttons; the
"speak to an agent" button opens Herald's real answer page in a new tab, where confirming
records the answer through the real /r/ code. Back in the studio the answer is listed, and the
hand-off it made was closed as it was created: an agent's console shows nothing. Screenshots
at 1280 and 390 pixels."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from admin_ui.users import create_user
from alerts.columns import utcnow
from alerts.lifecycle import HANDOFF_OPEN
from alerts.models import Alert, HandOff, Response
from alerts.responses.handoffs import TRIAL_CLOSED
from alerts.responses.values import context_of
from callcentre.console import work_for
from callcentre.queues import set_skills
from herald.runtime import Runtime
from tests.browser.test_admin_browser import browser  # noqa: F401  (the Chromium fixture)
from tests.browser.test_agent_routing_browser import axe_problems
from tests.browser.test_staff_browser import PASSWORD, _shots, server  # noqa: F401

pytestmark = pytest.mark.integration
AGENT_BUTTON = re.compile("agent", re.IGNORECASE)


async def test_the_trial_emails_agent_button_records_a_trial_answer_no_agent_sees(
    server: str,  # noqa: F811
    runtime: Runtime,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with runtime.deps.sessions() as session:
        await create_user(session=session, username="ann", password=PASSWORD, role="admin")
        fred = await create_user(session=session, username="fred", password=PASSWORD, role="agent")
        await set_skills(session=session, user=fred, queues=["general"])
    ctx = await browser.new_context(bypass_csp=True)  # for axe-core, injected by the test
    page = await ctx.new_page()
    await page.goto(f"{server}/admin/alert-types/large_debit/phone")
    await page.get_by_label("Username").fill("ann")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r".*/phone$"))
    await page.get_by_role("button", name="Open the trial email").click()
    await page.wait_for_url(re.compile(r".*/email-trial/\d+#trial-email$"))
    assert "sam.jansen@example.com" in await page.inner_text("#trial-email")
    assert "No answer yet" in await page.inner_text("#trial-email")
    email = page.frame_locator("iframe.email-frame")
    button = email.get_by_role("link", name=AGENT_BUTTON).first
    await button.wait_for()
    assert "750.00" in await email.locator("body").inner_text()  # the draft, filled in
    await _shots(page, tmp_path, "email-trial")

    async with ctx.expect_page() as opened:  # a new tab, as a mail program opens a link
        await button.click()
    answer = await opened.value
    await answer.wait_for_load_state()
    assert re.search(r"/r/[^/]+$", answer.url), answer.url
    await _shots(answer, tmp_path, "email-trial-confirm")
    await answer.get_by_role("button").first.click()
    await answer.wait_for_load_state()
    assert "Thank you" in await answer.inner_text("main")
    await answer.close()

    await page.get_by_role("button", name="Check what Herald recorded").click()
    await page.locator("#trial-email").get_by_text("The customer answered").wait_for()
    recorded = await page.locator("#trial-email").get_by_role("status").inner_text()
    assert "The customer answered" in recorded and "by email" in recorded
    assert "closed as it was created: no agent sees it" in recorded
    await _shots(page, tmp_path, "email-trial-answered")
    assert await axe_problems(page) == []

    async with runtime.deps.sessions() as session:
        [response] = (await session.exec(select(Response))).all()
        alert = await session.get(Alert, response.alert_id)
        [handoff] = (await session.exec(select(HandOff))).all()
        open_ones = (
            await session.exec(select(HandOff).where(col(HandOff.status).in_(HANDOFF_OPEN)))
        ).all()
        work = await work_for(session=session, agent="fred", skills=["general"], now=utcnow())
    assert alert is not None and alert.trial and response.channel == "email"
    assert response.intent == "agent"
    assert handoff.closed_at is not None and context_of(handoff).why == TRIAL_CLOSED
    assert open_ones == [] and work.waiting == [] and work.mine == []
    await ctx.close()
