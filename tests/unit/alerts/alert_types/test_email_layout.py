"""The email's frame: the brand's name on the brand's colour, with text that reads on it."""

from __future__ import annotations

import pytest

from alerts.alert_types.content import AlertContent, render_context
from alerts.alert_types.email_layout import contrast, email_document, text_on
from rules.catalogue import default_catalogue

from .test_content import BASE, LINKS, OPTIONS


@pytest.mark.parametrize("colour", ["#16324f", "#ffd400", "#0a7c3e", "#000000", "#ffffff"])
def test_the_brand_band_text_reads_on_any_brand_colour(colour: str) -> None:
    assert contrast(colour, text_on(colour)) >= 4.5
    html = email_document(
        "<p>Hi</p>", locale="nl", preheader="Hi", brand="Bank & Co", brand_colour=colour
    )
    assert f"background:{colour};color:{text_on(colour)}" in html
    assert ">Bank &amp; Co</td>" in html


def test_the_email_carries_the_configured_brand_and_its_words_in_the_customers_language() -> None:
    seeded = next(s for s in default_catalogue() if s.key == "large_debit")
    spec = seeded.model_copy(update={"content": {**seeded.content, "es": seeded.content["en"]}})
    ctx = {**BASE, "brand": "Banco Sol", "brand_colour": "#ffd400"}
    cases = [("en", "en", "Manage your alerts"), ("es", "es", "Gestionar sus avisos")]
    cases.append(("pt-BR", "en", "Manage your alerts"))  # no Portuguese content: all English
    for locale, lang, manage in cases:
        _, text, html = AlertContent(spec, locale, "email").email(
            render_context(ctx, OPTIONS, "email"), LINKS
        )
        assert "background:#ffd400;color:#222222" in html and ">Banco Sol</td>" in html
        assert "Banco Sol" in text
        assert f">{manage}</a>" in html and f"{manage}: " in text
        assert f'<html lang="{lang}">' in html
