"""Real Chromium, keyboard only: on the preferences page and the answer confirm page every
control is reached with Tab (a radio group once, as browsers do), each shows a visible focus
indicator (a computed outline or box-shadow), a checkbox ticks with Space and the form is sent
with Enter / Space. Screenshots at 390 px of a focused control are kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from alerts.links import ResponseLink
from alerts.models import PreferenceChange, Response
from tests.browser.test_admin_browser import browser  # noqa: F401  (the shared fixture)
from tests.conftest import Stack
from tests.service.alerts.responses.conftest import send_alert

pytestmark = pytest.mark.integration

# Every control a person can use, named once per radio group; data-kb marks them so the focused
# element can be told apart. Controls inside a closed <details> are not shown, so not counted.
MARK = """() => {
  const seen = new Set(); const out = [];
  const all = document.querySelectorAll(
    'main a[href], main button, main input:not([type=hidden]), main select, main textarea,'
    + ' main summary');
  all.forEach((el, i) => {
    if (!el.checkVisibility() || el.disabled) return;
    const key = el.type === 'radio' ? 'radio:' + el.name : 'kb' + i;
    el.dataset.kb = key;
    if (!seen.has(key)) { seen.add(key); out.push(key); }
  });
  return out;
}"""
FOCUSED = """() => {
  const el = document.activeElement; const s = getComputedStyle(el);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
  return {key: el.dataset.kb || el.tagName, name: el.name || '', value: el.value || '',
          type: el.type || '', visible: outline || s.boxShadow !== 'none',
          style: s.outlineStyle + ' ' + s.outlineWidth + ' / ' + s.boxShadow};
}"""


async def _tab_through(page: Any, shot: Path) -> list[dict[str, str]]:
    """Tab from the top until every marked control was focused (or far too many presses);
    the focused elements in order. Each must show its focus."""
    wanted = await page.evaluate(MARK)
    reached: list[dict[str, str]] = []
    for _press in range(3 * len(wanted) + 10):
        await page.keyboard.press("Tab")
        now = await page.evaluate(FOCUSED)
        reached.append(now)
        assert now["visible"], f"no visible focus on {now}"
        if len(reached) == min(4, len(wanted)):
            await page.screenshot(path=shot)
        if {r["key"] for r in reached} >= set(wanted):
            break
    missing = set(wanted) - {r["key"] for r in reached}
    assert not missing, f"never reached with Tab: {missing}"
    return reached


async def test_the_preferences_page_works_with_the_keyboard_alone(
    stack: Stack,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    deps = stack.runtime.deps
    _, customer_id, _attempts = await send_alert(deps, ref="K-1", name="Ada Moreau")
    context = await browser.new_context(viewport={"width": 390, "height": 800})
    page = await context.new_page()
    await page.goto(f"{stack.api.url}/p/{deps.links.sign_preferences(customer_id)}")
    await page.locator("summary").first.evaluate("s => s.parentElement.open = true")
    reached = await _tab_through(page, tmp_path / "keyboard-preferences-390.png")
    assert len(reached) > 15

    await page.locator("body").evaluate("b => document.activeElement.blur()")
    for _press in range(80):  # to the "No text messages" box: Space ticks it
        await page.keyboard.press("Tab")
        now = await page.evaluate(FOCUSED)
        if now["name"] == "*.never" and now["value"] == "sms":
            break
    else:
        pytest.fail("the 'No text messages' box is not reachable with Tab")
    await page.keyboard.press("Space")
    await page.screenshot(path=tmp_path / "keyboard-preferences-checkbox-390.png")
    assert await page.locator("input[name='*.never'][value=sms]").is_checked()
    for _press in range(80):
        await page.keyboard.press("Tab")
        if (await page.evaluate(FOCUSED))["type"] == "submit":
            break
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert "Your changes are saved" in await page.inner_text("main")
    async with deps.sessions() as session:
        [change] = (await session.exec(select(PreferenceChange))).all()
    assert change.after["opted_out_channels"] == ["sms"]
    await context.close()


async def test_the_answer_confirm_page_works_with_the_keyboard_alone(
    stack: Stack,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    deps = stack.runtime.deps
    _, _customer, attempts = await send_alert(deps, ref="K-2", name="Ada Moreau")
    context = await browser.new_context(viewport={"width": 390, "height": 800})
    page = await context.new_page()
    await page.goto(
        f"{stack.api.url}/r/{deps.links.sign(ResponseLink(attempts['email'], 'confirm'))}"
    )
    reached = await _tab_through(page, tmp_path / "keyboard-answer-390.png")
    assert [r["type"] for r in reached].count("submit") == 1
    await page.locator("body").evaluate("b => document.activeElement.blur()")
    for _press in range(10):
        await page.keyboard.press("Tab")
        if (await page.evaluate(FOCUSED))["type"] == "submit":
            break
    await page.screenshot(path=tmp_path / "keyboard-answer-button-390.png")
    async with page.expect_navigation():
        await page.keyboard.press("Space")
    assert "Thank you" in await page.inner_text("main")
    async with deps.sessions() as session:
        assert len((await session.exec(select(Response))).all()) == 1
    await context.close()
