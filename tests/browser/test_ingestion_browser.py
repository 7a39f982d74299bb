"""Real Chromium: the ingestion page tells an operator which file a crash left half-read, and
the one command that reads it again, at desktop width and at a phone's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from admin_ui.users import create_user
from tests.api.test_admin_ingestion import _interrupted_file
from tests.browser.test_admin_browser import browser  # noqa: F401  (the shared fixture)
from tests.conftest import Stack

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
async def test_an_interrupted_file_is_shown_with_the_command_to_resume_it(
    stack: Stack,
    browser: Any,  # noqa: F811
    tmp_path: Path,
    width: int,
    height: int,
) -> None:
    file_id = await _interrupted_file(stack.runtime, tmp_path)
    async with stack.runtime.deps.sessions() as session:
        await create_user(session=session, username="ops", password="correct horse battery")
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    await page.goto(f"{stack.api.url}/admin/ingestion")
    await page.get_by_label("Username").fill("ops")
    await page.get_by_label("Password").fill("correct horse battery")
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r".*/admin/ingestion$"))
    row = page.get_by_role("row").filter(has_text="Interrupted")
    await row.wait_for()
    text = await row.inner_text()
    assert "night.xml" in text and f"herald ingest --resume {file_id}" in text
    await page.screenshot(path=tmp_path / f"ingestion-interrupted-{width}.png", full_page=True)
    await context.close()
