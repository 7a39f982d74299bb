"""Real Chromium: a viewer opens the preview of "Large debit" and the call's parts play: the
uploaded recording and the spoken text (espeak-ng), each a playable audio of some length."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from admin_ui.users import create_user
from herald.config import Settings
from herald.runtime import Runtime
from tests.api.test_recordings_api import tiny_wav
from tests.api.test_studio_audio import engine  # noqa: F401  (espeak-ng, or fail under CI)
from tests.browser.test_admin_browser import browser  # noqa: F401  (the Chromium fixture)
from tests.browser.test_staff_browser import PASSWORD, _shots, server  # noqa: F401
from tests.factories import api_headers

pytestmark = pytest.mark.integration

DURATION = """async (audio) => {
  audio.preload = "auto";
  audio.load();
  await new Promise((ok, bad) => {
    audio.addEventListener("loadedmetadata", ok, { once: true });
    audio.addEventListener("error", () => bad(new Error("cannot play " + audio.src)),
      { once: true });
  });
  return audio.duration;
}"""


async def test_the_preview_plays_the_recording_and_the_spoken_parts(
    server: str,  # noqa: F811
    runtime: Runtime,
    settings: Settings,
    browser: Any,  # noqa: F811
    engine: None,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=10) as api:
        uploaded = await api.put(
            "/api/v1/alert-types/large_debit/recordings/en/0",
            content=tiny_wav(),
            headers={**api_headers(settings), "Content-Type": "audio/wav"},
        )
        assert uploaded.status_code in (200, 201), uploaded.text
    async with runtime.deps.sessions() as session:
        await create_user(session=session, username="vi", password=PASSWORD, role="viewer")
    ctx = await browser.new_context()
    page = await ctx.new_page()
    await page.goto(f"{server}/admin/alert-types/large_debit/preview?locale=en")
    await page.get_by_label("Username").fill("vi")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r".*/preview\?locale=en$"))
    recorded = page.get_by_label("Listen: Message, part 1")
    spoken = page.get_by_label("Listen: Message, part 2")
    assert await recorded.evaluate(DURATION) > 0
    assert await spoken.evaluate(DURATION) > 1.0  # a sentence, not a blip
    await page.locator("h2", has_text="Voice call").scroll_into_view_if_needed()
    await _shots(page, tmp_path, "preview-voice")
    await ctx.close()
