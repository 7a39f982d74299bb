"""Real Chromium: the studio's editor says which translations an alert type lacks (per
language and channel, and who gets the default language instead), at 1280 and 390 px."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from admin_ui.users import create_user
from alerts.alert_types.store import get_spec, load_specs, save_spec
from tests.browser.test_admin_browser import browser  # noqa: F401  (the shared fixture)
from tests.conftest import Stack

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"


async def _shot(page: Any, path: Path, width: int) -> None:
    await page.screenshot(path=path, full_page=False)
    assert await page.evaluate("document.documentElement.scrollWidth") <= width, path.name


async def test_the_editor_lists_the_missing_translations(
    stack: Stack,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    deps = stack.runtime.deps
    async with deps.sessions() as session:
        await create_user(session=session, username="translator", password=PASSWORD)
        await load_specs(session)
        spec = await get_spec(session, "low_balance")
        assert spec is not None
        data: dict[str, Any] = json.loads(json.dumps(spec.as_json()))
        del data["content"]["es"]["sms"]
        del data["content"]["de"]
        await save_spec(session, data, actor="test")
        await session.commit()
    base = stack.api.url
    for width in (1280, 390):
        context = await browser.new_context(viewport={"width": width, "height": 900})
        page = await context.new_page()
        await page.goto(f"{base}/admin/alert-types")
        await page.get_by_label("Username").fill("translator")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Log in").click()
        await page.wait_for_url(re.compile(r".*/admin/alert-types$"))

        await page.goto(f"{base}/admin/alert-types/large_debit")
        complete = page.get_by_role("region", name="Translations")
        assert "Every language Herald speaks has its own text" in await complete.inner_text()

        await page.goto(f"{base}/admin/alert-types/low_balance")
        section = page.get_by_role("region", name="Translations")
        await section.scroll_into_view_if_needed()
        items = await section.get_by_role("listitem").all_inner_texts()
        assert items == [
            "German SMS: no text yet, customers get English",
            "German email: no text yet, customers get English",
            "Spanish SMS: no text yet, customers get English",
        ]
        await _shot(page, tmp_path / f"translations-{width}.png", width)
        await section.screenshot(path=tmp_path / f"translations-section-{width}.png")
        await context.close()
