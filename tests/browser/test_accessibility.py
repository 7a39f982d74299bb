"""Real Chromium with axe-core (vendored by npm, run from node_modules): no staff page has a
serious or critical accessibility violation, at desktop width and at a phone's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from admin_ui.users import create_user
from alerts.customers.records import CustomerIn, upsert_customer
from tests.browser.axe import audit, fits, require_axe
from tests.browser.test_admin_browser import browser  # noqa: F401  (the shared fixture)
from tests.conftest import Stack

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"
STUDIO_PAGES = [
    "/admin/alert-types",
    "/admin/alert-types/new",
    "/admin/alert-types/large_debit",
    "/admin/alert-types/large_debit/preview",
    "/admin/alert-types/large_debit/trial",
    "/admin/alert-types/large_debit/versions",
    "/admin/alert-types/large_debit/phone",
    "/admin/recordings",
]
STAFF_PAGES = [
    "/admin/customers",
    "/admin/customers/C-A11Y",
    "/admin/handoffs",
    "/admin/ingestion",
    "/admin/reports",
    "/admin/users",
    "/admin/tokens",
    "/admin/audit",
    "/admin/integrations",
    "/admin/exports",
    "/admin/hours",
    "/agent",
    "/supervisor",
    "/supervisor/forecast",
]


@pytest.mark.parametrize("width", [1280, 390])
async def test_no_staff_page_has_a_serious_accessibility_violation(
    stack: Stack,
    browser: Any,  # noqa: F811
    width: int,
) -> None:
    require_axe()
    deps = stack.runtime.deps
    async with deps.sessions() as session:
        await create_user(session=session, username="a11y", password=PASSWORD)
        await upsert_customer(
            session=session,
            data=CustomerIn(
                external_ref="C-A11Y",
                name="Ada Lovelace",
                accounts=["NL91ABNA0417164300"],
                phones=["+15550001234"],
            ),
        )
        await session.commit()
    base = stack.api.url
    # The pages' CSP allows only their own scripts; axe is injected by the test, not the page.
    context = await browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = await context.new_page()
    await page.goto(f"{base}/admin/login")
    await page.get_by_label("Username").fill("a11y")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r".*/admin/.*"))
    problems: list[str] = []
    for path in STUDIO_PAGES + STAFF_PAGES:
        problems += await audit(page, base + path)
    await context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("width", [320, 390, 1280])
async def test_no_customer_page_has_a_serious_violation_or_scrolls_sideways(
    stack: Stack,
    browser: Any,  # noqa: F811
    width: int,
    tmp_path: Path,
) -> None:
    from sqlmodel import select

    from alerts.links import ResponseLink
    from alerts.models import ContactPoint
    from tests.service.alerts.responses.conftest import send_alert

    require_axe()
    deps = stack.runtime.deps
    _, customer_id, attempts = await send_alert(deps, ref="C-A11Y", name="Ada Lovelace")
    async with deps.sessions() as session:
        email = (
            await session.exec(
                select(ContactPoint).where(
                    ContactPoint.customer_id == customer_id, ContactPoint.kind == "email"
                )
            )
        ).first()
    assert email is not None and email.id is not None
    links = deps.links
    pages = {
        "preferences": f"/p/{links.sign_preferences(customer_id)}",
        "answer (confirm)": f"/r/{links.sign(ResponseLink(attempts['email'], 'confirm'))}",
        "unsubscribe": f"/u/{links.sign_unsubscribe(attempts['email'])}",
        "consent": f"/c/{links.sign_consent(email.id, email.address)}",
    }
    context = await browser.new_context(viewport={"width": width, "height": 800}, bypass_csp=True)
    page = await context.new_page()
    problems: list[str] = []
    for name, path in pages.items():
        problems += [f"{name}: {p}" for p in await audit(page, stack.api.url + path)]
        await page.screenshot(
            path=tmp_path / f"customer-{name.split()[0]}-{width}.png", full_page=True
        )
        problems += [f"{name}: {p}" for p in await fits(page, width)]
        if not await page.evaluate("document.documentElement.lang"):
            problems.append(f"{name}: no lang attribute")
    await context.close()
    assert not problems, "\n".join(problems)
