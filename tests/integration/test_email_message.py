"""The email as it arrives through the real SMTP server (the aiosmtpd sink): multipart with a
plain-text twin that says what the HTML part says, every button also a plain link in the text,
and the one-click unsubscribe headers (RFC 8058) on marketing only."""

from __future__ import annotations

import re
from email.message import EmailMessage
from html import unescape

import pytest

from tests.conftest import Stack
from tests.integration.test_email_unsubscribe import _offer

pytestmark = pytest.mark.integration


def _parts(mail: EmailMessage) -> tuple[str, str]:
    assert mail.get_content_type() == "multipart/alternative", mail.get_content_type()
    kinds = [part.get_content_type() for part in mail.iter_parts()]
    assert kinds == ["text/plain", "text/html"], kinds  # the richest last (RFC 2046)
    text, html = (str(part.get_content()) for part in mail.iter_parts())
    return text, html


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))


async def test_each_email_has_a_text_twin_with_its_words_and_every_button_as_a_link(
    stack: Stack,
) -> None:
    offer, service = await _offer(stack)
    for mail in (offer, service):
        text, html = _parts(mail)
        body = html.split("</title>", 1)[1].split("</div>", 1)[1]  # after the hidden preheader
        buttons = re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', body)
        assert buttons, "the HTML part offers no link"
        for href, label in buttons:
            link = unescape(href)
            assert link in text, f"{label!r} has no plain link in the text part"
        visible = unescape(re.sub(r"<[^>]+>", " ", re.sub(r'href="[^"]+"', "", body)))
        missing = _words(visible) - _words(text)
        assert not missing, f"in the HTML part only: {sorted(missing)}"
        assert '<meta name="viewport"' in html and "Herald Bank" in html
    offer_text, offer_html = _parts(offer)
    agent = re.search(r'<a href="([^"]+/r/[^"]+)"[^>]*>([^<]+)</a>', offer_html)
    assert agent is not None
    assert f"{unescape(agent.group(2))}: {unescape(agent.group(1))}" in offer_text
    assert offer["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(r"<https?://\S+/u/\S+>", str(offer["List-Unsubscribe"]).strip())
    assert service["List-Unsubscribe"] is None and service["List-Unsubscribe-Post"] is None
