"""The seeded alert types in Herald's five languages: every channel their delivery uses has
content in every language, it renders, an SMS stays within its segments and in GSM-7, and the
words are the language's own (menus, amounts, dates)."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.alert_types.content import (
    AlertContent,
    channel_options,
    check_spec_content,
    render_context,
    sample_context,
)
from channels.i18n import LANGUAGES
from channels.sms_segments import sms_length
from rules.alert_types import ENGLISH_OFFER, AlertTypeSpec
from rules.catalogue import default_catalogue
from rules.vocabulary import Channel

SPECS = {spec.key: spec for spec in default_catalogue()}
EVENT: dict[str, Any] = {
    "customer_name": "Bram de Vries",
    "amount": "1234.50",
    "currency": "EUR",
    "description": "Electro World Online",
    "merchant": "Electro World Online",
    "account_ending": "4567",
    "booking_date": "2026-12-07",
    "brand": "Herald Bank",
    "callcentre_number": "+31201234567",
    "link_preferences": "https://alerts.example.com/p/token",
    "data": {
        "due_date": "2026-12-24",
        "invoice_id": "INV-2041",
        "seller_name": "Energie Noord",
        "tracking_number": "NP123456785NL",
        "shipper": "Electro World Online",
        "new_eta": "2026-12-09T18:00:00+01:00",
        "flight": "EA1234",
        "origin": "AMS",
        "destination": "LIS",
        "pnr": "K7Q2XP",
        "old_departure": "2026-12-07T08:30:00+01:00",
        "new_departure": "2026-12-07T10:05:00+01:00",
    },
}


def _templates(spec: AlertTypeSpec, locale: str, channel: str) -> set[str]:
    return set(spec.content.get(locale, {}).get(channel, {})) - {ENGLISH_OFFER}  # type: ignore[call-overload]


def test_there_are_nine_seeded_alert_types() -> None:
    assert len(SPECS) == 9


@pytest.mark.parametrize("key", sorted(SPECS))
def test_every_language_has_every_channel_the_policy_uses(key: str) -> None:
    spec = SPECS[key]
    for channel in spec.delivery.channel_order:
        english = _templates(spec, "en", channel)
        assert english, f"{key}: no English {channel} content"
        for language in LANGUAGES:
            assert _templates(spec, language, channel) == english, (
                f"{key}: content.{language}.{channel} must have the templates {sorted(english)}"
            )


@pytest.mark.parametrize("key", sorted(SPECS))
def test_every_language_renders_and_fits_its_sms_segments(key: str) -> None:
    assert check_spec_content(SPECS[key]) == []


@pytest.mark.parametrize("key", sorted(SPECS))
@pytest.mark.parametrize("language", LANGUAGES)
def test_sms_stays_gsm7_with_long_values(key: str, language: str) -> None:
    spec = SPECS[key]
    if "sms" not in spec.delivery.channel_order:
        pytest.skip("no SMS in this alert type's delivery")
    options = [o.model_dump() for o in spec.options]
    for base in (sample_context(), EVENT):
        ctx = render_context(base, options, "sms", language, spec)
        body = AlertContent(spec, language, "sms").render("body", ctx)
        length = sms_length(body)
        assert length.encoding == "GSM-7", f"{key}/{language}: {length.describe()}: {body}"
        assert length.segments <= spec.sms_max_segments


def _render(key: str, language: str, channel: Channel, name: str) -> str:
    spec = SPECS[key]
    ctx = render_context(EVENT, [o.model_dump() for o in spec.options], channel, language, spec)
    return AlertContent(spec, language, channel).render(name, ctx)


def test_a_dutch_large_debit_in_each_channel() -> None:
    assert _render("large_debit", "nl", "sms", "body") == (
        "Herald Bank: € 1.234,50 afgeschreven van uw rekening eindigend op 4567, aan "
        "Electro World Online. Antwoord 1 (Een medewerker spreken), 2 (Deze betaling was "
        "van mij)."
    )
    spoken = _render("large_debit", "nl", "voice", "message")
    assert "1.234,50 euro" in spoken and "eindigend op 4 5 6 7" in spoken
    assert _render("large_debit", "nl", "voice", "prompt") == (
        "Een medewerker spreken: druk op 1. Deze betaling was van mij: druk op 2. "
        "Dit bericht opnieuw horen: druk op 9."
    )
    subject = _render("large_debit", "nl", "email", "subject")
    assert subject == "Herald Bank: betaling van €\u00a01.234,50 aan Electro World Online"


@pytest.mark.parametrize(
    "language,amount,words",
    [
        ("en", "€1,234.50", "was taken from your account"),
        ("nl", "€ 1.234,50", "afgeschreven"),
        ("fr", "1 234,50 €", "débité du compte"),
        ("de", "1.234,50 €", "abgebucht"),
        ("es", "1.234,50 €", "se ha cargado"),
    ],
)
def test_each_language_writes_its_own_amount(language: str, amount: str, words: str) -> None:
    sms = _render("large_debit", language, "sms", "body")
    assert amount in sms and words in sms


@pytest.mark.parametrize(
    "language,due,eta",
    [
        ("en", "Dec 24, 2026", None),
        ("nl", "24 dec 2026", "9 dec 2026, 18:00"),
        ("fr", "24 déc. 2026", "9 déc. 2026, 18:00"),
        ("de", "24.12.2026", "09.12.2026, 18:00"),
        ("es", "24 dic 2026", "9 dic 2026, 18:00"),
    ],
)
def test_dates_from_the_feed_are_written_in_the_language(
    language: str, due: str, eta: str | None
) -> None:
    assert due in _render("invoice_due", language, "sms", "body")
    if eta:  # English keeps the carrier's own sentence (the description)
        assert eta in _render("shipment_delayed", language, "sms", "body")


def test_the_menu_lists_every_answer_the_alert_type_offers_in_the_language() -> None:
    """An administrator's own answers (the demo's seven keys) are all read out in French."""
    spec = SPECS["large_debit"]
    options = [
        {"key": "1", "intent": "agent", "label": "Speak to an agent"},
        {"key": "4", "intent": "sms_copy", "label": "Send me this by text"},
        {"key": "9", "intent": "repeat", "label": "Hear this message again"},
    ]
    ctx = render_context(EVENT, options, "voice", "fr", spec)
    prompt = AlertContent(spec, "fr", "voice").render("prompt", ctx)
    assert prompt == (
        "Parler à un conseiller : tapez 1. Send me this by text : tapez 4. "
        "Réécouter ce message : tapez 9."
    )  # an answer without a French label keeps the administrator's words
    email_buttons = channel_options(
        render_context(EVENT, options, "email", "fr", spec)["choices"], "email"
    )
    assert [o["label"] for o in email_buttons][:1] == ["Parler à un conseiller"]


def test_offering_english_on_8_refuses_an_answer_on_8() -> None:
    data = SPECS["large_debit"].as_json()
    options = [*data["options"], {"key": "8", "intent": "opt_out", "label": "Stop"}]  # type: ignore[misc]
    with pytest.raises(ValueError, match="offers English on key 8, but option 8 answers"):
        AlertTypeSpec.model_validate({**data, "options": options})
    without_english = {k: v for k, v in data["content"].items() if k != "en"}  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="has no voice content to play"):
        AlertTypeSpec.model_validate({**data, "content": without_english, "fallback_locale": "nl"})
