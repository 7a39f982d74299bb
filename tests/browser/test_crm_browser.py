"""Real Chromium: an administrator adds the example CRM receiver, copies its secret, watches a
signed delivery arrive in the log, sends it again (the receiver keeps it once) and pauses the
receiver; a supervisor finds Exports (not the webhooks) and downloads the responses CSV.
Screenshots of each page at 1280 and 390 pixels."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest

from admin_ui.users import create_user
from alerts.columns import utcnow
from alerts.crm.deliver import dispatch
from alerts.models import OutboxEvent, Response
from herald.runtime import Runtime
from tests.browser.test_admin_browser import browser  # noqa: F401  (the Chromium fixture)
from tests.browser.test_staff_browser import PASSWORD, _log_in, _shots, server  # noqa: F401
from tests.factories import make_customer
from tests.integration.test_crm_webhooks import Receiver, receiver  # noqa: F401

pytestmark = pytest.mark.integration


async def test_admin_subscribes_the_crm_and_replays_a_delivery(
    server: str,  # noqa: F811
    runtime: Runtime,
    browser: Any,  # noqa: F811
    receiver: Receiver,  # noqa: F811
    tmp_path: Path,
) -> None:
    deps = runtime.deps
    async with deps.sessions() as session:
        await create_user(session=session, username="root", password=PASSWORD, role="admin")
    customer = await make_customer(deps, ref="C-1001")
    ctx = await browser.new_context()
    page = await ctx.new_page()
    await _log_in(page, server, "root")
    await page.get_by_role("link", name="CRM webhooks").click()
    await page.wait_for_url(re.compile(r".*/admin/integrations$"))
    assert "No receiver yet" in await page.inner_text("main")
    await _shots(page, tmp_path, "crm-empty")

    await page.get_by_label("The receiver's address").fill(receiver.url)
    await page.get_by_label("Everything, including kinds added later").uncheck()
    await page.get_by_label("All responses").check()
    await page.get_by_label("All hand-offs").check()
    await page.get_by_role("button", name="Add receiver").click()
    secret = (await page.get_by_label("The signing secret").inner_text()).strip()
    assert secret.startswith("whsec_")
    await _shots(page, tmp_path, "crm-added")
    receiver.state = receiver.module.Receiver(secret, receiver.state.log)  # configured with it
    receiver.start()

    async with deps.sessions() as session:
        session.add(
            OutboxEvent(
                kind="response.recorded",
                entity="response",
                customer_id=customer.id,
                data={"channel": "voice", "key": "1", "intent": "agent"},
                created_at=utcnow(),
            )
        )
        session.add(  # not subscribed to: never sent
            OutboxEvent(kind="alert.delivered", entity="alert", customer_id=customer.id, data={})
        )
        await session.commit()
    run = await dispatch(deps=deps, now=utcnow())
    assert run.delivered == 1, run

    await page.goto(f"{server}/admin/integrations")
    rows = page.locator("table").nth(1).locator("tbody tr")
    assert await rows.count() == 1
    line = await rows.first.inner_text()
    assert "response.recorded" in line and "delivered" in line and "HTTP 200" in line
    receivers = await page.locator("table").first.inner_text()
    assert "response.*, handoff.*" in receivers and "active" in receivers
    await _shots(page, tmp_path, "crm-log")

    await page.get_by_role("button", name=re.compile(r"Send response.recorded .* again")).click()
    await page.wait_for_url(re.compile(r".*done=replayed"))
    assert "sent again within a few seconds" in await page.inner_text("main")
    assert (await dispatch(deps=deps, now=utcnow())).delivered == 1
    [kept] = receiver.events()  # posted twice, kept once: the receiver drops a known id
    assert kept["type"] == "response.recorded" and kept["customer"] == {"ref": "C-1001"}

    await page.get_by_role("button", name=f"Pause {receiver.url}").click()
    await page.wait_for_url(re.compile(r".*done=paused"))
    assert "paused" in await page.locator("table").first.inner_text()
    await ctx.close()


async def test_a_supervisor_downloads_the_responses_export(
    server: str,  # noqa: F811
    runtime: Runtime,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    deps = runtime.deps
    async with deps.sessions() as session:
        await create_user(session=session, username="sue", password=PASSWORD, role="supervisor")
    customer = await make_customer(deps, ref="C-2002")
    async with deps.sessions() as session:
        for n, channel in enumerate(("voice", "sms")):
            session.add(
                Response(
                    dedupe_key=f"r{n}",
                    customer_id=customer.id,
                    channel=channel,
                    key="2",
                    intent="confirm",
                )
            )
        await session.commit()
    ctx = await browser.new_context(accept_downloads=True)
    page = await ctx.new_page()
    await _log_in(page, server, "sue")
    nav = await page.inner_text("header")
    assert "Exports" in nav and "CRM webhooks" not in nav
    await page.get_by_role("link", name="Exports").click()
    responses_row = await page.locator("tbody tr").first.inner_text()
    assert "\t2\t" in responses_row, responses_row
    await _shots(page, tmp_path, "exports")
    async with page.expect_download() as info:
        await page.locator("tbody tr").first.get_by_role("link", name="Download CSV").click()
    download = await info.value
    path = tmp_path / "responses.csv"
    await download.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert sorted(r["channel"] for r in rows) == ["sms", "voice"]
    assert {r["customer_ref"] for r in rows} == {"C-2002"}
    await page.goto(f"{server}/admin/integrations")
    assert "Your role does not allow this" in await page.inner_text("main")
    await ctx.close()
