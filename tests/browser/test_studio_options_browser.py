"""Real Chromium: an editor reorders the response options of "Large debit", then its channels,
by drag and drop and by keyboard alone (focus an Up/Down button, Enter); each order is kept in
the draft."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from admin_ui.users import create_user
from alerts.alert_types.store import get_spec, load_specs, save_spec
from herald.runtime import Runtime
from tests.browser.test_admin_browser import browser  # noqa: F401  (the Chromium fixture)
from tests.browser.test_staff_browser import PASSWORD, _shots, server  # noqa: F401

pytestmark = pytest.mark.integration
EDITOR = "/admin/alert-types/large_debit"


async def _keys(page: Any) -> list[str]:
    return [await k.input_value() for k in await page.locator("input[name=opt_key]").all()]


async def test_an_editor_reorders_options_by_drag_and_drop_and_by_keyboard(
    server: str,  # noqa: F811
    runtime: Runtime,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with runtime.deps.sessions() as session:
        await create_user(session=session, username="edie", password=PASSWORD, role="editor")
        # English and Dutch only, so the three option rows (a label per language) fit on the
        # screen the drag happens on.
        await load_specs(session)
        spec = await get_spec(session, "large_debit")
        assert spec is not None
        data: dict[str, Any] = json.loads(json.dumps(spec.as_json()))
        for locale in ("fr", "de", "es"):
            del data["content"][locale]
        await save_spec(session, data, actor="test")
        await session.commit()
    ctx = await browser.new_context()
    page = await ctx.new_page()
    await page.goto(f"{server}{EDITOR}")
    await page.get_by_label("Username").fill("edie")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(rf".*{EDITOR}$"))
    assert await _keys(page) == ["1", "2", "9"]
    await page.locator("#options").scroll_into_view_if_needed()
    await _shots(page, tmp_path, "options")

    rows = page.locator("#options li.option")
    await rows.nth(2).scroll_into_view_if_needed()
    handle = await rows.nth(2).locator(".handle").bounding_box()
    target = await rows.nth(0).bounding_box()
    assert handle is not None and target is not None
    async with page.expect_navigation():  # letting go saves the draft
        await page.mouse.move(handle["x"] + 5, handle["y"] + 10)
        await page.mouse.down()
        await page.mouse.move(handle["x"] + 5, handle["y"] - 10, steps=5)  # the drag starts
        await page.mouse.move(target["x"] + 40, target["y"] + 5, steps=10)
        await page.mouse.up()
    assert "Draft saved" in await page.inner_text("main")
    assert await _keys(page) == ["9", "1", "2"]

    down = page.get_by_role("button", name="Move option 9 down")
    await down.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(rf".*{EDITOR}#options$"))
    assert await _keys(page) == ["1", "9", "2"]
    assert "Response options saved in the draft." in await page.inner_text("main")
    await page.reload()  # kept in the draft, not only on the page
    assert await _keys(page) == ["1", "9", "2"]
    await _shots(page, tmp_path, "options-moved")
    for width in (1280, 390):
        await page.set_viewport_size({"width": width, "height": 900})
        await page.locator("#options").screenshot(path=tmp_path / f"options-list-{width}.png")

    channels = page.locator("#delivery li.option")
    await channels.nth(1).scroll_into_view_if_needed()
    handle = await channels.nth(1).locator(".handle").bounding_box()  # SMS
    target = await channels.nth(0).bounding_box()
    assert handle is not None and target is not None
    async with page.expect_navigation():
        await page.mouse.move(handle["x"] + 5, handle["y"] + 10)
        await page.mouse.down()
        await page.mouse.move(handle["x"] + 5, handle["y"] - 10, steps=5)
        await page.mouse.move(target["x"] + 40, target["y"] + 5, steps=10)
        await page.mouse.up()
    order = page.locator("#delivery input[name=ch_order]")
    assert [await o.input_value() for o in await order.all()] == ["sms", "voice", "email"]
    await page.get_by_role("button", name="Move email up").focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(rf".*{EDITOR}#delivery$"))
    assert [await o.input_value() for o in await order.all()] == ["sms", "email", "voice"]
    for width in (1280, 390):
        await page.set_viewport_size({"width": width, "height": 900})
        await page.locator("#delivery").screenshot(path=tmp_path / f"delivery-{width}.png")
    await ctx.close()
