"""Amounts and dates in a message as each language writes them, in the form each channel needs."""

from __future__ import annotations

import pytest

from alerts.alert_types.content import AlertContent, render_context
from alerts.alert_types.formatting import clock, day, moment, money
from channels.sms_segments import sms_length
from rules.alert_types import AlertTypeSpec

NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.mark.parametrize(
    "locale,expected",
    [
        ("en", "€1,234.50"),
        ("nl", f"€{NBSP}1.234,50"),
        ("fr", f"1{NNBSP}234,50{NBSP}€"),
        ("de", f"1.234,50{NBSP}€"),
        ("es", f"1.234,50{NBSP}€"),
        ("nl-BE", f"€{NBSP}1.234,50"),  # a region reads its language's form
    ],
)
def test_an_email_keeps_babels_amount_exactly(locale: str, expected: str) -> None:
    assert money("1234.50", "EUR", locale, "email") == expected


@pytest.mark.parametrize(
    "locale,expected",
    [
        ("en", "€1,234.50"),
        ("nl", "€ 1.234,50"),
        ("fr", "1 234,50 €"),
        ("de", "1.234,50 €"),
        ("es", "1.234,50 €"),
    ],
)
def test_an_sms_amount_has_plain_spaces_so_it_stays_gsm7(locale: str, expected: str) -> None:
    text = money("1234.50", "EUR", locale, "sms")
    assert text == expected
    assert sms_length(text).encoding == "GSM-7"


@pytest.mark.parametrize(
    "locale,expected",
    [
        ("en", "1,234.50 euros"),
        ("nl", "1.234,50 euro"),
        ("fr", "1 234,50 euros"),
        ("de", "1.234,50 Euro"),
        ("es", "1.234,50 euros"),
    ],
)
def test_a_call_says_the_currencys_name(locale: str, expected: str) -> None:
    assert money("1234.50", "EUR", locale, "voice") == expected


@pytest.mark.parametrize(
    "locale,sms,voice",
    [
        ("en", "Dec 7, 2026", "December 7, 2026"),
        ("nl", "7 dec 2026", "7 december 2026"),
        ("fr", "7 déc. 2026", "7 décembre 2026"),
        ("de", "07.12.2026", "7. Dezember 2026"),
        ("es", "7 dic 2026", "7 de diciembre de 2026"),
    ],
)
def test_dates_per_locale_and_channel(locale: str, sms: str, voice: str) -> None:
    assert day("2026-12-07", locale, "sms") == sms
    assert day("2026-12-07", locale, "voice") == voice


def test_times_keep_their_own_zone_and_the_locales_clock() -> None:
    departure = "2026-12-01T10:05:00+01:00"  # the airport's local time, not UTC
    assert clock(departure, "nl", "sms") == "10:05"
    assert clock("2026-12-01T14:05:00+01:00", "en", "sms") == "2:05 PM"
    assert moment("2026-11-24T18:00:00+01:00", "de", "sms") == "24.11.2026, 18:00"
    assert moment("2026-11-24T18:00:00+01:00", "fr", "email") == "24 novembre 2026, 18:00"


def test_values_that_are_not_numbers_or_dates_are_left_as_they_are() -> None:
    assert money("n/a", "EUR", "nl", "sms") == "n/a"
    assert day("tomorrow", "nl", "sms") == "tomorrow"
    assert clock("2026-12-01", "nl", "sms") == "2026-12-01"  # a date has no time
    assert money("12.5", "", "de", "sms") == "12,50"  # no currency: the number alone


def _spec(template: str) -> AlertTypeSpec:
    return AlertTypeSpec.model_validate(
        {
            "key": "t_money",
            "name": "Money",
            "trigger": {"event_types": ["debit_posted"]},
            "content": {"en": {"sms": {"body": template}}, "nl": {"sms": {"body": template}}},
            "delivery": {"channel_order": ["sms"]},
        }
    )


def test_templates_use_money_and_the_filters_in_their_own_language() -> None:
    spec = _spec("{{ money }} op {{ booking_date | date }}, vervalt {{ data.due | date }}")
    base = {
        "amount": "1234.50",
        "currency": "EUR",
        "booking_date": "2026-12-07",
        "data": {"due": "2026-12-24"},
    }
    dutch = AlertContent(spec, "nl", "sms").render("body", render_context(base, [], "sms", "nl"))
    assert dutch == "€ 1.234,50 op 7 dec 2026, vervalt 24 dec 2026"
    english = AlertContent(spec, "en", "sms").render("body", render_context(base, [], "sms"))
    assert english.startswith("€1,234.50 op Dec 7, 2026")
