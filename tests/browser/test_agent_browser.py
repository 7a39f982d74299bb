"""Real Chromium: three agents at their consoles — Fred and Fay serve the fraud queue, Gina the
general one. The demo's Alice (ingested from the demo feed) presses 1 in her large-debit call,
which the demo routes to the fraud queue: her ringing transfer appears on the fraud agents'
consoles without a reload (server-sent events) and never on Gina's; Fred and Fay click Claim
at the same moment and exactly one wins; the winner's screen-pop shows her alert, what the call
said, her keypress and the debit's amount; they note and complete it with an outcome.
Screenshots at 1280 and 390 pixels."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from admin_ui.users import create_user
from alerts.columns import utcnow
from alerts.customers.records import import_customers
from alerts.models import Alert, Customer, DeliveryAttempt, HandOff, OutboxEvent
from alerts.responses.record import record_response
from callcentre.queues import set_skills
from channels.twilio_sim import LoopbackServer
from herald.app import create_app
from herald.config import Settings
from herald.demo import tune_for_demo
from herald.runtime import Runtime
from tests.browser.test_admin_browser import browser  # noqa: F401  (the Chromium fixture)
from tests.conftest import REPO
from tests.factories import api_headers

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"
WIDTHS = (1280, 390)
ALICE = "Alice Martin"


@pytest.fixture
async def server(settings: Settings, runtime: Runtime) -> AsyncIterator[str]:
    """Herald's web app on a real port; no worker runs, so no alert is sent by itself."""
    api = LoopbackServer(create_app(settings, runtime), port=settings.api_port)
    async with api:
        yield api.url


async def _shots(page: Any, tmp_path: Path, name: str) -> None:
    """A screenshot at each width; on none does the page scroll sideways."""
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        await page.screenshot(path=tmp_path / f"{name}-{width}.png", full_page=True)
        assert await page.evaluate("document.documentElement.scrollWidth") <= width, name
    await page.set_viewport_size({"width": WIDTHS[0], "height": 900})


async def _console(browser: Any, url: str, username: str) -> tuple[Any, Any]:  # noqa: F811
    ctx = await browser.new_context(viewport={"width": WIDTHS[0], "height": 900})
    page = await ctx.new_page()
    await page.goto(f"{url}/agent")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r".*/agent$"))
    await page.get_by_role("button", name="Available").click()
    await page.wait_for_url(re.compile(r".*/agent$"))
    await page.get_by_text("Updates live").wait_for()
    return ctx, page


async def _demo(runtime: Runtime, settings: Settings, url: str) -> None:
    """The demo's routing (option 1 to the fraud queue), its customers and its first feed,
    ingested through the API; and three agents with their skills."""
    async with runtime.deps.sessions() as session:
        await tune_for_demo(session, fallback_wait_seconds=0, bank_url="http://127.0.0.1:9/")
        await import_customers(session=session, path=REPO / "examples" / "customers.csv")
        for name, skills in (
            ("fred", ["fraud"]),
            ("fay", ["fraud", "general"]),
            ("gina", ["general"]),
        ):
            user = await create_user(
                session=session, username=name, password=PASSWORD, role="agent"
            )
            await set_skills(session=session, user=user, queues=skills)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        feed = REPO / "examples" / "feeds" / "camt054-demo.xml"
        done = await client.post(
            "/api/v1/ingest/camt054", content=feed.read_bytes(), headers=api_headers(settings)
        )
        assert done.status_code == 200, done.text


async def _alice_presses_1(runtime: Runtime) -> int:
    """Her large-debit call is answered and she presses 1: the answer recorded as the voice
    keypress webhook records it (alerts.responses.voice.keypress)."""
    deps = runtime.deps
    async with deps.sessions() as session:
        alice = (await session.exec(select(Customer).where(Customer.name == ALICE))).one()
        alert = (
            await session.exec(
                select(Alert).where(
                    Alert.customer_id == alice.id, Alert.alert_type == "large_debit"
                )
            )
        ).one()
        call = DeliveryAttempt(
            alert_id=alert.id or 0,
            step_index=0,
            channel="voice",
            address=alert.plan[0].address,
            status="in_progress",
            provider_sid="CA" + "a1" * 16,
        )
        session.add(call)
        await session.commit()
        attempt_id = call.id
    outcome = await record_response(
        deps=deps,
        dedupe_key=f"voice:{'CA' + 'a1' * 16}:1",
        attempt_id=attempt_id,
        channel="voice",
        key="1",
        text=None,
        now=utcnow(),
    )
    assert outcome.handoff is not None and outcome.handoff.kind == "live_transfer"
    assert outcome.handoff.id is not None
    return outcome.handoff.id


