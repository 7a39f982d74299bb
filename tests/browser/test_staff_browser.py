"""Real Chromium: an administrator adds an editor; the editor creates a personal API token, sees
it once and uses it; the audit log names the editor; a viewer finds no edit controls and their
posts are refused. Screenshots of each page at 1280 and 390 pixels."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from admin_ui.users import create_user
from channels.twilio_sim import LoopbackServer
from herald.app import create_app
from herald.config import Settings
from herald.runtime import Runtime
from tests.browser.test_admin_browser import browser  # noqa: F401  (the Chromium fixture)

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"
WIDTHS = (1280, 390)


@pytest.fixture
async def server(settings: Settings, runtime: Runtime) -> AsyncIterator[str]:
    """Herald's web app on a real port (no simulator or mail sink: these pages need neither)."""
    api = LoopbackServer(create_app(settings, runtime), port=settings.api_port)
    async with api:
        yield api.url


async def _log_in(page: Any, url: str, username: str) -> None:
    await page.goto(f"{url}/admin/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r".*/admin/customers$"))


async def _shots(page: Any, tmp_path: Path, name: str) -> None:
    """A screenshot at each width; on none does the page scroll sideways."""
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        await page.screenshot(path=tmp_path / f"{name}-{width}.png", full_page=True)
        assert await page.evaluate("document.documentElement.scrollWidth") <= width, name
    await page.set_viewport_size({"width": WIDTHS[0], "height": 900})


async def test_admin_adds_an_editor_who_makes_a_token_and_the_audit_names_them(
    server: str,
    runtime: Runtime,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with runtime.deps.sessions() as session:
        await create_user(session=session, username="root", password=PASSWORD, role="admin")
    admin_ctx = await browser.new_context()
    admin = await admin_ctx.new_page()
    await _log_in(admin, server, "root")
    await admin.get_by_role("link", name="Users").click()
    await admin.wait_for_url(re.compile(r".*/admin/users$"))
    await admin.get_by_label("Username", exact=True).fill("edna")
    await admin.get_by_label("Password", exact=True).fill(PASSWORD)
    await admin.get_by_label("Role", exact=True).select_option("editor")
    await admin.get_by_role("button", name="Add user").click()
    await admin.wait_for_url(re.compile(r".*/admin/users\?done=created$"))
    assert "The user was created" in await admin.inner_text("main")
    card = admin.get_by_role("region", name="User edna")
    assert "editor" in await card.inner_text()
    await _shots(admin, tmp_path, "users")

    editor_ctx = await browser.new_context()
    editor = await editor_ctx.new_page()
    await _log_in(editor, server, "edna")
    nav = await editor.inner_text("header")
    assert "My API tokens" in nav and "Users" not in nav and "Audit log" not in nav
    await editor.get_by_role("link", name="My API tokens").click()
    await editor.get_by_label("Token name").fill("Reporting script")
    await editor.get_by_role("button", name="Create token").click()
    secret = (await editor.get_by_label("Your new token").inner_text()).strip()
    assert secret.startswith("hrd_")
    await _shots(editor, tmp_path, "token-created")
    await editor.goto(f"{server}/admin/tokens")
    listed = await editor.inner_text("main")
    assert secret not in await editor.content() and "Reporting script" in listed
    assert "never" in listed  # not used yet
    await _shots(editor, tmp_path, "tokens")

    async with httpx.AsyncClient(base_url=server, timeout=10) as api:
        auth = {"Authorization": f"Bearer {secret}"}
        read = await api.get("/api/v1/alert-types", headers=auth)
        assert read.status_code == 200 and read.json()
        refused = await api.patch(
            "/api/v1/alert-types/payment_received", json={"enabled": False}, headers=auth
        )
        assert refused.status_code == 403  # an editor edits drafts; publishing is not theirs
    await editor.reload()
    assert "never" not in await editor.locator("table").inner_text()  # last used: just now

    await admin.get_by_role("link", name="Audit log").click()
    await admin.get_by_label("Who").select_option("edna")
    await admin.get_by_role("button", name="Filter").click()
    await admin.wait_for_url(re.compile(r".*/admin/audit\?who=edna.*"))
    rows = admin.locator("table tbody tr")
    assert await rows.count() == 1
    row = await rows.first.inner_text()
    assert "edna" in row and "api token" in row and "create" in row and "Reporting script" in row
    await _shots(admin, tmp_path, "audit")
    await admin.get_by_label("Who").select_option("")
    await admin.get_by_role("button", name="Filter").click()
    everything = await admin.locator("table").inner_text()
    assert "root" in everything and "user edna: create" in everything
    await admin_ctx.close()
    await editor_ctx.close()


async def test_a_viewer_finds_no_edit_controls_and_their_posts_are_refused(
    server: str,
    runtime: Runtime,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with runtime.deps.sessions() as session:
        await create_user(session=session, username="vera", password=PASSWORD, role="viewer")
    ctx = await browser.new_context()
    page = await ctx.new_page()
    await _log_in(page, server, "vera")
    nav = await page.inner_text("header")
    assert "Users" not in nav and "Audit log" not in nav
    await _shots(page, tmp_path, "viewer-customers")
    assert await page.get_by_role("button", name="Add user").count() == 0
    await page.goto(f"{server}/admin/users")
    assert "Your role does not allow this" in await page.inner_text("main")
    assert await page.get_by_role("button", name="Add user").count() == 0
    await _shots(page, tmp_path, "viewer-refused")
    await page.goto(f"{server}/admin/tokens")
    csrf = await page.locator("input[name=csrf_token]").first.get_attribute("value")
    for path, form in [
        ("/admin/users", {"username": "mallory", "password": PASSWORD, "role": "admin"}),
        ("/admin/users/1/role", {"role": "admin"}),
        ("/admin/users/1/password", {}),
    ]:
        refused = await page.request.post(
            f"{server}{path}", form={**form, "csrf_token": csrf}, max_redirects=0
        )
        assert refused.status == 403, path
    async with runtime.deps.sessions() as session:
        from sqlmodel import select

        from alerts.models import User

        assert [u.username for u in (await session.exec(select(User))).all()] == ["vera"]
    await ctx.close()
