"""The plain-text twin: for every seeded alert type with email content, in every language it has,
the text part says what the HTML part says and carries every link the HTML part offers."""

from __future__ import annotations

import re
from html import unescape

import pytest

from alerts.alert_types.content import AlertContent, render_context
from rules.catalogue import default_catalogue

from .test_content import BASE, LINKS, OPTIONS

CASES = [
    pytest.param(spec, locale, id=f"{spec.key}-{locale}")
    for spec in default_catalogue()
    for locale, channels in spec.content.items()
    if "email" in channels
]


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))


@pytest.mark.parametrize(("spec", "locale"), CASES)
def test_text_part_has_the_words_and_links_of_the_html_part(spec: object, locale: str) -> None:
    ctx = {**BASE, "link_unsubscribe": "https://x/u/token"}
    _, text, html = AlertContent(spec, locale, "email").email(  # type: ignore[arg-type]
        render_context(ctx, OPTIONS, "email"), LINKS
    )
    body = html.split("</div>", 1)[1]  # after the hidden preheader
    links = set(re.findall(r'href="([^"]+)"', body))
    assert links, "the email offers no link at all"
    assert {unescape(link) for link in links} <= set(re.findall(r"https://\S+", text))
    visible = unescape(re.sub(r"<[^>]+>", " ", re.sub(r'href="[^"]+"', "", body)))
    missing = _words(visible) - _words(text)
    assert not missing, f"words in the HTML part but not in the text part: {sorted(missing)}"
