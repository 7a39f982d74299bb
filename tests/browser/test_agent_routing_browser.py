"""Real Chromium: Fred and Fay both serve the fraud queue. Each sets their phone in the console
and goes Available (Fred first, so he has waited longest). A customer's large-debit call is
placed by the worker on the Twilio simulator and she presses 1 (routed to the fraud queue):
Herald puts the call through to Fred's phone, and Fred's console opens her screen-pop by
itself, without a reload; Fay's console shows neither the pop nor the transfer. Fred completes
it with an outcome and the example CRM receiver (examples/crm_receiver.py) gets the signed
hand-off.completed event. Screenshots at 1280 and 390 pixels."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from admin_ui.users import create_user
from alerts.alert_types.store import get_spec, save_spec
from alerts.columns import utcnow
from alerts.crm.deliver import dispatch
from alerts.crm.subscriptions import create_subscription
from alerts.decisions.evaluate import evaluate_pending
from callcentre.queues import QueueIn, save_queue, set_skills
from herald.worker import drain
from tests.browser.axe import require_axe, run_axe
from tests.browser.test_admin_browser import browser  # noqa: F401  (the Chromium fixture)
from tests.browser.test_agent_browser import PASSWORD, WIDTHS, _shots
from tests.conftest import Stack
from tests.factories import make_customer, make_event
from tests.integration.test_crm_webhooks import SECRET, Receiver, receiver  # noqa: F401

pytestmark = pytest.mark.integration
PHONE = "+15550003333"
LINES = {"fred": "+15550007001", "fay": "+15550007002"}


async def _centre(stack: Stack) -> None:
    deps = stack.runtime.deps
    async with deps.sessions() as session:
        await save_queue(session=session, key="fraud", queue=QueueIn(name="Fraud", priority=80))
        spec = await get_spec(session, "large_debit")
        assert spec is not None
        data: dict[str, Any] = spec.as_json()
        data["options"] = [
            {
                "key": "1",
                "intent": "agent",
                "label": "Speak to a fraud specialist",
                "queue": "fraud",
            },
            {"key": "2", "intent": "confirm", "label": "This payment was mine"},
        ]
        await save_spec(session, data, actor="test")
        for name in LINES:
            user = await create_user(
                session=session, username=name, password=PASSWORD, role="agent"
            )
            await set_skills(session=session, user=user, queues=["fraud"])


async def axe_problems(page: Any) -> list[str]:
    """Serious or critical axe-core violations of the page as it is now."""
    require_axe()
    return await run_axe(page)


async def _console(browser: Any, url: str, name: str) -> tuple[Any, Any]:  # noqa: F811
    # bypass_csp: axe-core is injected by the test (the page's CSP allows only its own scripts)
    ctx = await browser.new_context(viewport={"width": WIDTHS[0], "height": 900}, bypass_csp=True)
    page = await ctx.new_page()
    await page.goto(f"{url}/agent")
    await page.get_by_label("Username").fill(name)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r".*/agent$"))
    await page.get_by_label("My phone for live transfers").fill(LINES[name])
    await page.get_by_role("button", name="Save phone").click()
    await page.wait_for_url(re.compile(r".*/agent$"))
    assert f"is put through to {LINES[name]}" in await page.inner_text("main")
    await page.get_by_role("button", name="Available").click()
    await page.wait_for_url(re.compile(r".*/agent$"))
    await page.get_by_text("Updates live").wait_for()
    return ctx, page


@pytest.mark.timeout(300)  # two consoles, a whole call on the simulator, the CRM delivery
async def test_only_the_agent_the_transfer_is_routed_to_gets_the_screen_pop(
    stack: Stack,
    browser: Any,  # noqa: F811
    receiver: Receiver,  # noqa: F811
    tmp_path: Any,
) -> None:
    await _centre(stack)
    receiver.start()
    async with stack.runtime.deps.sessions() as session:
        await create_subscription(
            session,
            url=receiver.url,
            events=["handoff.*"],
            actor="test",
            now=utcnow(),
            secret=SECRET,
        )
    url = stack.api.url
    fred_ctx, fred = await _console(browser, url, "fred")
    await asyncio.sleep(0.05)  # Fred went Available first: he has waited longest
    fay_ctx, fay = await _console(browser, url, "fay")
    await fred.get_by_label("My phone for live transfers").fill("020 123")
    await fred.get_by_role("button", name="Save phone").click()
    assert (
        "not a phone number in international form" in await fred.get_by_role("alert").inner_text()
    )
    await _shots(fred, tmp_path, "agent-line-refused")
    assert await axe_problems(fred) == []
    await fred.goto(f"{url}/agent")  # his saved line is unchanged
    assert await fred.get_by_label("My phone for live transfers").input_value() == LINES["fred"]
    await _shots(fred, tmp_path, "agent-line-set")

    stack.set_scenario({"recipients": {PHONE: {"voice": {"answer": "human", "presses": ["1"]}}}})
    deps = stack.runtime.deps
    await make_customer(deps, phone=PHONE, order=("voice",))
    await make_event(deps)
    await evaluate_pending(deps=deps, now=utcnow())
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
    [dial] = [
        t
        for c in stack.sim.state.calls.values()
        if c.to == PHONE
        for t in c.transcript
        if t.get("verb") == "Dial"
    ]
    assert dial["number"] == LINES["fred"]

    # No reload: the live stream marks the routed transfer and Fred's console opens it.
    await fred.wait_for_url(re.compile(r".*/agent/handoffs/\d+$"), timeout=15_000)
    pop = await fred.inner_text("main")
    assert "Test Person" in pop and "Large debit alert" in pop
    assert "Pressed 1" in pop and "750.00 EUR" in pop
    assert "Herald put the call through to your phone" in pop and "taken by you" in pop
    await _shots(fred, tmp_path, "agent-routed-pop")
    assert await axe_problems(fred) == []

    await asyncio.sleep(2.5)  # two more stream polls: Fay's console must still not show her
    assert fay.url.endswith("/agent")
    assert "Test Person" not in await fay.inner_text("#work")
    assert "Nobody is waiting in your queues." in await fay.inner_text("#work")
    await _shots(fay, tmp_path, "agent-not-routed")

    await fred.goto(f"{url}/agent")  # back to the list: the pop does not open again
    await asyncio.sleep(2.5)
    assert fred.url.endswith("/agent")
    assert "put through to your phone" in await fred.inner_text("#work")

    await fred.get_by_role("link", name="Open Test Person").first.click()
    await fred.get_by_label("Outcome", exact=True).select_option("fraud_confirmed")
    await fred.get_by_role("button", name="Complete").click()
    await fred.wait_for_url(re.compile(r".*/agent\?done=completed$"))
    await dispatch(deps=deps, now=utcnow())
    completed = [e for e in receiver.events() if e["type"] == "handoff.completed"]
    assert len(completed) == 1 and receiver.state.refused == 0  # signed, verified, once
    assert completed[0]["data"]["agent"] == "fred"
    assert completed[0]["data"]["outcome"] == "fraud_confirmed"
    assert completed[0]["data"]["queue"] == "fraud"
    for ctx in (fred_ctx, fay_ctx):
        await ctx.close()
