"""Every seeded alert type's email, in each of Herald's five languages, opened in real Chromium
at a phone's 390 px: no sideways scroll, axe no serious or critical violation, <html lang> the
language of its words. Rendered with the long sample values (the longest a real one gets) and a
configured brand; screenshots kept (``email-<type>-<lang>-390.png``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from alerts.alert_types.content import (
    SAMPLE_LINK,
    AlertContent,
    channel_options,
    render_context,
    sample_context,
)
from channels.i18n import LANGUAGES, language_for
from rules.catalogue import default_catalogue
from tests.browser.axe import fits, require_axe, run_axe, speaks
from tests.browser.test_admin_browser import browser  # noqa: F401  (the shared fixture)

pytestmark = pytest.mark.integration
WIDTH = 390
EMAIL_TYPES = [
    spec for spec in default_catalogue() if any("email" in c for c in spec.content.values())
]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_seeded_email_fits_a_phone_and_is_accessible(
    browser: Any,  # noqa: F811
    language: str,
    tmp_path: Path,
) -> None:
    require_axe()
    assert len(EMAIL_TYPES) >= 9, [s.key for s in EMAIL_TYPES]
    context = await browser.new_context(viewport={"width": WIDTH, "height": 800}, locale=language)
    page = await context.new_page()
    problems: list[str] = []
    for spec in EMAIL_TYPES:
        options = [o.model_dump() for o in spec.options]
        links = {o["intent"]: SAMPLE_LINK for o in channel_options(options, "email")}
        ctx = render_context(
            {
                **sample_context(),
                "brand_colour": "#0a7c3e",
                "link_unsubscribe": "https://alerts.example.com/u/" + "u" * 60,
            },
            options,
            "email",
        )
        _, _, html = AlertContent(spec, language, "email").email(ctx, links)
        await page.set_content(html)
        where = f"{spec.key} {language}"
        await page.screenshot(
            path=tmp_path / f"email-{spec.key}-{language}-{WIDTH}.png", full_page=True
        )
        problems += [f"{where}: {p}" for p in await run_axe(page)]
        problems += [f"{where}: {p}" for p in await fits(page, WIDTH)]
        spoken = language if language in spec.content else language_for(spec.fallback_locale)
        problems += [f"{where}: {p}" for p in await speaks(page, spoken)]
    await context.close()
    assert not problems, "\n".join(problems)
