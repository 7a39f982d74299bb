"""Content rendering: sandboxed, strict about unknown variables, HTML escaped."""

from __future__ import annotations

import pytest

from alerts.content import ContentError, Renderer
from alerts.masking import mask

CTX = {
    "customer_name": "Ann <b>",
    "amount": "750.00",
    "currency": "EUR",
    "merchant": "Shop & Co",
    "account_ending": "4300",
    "brand": "Herald Bank",
    "callcentre_number": "+15550009999",
    "booking_date": "2026-11-23",
    "link_agent": "https://x/r/a",
    "link_confirm": "https://x/r/c",
    "link_forward": "https://x/r/f/f",
    "link_call_me": "https://x/r/m",
}


def test_sms_default_mentions_amount_merchant_and_reply_codes() -> None:
    text = Renderer({}).render("sms", CTX)
    assert "750.00 EUR" in text and "Shop & Co" in text
    assert "Reply 1" in text and "2 if this payment was yours" in text


def test_html_is_escaped_but_text_is_not() -> None:
    renderer = Renderer({})
    assert "Ann &lt;b&gt;" in renderer.render("email_html", CTX, html=True)
    assert "Ann <b>" in renderer.render("email_text", CTX)


def test_unknown_variable_is_a_clear_error() -> None:
    with pytest.raises(ContentError, match=r"'sms'.*balance"):
        Renderer({"sms": "Your balance is {{ balance }}"}).render("sms", CTX)


def test_sandbox_blocks_attribute_tricks() -> None:
    with pytest.raises(ContentError):
        Renderer({"sms": "{{ amount.__class__.__mro__[1].__subclasses__() }}"}).render("sms", CTX)


def test_masking_hides_contact_details() -> None:
    assert mask("+15550001111") == "+15***11"
    assert mask("daniel@example.com") == "d***@example.com"
