"""Real Chromium: the preferences page writes a customer's quiet hours as their language writes
a time of day (``10:00 PM`` in English, ``22:00`` in Dutch, French, German and Spanish), in
the fields, in the confirmation and when the page is opened again; what they type in their
own way (``21.30``, ``21h30``, ``9:30 pm``) is understood. The browser's own locale is English
in every case: a native ``<input type=time>`` would show ``10:00 PM`` whatever the page's
language, which is what this guards against."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from alerts.models import Customer, PreferenceChange
from tests.browser.test_admin_browser import browser  # noqa: F401  (the shared fixture)
from tests.conftest import Stack
from tests.factories import make_customer, make_event

pytestmark = pytest.mark.integration

# language: (the suggested window as shown, what the customer types, how it reads back)
CASES = {
    "en": (("10:00 PM", "7:00 AM"), ("9:30 pm", "7:15 AM"), ("9:30 PM", "7:15 AM")),
    "nl": (("22:00", "07:00"), ("21.30", "7.15"), ("21:30", "07:15")),
    "fr": (("22:00", "07:00"), ("21h30", "7 h 15"), ("21:30", "07:15")),
    "de": (("22:00", "07:00"), ("21:30", "07:15"), ("21:30", "07:15")),
    "es": (("22:00", "7:00"), ("21:30", "7:15"), ("21:30", "7:15")),  # Spanish: H:mm
}


@pytest.mark.parametrize("language", list(CASES))
async def test_quiet_hours_read_as_the_customers_language_writes_times(
    stack: Stack,
    browser: Any,  # noqa: F811
    language: str,
    tmp_path: Path,
) -> None:
    suggested, typed, stored = CASES[language]
    deps = stack.runtime.deps
    customer = await make_customer(
        deps, ref=f"T-{language}", name="Ada Moreau", phone="+15550004567", email="a@example.com"
    )
    assert customer.id is not None
    async with deps.sessions() as session:
        row = await session.get(Customer, customer.id)
        assert row is not None
        row.locale = language
        session.add(row)
        await session.commit()
    await make_event(deps)
    context = await browser.new_context(locale="en-US", viewport={"width": 390, "height": 800})
    page = await context.new_page()
    url = f"{stack.api.url}/p/{deps.links.sign_preferences(customer.id)}"
    await page.goto(url)
    assert await page.get_attribute("html", "lang") == language
    assert await page.locator("input[type=time]").count() == 0
    assert (await page.input_value("#s0-from"), await page.input_value("#s0-to")) == suggested

    await page.locator("input[name='*.quiet_mode'][value=custom]").check()
    await page.fill("#s0-from", typed[0])
    await page.fill("#s0-to", typed[1])
    async with page.expect_navigation():
        await page.locator("form button[type=submit]").last.click()
    confirmation = await page.inner_text("main")
    assert f"{stored[0]} " in confirmation and f"{stored[1]} " in confirmation, confirmation
    if language != "en":
        assert " PM" not in confirmation and " AM" not in confirmation
    await page.screenshot(path=tmp_path / f"quiet-hours-{language}-390.png", full_page=True)
    async with deps.sessions() as session:
        [change] = (await session.exec(select(PreferenceChange))).all()
    assert change.after["quiet_hours"] == [
        {"window": "21:30-07:15", "channels": ["voice", "sms", "email"]}
    ]

    await page.goto(url)  # opened again: the stored hours, in the same words
    assert (await page.input_value("#s0-from"), await page.input_value("#s0-to")) == stored
    await context.close()
