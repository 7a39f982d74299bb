"""What every browser test of a page checks, in one place: axe-core (vendored by npm, run from
node_modules) finds no serious or critical violation, nothing sticks out sideways, and
<html lang> says the page's language. The pages' CSP allows only their own scripts: a context
that runs axe is opened with ``bypass_csp=True`` (the test injects axe, not the page)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import missing_infrastructure

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# The elements that stick out past the right edge of the screen, or whose content (a long word)
# overflows them past it: to say which one to fix.
WIDE_JS = """() => [...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1 ||
                el.getBoundingClientRect().left + el.scrollWidth > window.innerWidth + 1)
  .slice(0, 8)
  .map(el => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}` +
             `${el.className ? '.' + String(el.className).split(' ').join('.') : ''}`)"""


def require_axe() -> None:
    if not AXE.exists():
        missing_infrastructure(f"{AXE} is missing: run `npm ci` (make test does)")


def serious(result: dict[str, Any]) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(n["target"][0] if n["target"] else "?" for n in v["nodes"][:5])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def run_axe(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return serious(json.loads(json.dumps(result)))


async def audit(page: Any, url: str) -> list[str]:
    """Open ``url`` (it must answer 2xx) and run axe on it."""
    response = await page.goto(url)
    assert response is not None and response.ok, f"{url}: {response and response.status}"
    return [f"{url}: {line}" for line in await run_axe(page)]


async def fits(page: Any, width: int) -> list[str]:
    """Nothing wider than the screen (no sideways scroll), naming what sticks out."""
    scroll = await page.evaluate("document.documentElement.scrollWidth")
    if scroll <= width:
        return []
    return [f"{scroll} px wide on a {width} px screen: {await page.evaluate(WIDE_JS)}"]


async def speaks(page: Any, language: str) -> list[str]:
    lang = await page.evaluate("document.documentElement.lang")
    return [] if lang == language else [f'<html lang="{lang}">, not {language}']
