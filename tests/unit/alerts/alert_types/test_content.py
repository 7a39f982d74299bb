"""Content rendering: per locale and channel, options rendered per channel, sandboxed, strict
about unknown variables, HTML escaped, checked at edit time."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.alert_types.content import (
    AlertContent,
    ContentError,
    channel_options,
    check_spec_content,
    render_context,
)
from channels.masking import mask
from rules.catalogue import default_alert_type

OPTIONS = [
    {"key": "1", "intent": "agent", "label": "Speak to an agent"},
    {"key": "2", "intent": "confirm", "label": "This payment was mine"},
    {"key": "9", "intent": "repeat", "label": "Hear this message again"},
]
BASE: dict[str, Any] = {
    "customer_name": "Ann <b>",
    "amount": "750.00",
    "currency": "EUR",
    "description": "Shop & Co",
    "merchant": "Shop & Co",
    "account_ending": "4300",
    "brand": "Herald Bank",
    "callcentre_number": "+15550009999",
    "booking_date": "2026-11-23",
    "link_preferences": "https://x/p/token",
    "data": {},
}
LINKS = {
    "agent": "https://x/r/a",
    "confirm": "https://x/r/c",
    "call_me": "https://x/r/m",
    "forward": "https://x/r/f/f",
}


def large_debit(**changes: Any) -> Any:
    spec = default_alert_type("large_debit")
    return spec.model_validate({**spec.as_json(), **changes})


def test_sms_mentions_amount_and_the_reply_codes_of_the_alerts_own_options() -> None:
    ctx = render_context(BASE, OPTIONS, "sms")
    text = AlertContent(large_debit(), "en", "sms").render("body", ctx)
    assert "€750.00" in text and "Shop & Co" in text
    assert "Reply 1 Speak to an agent, 2 This payment was mine." in text
    assert "9" not in text.split("Reply")[1]  # "hear it again" is for calls only


def test_voice_prompt_lists_every_key() -> None:
    ctx = render_context(BASE, OPTIONS, "voice")
    prompt = AlertContent(large_debit(), "en", "voice").render("prompt", ctx)
    assert prompt == (
        "Speak to an agent: press 1. This payment was mine: press 2. "
        "Hear this message again: press 9."
    )


def test_email_html_is_made_from_the_text_template_escaped_with_buttons() -> None:
    ctx = render_context(BASE, OPTIONS, "email")
    subject, text, html = AlertContent(large_debit(), "en", "email").email(ctx, LINKS)
    assert "Ann <b>" in text and "Ann &lt;b&gt;" in html
    assert "Speak to an agent: https://x/r/a" in text and "Call me now: https://x/r/m" in text
    assert 'href="https://x/r/a"' in html and ">Call me now</a>" in html
    assert "Manage your alerts: https://x/p/token" in text
    assert 'href="https://x/p/token"' in html
    assert "http" not in html.replace("https://x/", "")  # no external resources
    assert "€750.00" in subject


def test_email_html_is_a_responsive_single_column_table_shell_in_the_customers_language() -> None:
    ctx = render_context(BASE, OPTIONS, "email")
    seeded = large_debit()  # with content for the customer's locale (lang is the text's)
    spec = seeded.model_copy(update={"content": {**seeded.content, "nl_NL": seeded.content["en"]}})
    _, _, html = AlertContent(spec, "nl_NL", "email").email(ctx, LINKS)
    assert html.startswith('<!doctype html><html lang="nl-NL">')
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "<style" not in html and "<script" not in html and "<link" not in html
    assert 'role="presentation"' in html and "max-width:600px" in html
    hidden = html.split('mso-hide:all">')[1].split("</div>")[0]
    assert hidden.startswith("Dear Ann &lt;b&gt;, A payment of €750.00")


def test_locale_falls_back_to_the_alert_types_fallback_locale() -> None:
    spec = large_debit()
    assert AlertContent(spec, "xx", "sms").template("body") == spec.content["en"]["sms"]["body"]


def test_email_offers_call_me_only_with_an_agent_and_always_forward() -> None:
    intents = [o["intent"] for o in channel_options(OPTIONS[1:], "email")]
    assert intents == ["confirm", "forward"]
    intents = [o["intent"] for o in channel_options(OPTIONS, "email")]
    assert intents == ["agent", "confirm", "call_me", "forward"]


def test_unknown_variable_is_a_clear_error() -> None:
    content = large_debit().content
    content["en"]["sms"]["body"] = "Your balance is {{ balance }}"
    spec = large_debit(content=content)
    with pytest.raises(ContentError, match=r"content.en.sms.body.*balance"):
        AlertContent(spec, "en", "sms").render("body", render_context(BASE, OPTIONS, "sms"))
    assert any("balance" in p for p in check_spec_content(spec))


def test_sandbox_blocks_attribute_tricks() -> None:
    content = large_debit().content
    content["en"]["sms"]["body"] = "{{ amount.__class__.__mro__[1].__subclasses__() }}"
    spec = large_debit(content=content)
    with pytest.raises(ContentError):
        AlertContent(spec, "en", "sms").render("body", render_context(BASE, OPTIONS, "sms"))


def test_sms_over_its_segment_limit_is_refused_at_edit_time() -> None:
    content = large_debit().content
    content["en"]["sms"]["body"] = "{{ description }} " * 12
    problems = check_spec_content(large_debit(content=content, sms_max_segments=2))
    assert problems and "limit is 2 segment(s)" in problems[0]
    assert check_spec_content(large_debit(content=content, sms_max_segments=10)) == []


def test_every_catalogue_type_renders() -> None:
    from rules.catalogue import default_catalogue

    for spec in default_catalogue():
        assert check_spec_content(spec) == [], spec.key


def test_missing_event_data_renders_empty_at_send_time() -> None:
    ctx = render_context({**BASE, "data": {"pnr": "X1"}}, [], "sms")
    assert ctx["data"]["pnr"] == "X1" and ctx["data"]["gate"] == ""


def test_masking_hides_contact_details() -> None:
    assert mask("+15550001111") == "+15***11"
    assert mask("daniel@example.com") == "d***@example.com"


@pytest.mark.parametrize(
    "language,call_me,forward",
    [
        ("en", "Call me now", "Forward this alert to someone, with a note"),
        ("nl", "Bel mij nu", "Deze melding met een bericht doorsturen naar iemand anders"),
        ("de", "Rufen Sie mich jetzt an", "Diese Benachrichtigung mit einer Notiz an"),
    ],
)
def test_the_emails_own_buttons_speak_the_emails_language(
    language: str, call_me: str, forward: str
) -> None:
    labels = [o["label"] for o in channel_options(OPTIONS, "email", language=language)]
    assert call_me in labels
    assert any(label.startswith(forward) for label in labels), labels