async def test_a_fraud_transfer_reaches_only_fraud_agents_one_claims_and_completes_it(
    server: str,
    runtime: Runtime,
    settings: Settings,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    await _demo(runtime, settings, server)
    (fred_ctx, fred), (fay_ctx, fay), (gina_ctx, gina) = [
        await _console(browser, server, name) for name in ("fred", "fay", "gina")
    ]
    assert "Nobody is waiting in your queues." in await fred.inner_text("#work")
    await _shots(fred, tmp_path, "agent-console-empty")

    handoff_id = await _alice_presses_1(runtime)
    for page in (fred, fay):  # no reload: the live stream brings her
        await page.locator("#work").get_by_text(ALICE).wait_for(timeout=15_000)
    card = await fred.locator("li.work", has_text=ALICE).inner_text()
    assert "Live transfer · ringing now" in card and "Fraud" in card
    assert "1249.99 EUR" in card and "Pressed 1" in card
    await _shots(fred, tmp_path, "agent-console-ringing")
    await asyncio.sleep(2.5)  # two more stream polls: Gina's console must still not show her
    assert ALICE not in await gina.inner_text("#work")

    claim = "Claim live transfer · ringing now for " + ALICE
    await asyncio.gather(
        fred.get_by_role("button", name=claim).click(),
        fay.get_by_role("button", name=claim).click(),
    )
    await fred.wait_for_load_state()
    await fay.wait_for_load_state()
    winners = [p for p in (fred, fay) if p.url.endswith(f"/agent/handoffs/{handoff_id}")]
    losers = [p for p in (fred, fay) if p not in winners]
    assert len(winners) == 1 and len(losers) == 1, [fred.url, fay.url]
    winner, loser = winners[0], losers[0]
    assert "Too late:" in await loser.get_by_role("alert").inner_text()
    await _shots(loser, tmp_path, "agent-claim-lost")

    pop = await winner.inner_text("main")
    assert ALICE in pop and "Large debit alert" in pop
    assert "Pressed 1 — asked to speak to an agent" in pop and "By phone" in pop
    assert "1249.99 EUR" in pop and "Electro World Online" in pop
    assert "What the call said" in pop
    assert "+15***01" in pop and "+15550000001" not in pop  # masked for an agent
    await _shots(winner, tmp_path, "agent-screen-pop")

    await winner.get_by_label("Add a note").fill("Customer did not make this purchase")
    await winner.get_by_role("button", name="Save note").click()
    await winner.get_by_text("Customer did not make this purchase").wait_for()
    await winner.get_by_label("Outcome", exact=True).select_option("fraud_confirmed")
    await winner.get_by_role("button", name="Complete").click()
    await winner.wait_for_url(re.compile(r".*/agent\?done=completed$"))
    assert "Completed: the outcome is in the customer's history" in await winner.inner_text("main")
    await winner.locator("#work").get_by_text(ALICE).wait_for(state="detached", timeout=5_000)
    await _shots(winner, tmp_path, "agent-console-done")

    async with runtime.deps.sessions() as session:
        handoff = await session.get(HandOff, handoff_id)
        told = (
            await session.exec(select(OutboxEvent).where(OutboxEvent.kind == "handoff.completed"))
        ).one()
    assert handoff is not None and handoff.status == "completed" and handoff.queue == "fraud"
    assert handoff.claimed_by in ("fred", "fay")
    assert told.data["outcome"] == "fraud_confirmed" and told.data["agent"] == handoff.claimed_by
    for ctx in (fred_ctx, fay_ctx, gina_ctx):
        await ctx.close()
