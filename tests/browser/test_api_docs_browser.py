"""Real Chromium with every host but Herald's blocked: /docs (Swagger UI) and /redoc render the
API's operations from assets Herald serves itself (no CDN). Screenshots at 1280 and 390 px."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.test_admin_browser import browser  # noqa: F401  (the Chromium fixture)
from tests.browser.test_staff_browser import server  # noqa: F401

pytestmark = pytest.mark.integration


async def _offline_page(browser: Any, server: str) -> tuple[Any, list[str]]:  # noqa: F811
    """A page whose requests to any other host are refused; returns them as they are tried."""
    ctx = await browser.new_context()
    own = urlsplit(server).netloc
    blocked: list[str] = []

    async def only_herald(route: Any) -> None:
        if urlsplit(route.request.url).netloc == own:
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort()

    await ctx.route("**/*", only_herald)
    return await ctx.new_page(), blocked


async def _shots(page: Any, tmp_path: Path, name: str) -> None:
    for width in (1280, 390):
        await page.set_viewport_size({"width": width, "height": 900})
        await page.screenshot(path=tmp_path / f"{name}-{width}.png")


async def test_swagger_ui_renders_offline(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    page, blocked = await _offline_page(browser, server)
    resp = await page.goto(f"{server}/docs")
    assert "default-src 'self'" in resp.headers["content-security-policy"]
    operations = page.locator(".opblock")
    await operations.first.wait_for(timeout=20_000)
    assert await operations.count() >= 20
    paths = await page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/ingest" in p for p in paths)
    await _shots(page, tmp_path, "api-docs")
    # An operation opens, with its parameters, as a reader would use it.
    await page.locator(".opblock-summary-path", has_text="/api/v1/ingest/files").first.click()
    await page.get_by_text("Parameters").first.wait_for()
    assert blocked == [], blocked


async def test_redoc_renders_offline(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    page, blocked = await _offline_page(browser, server)
    resp = await page.goto(f"{server}/redoc")
    assert "default-src 'self'" in resp.headers["content-security-policy"]
    await page.get_by_role("heading", name="Herald").first.wait_for(timeout=30_000)
    await page.get_by_text("/api/v1/ingest/files").first.wait_for(state="attached")
    await _shots(page, tmp_path, "api-redoc")
    assert blocked == [], blocked
