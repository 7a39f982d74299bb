"""The customer's unsubscribe page (/u/) in each of Herald's five languages, in real Chromium at
320, 390 and 1280 px: in that language, <html lang> right, no sideways scroll, axe clean."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from alerts.models import Customer
from tests.browser.test_accessibility import AXE, WIDE_JS, _audit
from tests.browser.test_admin_browser import browser  # noqa: F401  (the shared fixture)
from tests.conftest import Stack, missing_infrastructure
from tests.service.alerts.responses.conftest import send_alert

pytestmark = pytest.mark.integration
SAID = {
    "en": "Stop these messages?",
    "nl": "Deze berichten stoppen?",
    "fr": "Ne plus recevoir ces messages\u202f?",
    "de": "Diese Nachrichten abbestellen?",
    "es": "¿Dejar de recibir estos mensajes?",
}


@pytest.mark.parametrize("width", [320, 390, 1280])
async def test_the_unsubscribe_page_in_five_languages(
    stack: Stack,
    browser: Any,  # noqa: F811
    width: int,
    tmp_path: Path,
) -> None:
    if not AXE.exists():
        missing_infrastructure(f"{AXE} is missing: run `npm ci` (make test does)")
    deps = stack.runtime.deps
    context = await browser.new_context(viewport={"width": width, "height": 800}, bypass_csp=True)
    page = await context.new_page()
    problems: list[str] = []
    for language, heading in SAID.items():
        _, customer_id, attempts = await send_alert(deps, ref=f"C-{language}", name="Ada")
        async with deps.sessions() as session:
            customer = await session.get(Customer, customer_id)
            assert customer is not None
            customer.locale = language
            session.add(customer)
            await session.commit()
        url = stack.api.url + f"/u/{deps.links.sign_unsubscribe(attempts['email'])}"
        problems += [f"{language}: {p}" for p in await _audit(page, url)]
        await page.screenshot(path=tmp_path / f"unsubscribe-{language}-{width}.png", full_page=True)
        if await page.evaluate("document.documentElement.lang") != language:
            problems.append(f"{language}: <html lang> is not {language}")
        if heading not in await page.inner_text("h1"):
            problems.append(f"{language}: the heading is not {heading!r}")
        scroll = await page.evaluate("document.documentElement.scrollWidth")
        if scroll > width:
            problems.append(f"{language}: {scroll} px wide: {await page.evaluate(WIDE_JS)}")
    await context.close()
    assert not problems, "\n".join(problems)
