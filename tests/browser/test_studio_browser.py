"""Real Chromium: a new administrator rewords the Dutch SMS of "Large debit" in the studio,
sees its length change, previews it, cannot publish it alone under the four-eyes rule, a
colleague publishes it, and the next large debit reaches a Dutch customer with the new words."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from admin_ui.users import create_user
from alerts.columns import utcnow
from alerts.customers.records import CustomerIn, upsert_customer
from alerts.decisions.evaluate import evaluate_pending
from alerts.deps import AlertDeps
from herald.worker import drain
from tests.browser.test_admin_browser import browser  # noqa: F401  (the shared fixture)
from tests.conftest import Stack
from tests.factories import make_event

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"
ACCOUNT = "NL02RABO0123456789"
PHONE = "+15550007777"
WORDING = (
    "{{ brand }}: er is {{ amount }} {{ currency }} afgeschreven bij {{ description }} van uw "
    "rekening eindigend op {{ account_ending }}. Was u dit niet? Bel ons direct op "
    "{{ callcentre_number }}. {{ options_text }}"
)


async def _log_in(page: Any, base: str, username: str) -> None:
    await page.goto(f"{base}/admin/alert-types")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r".*/admin/alert-types$"))


async def _shot(page: Any, path: Path, width: int) -> None:
    await page.screenshot(path=path, full_page=True)
    # Nothing wider than the screen: a phone scrolls down, never sideways.
    assert await page.evaluate("document.documentElement.scrollWidth") <= width, path.name


async def seed_sms_customer(
    deps: AlertDeps,
    *,
    admins: list[str],
    customer: tuple[str, str, str, str],
    account: str,
    phone: str,
) -> None:
    """Studio users (PASSWORD) and one customer (ref, name, locale, zone) reached by SMS."""
    ref, name, locale, zone = customer
    async with deps.sessions() as session:
        for username in admins:
            await create_user(session=session, username=username, password=PASSWORD)
        await upsert_customer(
            session=session,
            data=CustomerIn(
                external_ref=ref,
                name=name,
                locale=locale,
                timezone=zone,
                accounts=[account],
                phones=[phone],
                channel_order=["sms"],
            ),
        )
        await session.commit()


async def test_administrator_rewords_the_dutch_sms_and_a_colleague_publishes_it(
    stack: Stack,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    deps = stack.runtime.deps
    await seed_sms_customer(
        deps,
        admins=["newadmin", "colleague"],
        customer=("C-NL", "Joost Bakker", "nl", "Europe/Amsterdam"),
        account=ACCOUNT,
        phone=PHONE,
    )
    await make_event(deps, account=ACCOUNT, amount="612.00", event_id="E-old", description="Cafe")
    base = stack.api.url
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await _log_in(page, base, "newadmin")
    await _shot(page, tmp_path / "list-1280.png", 1280)

    await page.get_by_role("link", name="Large debit", exact=True).click()  # nl is seeded
    sms = page.get_by_label("Dutch SMS: Text message")
    counter = page.locator('[data-sms-count="nl"]')
    # The click returns once the page is committed; the deferred script may not have run yet
    # (a loaded machine missed the typing that way). Type once the live count is wired up.
    await page.locator("#editor[data-live=on]").wait_for()
    before = await counter.inner_text()
    assert "1 SMS segment " in before and "GSM-7" in before
    await sms.fill(WORDING)
    from playwright.async_api import expect  # installed: the browser fixture checked

    await expect(counter).to_contain_text("2 SMS segments", timeout=15_000)
    assert "2 SMS segments" in await counter.inner_text()  # the live count changed
    await _shot(page, tmp_path / "editor-1280.png", 1280)

    await page.get_by_role("button", name="Test against recent events").click()
    await page.wait_for_url(re.compile(r".*/trial$"))
    text = await page.inner_text("body")
    assert "1 of 1 events would have raised this alert" in text and "Joost Bakker" in text
    await _shot(page, tmp_path / "trial-1280.png", 1280)
    await page.get_by_role("link", name="Back to the editor").click()

    await page.get_by_role("button", name="Save and preview").click()
    await page.wait_for_url(re.compile(r".*/preview$"))
    bubble = await page.locator(".bubble").inner_text()
    assert "er is 750.00 EUR afgeschreven bij Electro World" in bubble
    assert "Dutch" in await page.get_by_label("Language").inner_text()
    await _shot(page, tmp_path / "preview-1280.png", 1280)

    stack.settings.four_eyes = True
    await page.goto(f"{base}/admin/alert-types/large_debit")
    await page.get_by_label("What changed").fill("Dutch SMS reworded")
    await page.get_by_role("button", name="Publish").click()
    assert "someone else must publish" in await page.inner_text("body")
    await _shot(page, tmp_path / "four-eyes-1280.png", 1280)
    await context.close()

    phone = await browser.new_context(viewport={"width": 390, "height": 844})
    page = await phone.new_page()
    await _log_in(page, base, "colleague")
    await _shot(page, tmp_path / "list-390.png", 390)
    await page.goto(f"{base}/admin/alert-types/large_debit")
    await _shot(page, tmp_path / "editor-390.png", 390)
    await page.goto(f"{base}/admin/alert-types/large_debit/preview?locale=nl")
    await _shot(page, tmp_path / "preview-390.png", 390)
    await page.goto(f"{base}/admin/alert-types/large_debit")
    await page.get_by_role("button", name="Publish").click()
    assert "Published as version" in await page.inner_text("body")
    await page.get_by_role("link", name="Versions and changes").click()
    assert "Dutch SMS: Text message" in await page.inner_text("body")  # the diff, in words
    await _shot(page, tmp_path / "versions-390.png", 390)
    await phone.close()

    await make_event(deps, account=ACCOUNT, amount="980.40", event_id="E-new", description="IKEA")
    assert await evaluate_pending(deps=deps, now=utcnow())
    await drain(stack.runtime, wait_deferred=True, timeout=60, idle_check=stack.idle)
    bodies = [m.body for m in stack.sim.state.messages.values() if m.to == PHONE]
    assert any("er is 980.40 EUR afgeschreven bij IKEA" in b for b in bodies), bodies
