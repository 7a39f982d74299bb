"""Real Chromium: an administrator builds a "your direct debit was returned" alert from the
fields of the bank's file that the studio offers (issue 15, point 5): the return reason goes into
the condition and into the SMS from the picker, the alert type is published, and only the
returned debit reaches the customer, with its reason code in the text."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from herald.worker import drain
from tests.browser.test_admin_browser import browser  # noqa: F401  (the shared fixture)
from tests.browser.test_studio_browser import _log_in, _shot, seed_sms_customer
from tests.conftest import Stack
from tests.factories import make_event

pytestmark = pytest.mark.integration
ACCOUNT = "DE02120300000000202051"
PHONE = "+15550008888"


async def test_a_returned_debit_alert_is_built_from_the_bank_file_fields(
    stack: Stack,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    deps = stack.runtime.deps
    await seed_sms_customer(
        deps,
        admins=["fieldadmin"],
        customer=("C-DE", "Jonas Weber", "en", "Europe/Berlin"),
        account=ACCOUNT,
        phone=PHONE,
    )
    base = stack.api.url
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await _log_in(page, base, "fieldadmin")
    await page.get_by_role("link", name="Large debit", exact=True).click()
    await page.locator("#editor[data-live=on]").wait_for()  # studio.js has wired the picker

    more = page.get_by_text("More from the bank's file")
    await more.click()
    fields = page.get_by_label("Fields from the bank's file")
    reason = fields.get_by_role("button", name="reason code of a returned payment")
    await reason.wait_for()
    await _shot(page, tmp_path / "file-fields-1280.png", 1280)
    await page.locator(".picker-more").screenshot(path=tmp_path / "picker-1280.png")

    condition = page.get_by_label("Only when (condition)")
    await condition.fill("event.amount >= 0 and ")
    await condition.press("End")
    await reason.click()  # the condition was the last field in focus
    await condition.press("End")
    await condition.type(' == "MD06"')
    assert await condition.input_value() == (
        'event.amount >= 0 and event.data&["return_reason"] == "MD06"'
    )

    sms = page.get_by_label("English SMS: Text message")
    await sms.fill("{{ brand }}: your direct debit of {{ amount }} {{ currency }} was returned: ")
    await sms.press("End")
    await reason.click()
    assert (await sms.input_value()).endswith("was returned: {{ data.return_reason }}")

    await page.get_by_role("button", name="Save and preview").click()
    await page.wait_for_url(re.compile(r".*/preview$"))
    await page.goto(f"{base}/admin/alert-types/large_debit/preview?locale=en")
    assert "was returned: MD06" in await page.locator(".bubble").first.inner_text()
    await page.goto(f"{base}/admin/alert-types/large_debit")
    await page.get_by_label("What changed").fill("Returned debits, with the reason")
    await page.get_by_role("button", name="Publish").click()
    assert "Published as version" in await page.inner_text("body")
    await context.close()

    phone = await browser.new_context(viewport={"width": 390, "height": 844})
    page = await phone.new_page()
    await _log_in(page, base, "fieldadmin")
    await page.goto(f"{base}/admin/alert-types/large_debit")
    await page.get_by_text("More from the bank's file").click()
    await _shot(page, tmp_path / "file-fields-390.png", 390)
    await page.locator(".picker-more").screenshot(path=tmp_path / "picker-390.png")
    await phone.close()

    await make_event(deps, account=ACCOUNT, amount="42.00", event_id="E-paid", data={})
    await make_event(
        deps,
        account=ACCOUNT,
        amount="42.00",
        event_id="E-returned",
        data={"return_reason": "MD06", "return_info": "Refund requested"},
    )
    assert await evaluate_pending(deps=deps, now=utcnow())
    await drain(stack.runtime, wait_deferred=True, timeout=60, idle_check=stack.idle)
    bodies = [m.body for m in stack.sim.state.messages.values() if m.to == PHONE]
    assert len(bodies) == 1, bodies  # the debit that was paid raised nothing
    assert "your direct debit of 42.00 EUR was returned: MD06" in bodies[0]
