"""Amounts, currencies, dates and times in a message, written the way the customer's language
writes them (Babel's CLDR data): ``€ 1.234,50`` in Dutch, ``1 234,50 €`` in French.

Each channel gets the form that suits it: an email keeps Babel's output exactly (its no-break
spaces keep ``1 234,50 €`` on one line); an SMS gets plain spaces, because GSM-7 has no
no-break space and one would turn the whole text into UCS-2 (70 characters a segment instead
of 160); a call gets the currency's name ("1.234,50 euro") and a long date, which a
text-to-speech voice reads naturally. A value that is not a number or a date is left as it is,
so a back-office field in an unexpected shape never stops a message.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal
from jinja2 import pass_context
from jinja2.runtime import Context

_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})
# How long a date is written, per channel: an SMS is short, a call and an email say it in full.
_DATE_LENGTH = {"sms": "medium", "voice": "long", "email": "long"}


def babel_locale(locale: str) -> Locale:
    """'nl-BE' or 'nl_BE' as a Babel locale; an unknown one is English."""
    try:
        return Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def _plain(text: str, channel: str) -> str:
    return text if channel == "email" else text.translate(_SPACES)


def money(amount: object, currency: str, locale: str, channel: str) -> str:
    """``amount`` (a Decimal or its text) in ``currency``, as ``locale`` writes it."""
    try:
        number = Decimal(str(amount).strip())
    except InvalidOperation:
        return str(amount)
    where = babel_locale(locale)
    if not currency:
        text = format_decimal(number, format="#,##0.00", locale=where)
    elif channel == "voice":
        text = format_currency(number, currency, locale=where, format_type="name")
    else:
        text = format_currency(number, currency, locale=where)
    return _plain(text, channel)


def _parse(value: object) -> date | datetime | None:
    if isinstance(value, datetime | date):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
    except ValueError:
        return None


def day(value: object, locale: str, channel: str) -> str:
    """A date (or the date of a date-time) as ``locale`` writes it: "7 december 2026"."""
    parsed = _parse(value)
    if parsed is None:
        return str(value)
    only = parsed.date() if isinstance(parsed, datetime) else parsed
    text = format_date(only, _DATE_LENGTH.get(channel, "long"), locale=babel_locale(locale))
    return _plain(text, channel)


def clock(value: object, locale: str, channel: str) -> str:
    """The time of a date-time, in its own zone (a departure in the airport's local time)."""
    parsed = _parse(value)
    if not isinstance(parsed, datetime):
        return str(value)
    return _plain(format_time(parsed, "short", locale=babel_locale(locale)), channel)


def moment(value: object, locale: str, channel: str) -> str:
    """Date and time together, in ``locale``'s order: "24 november 2026, 18:00"."""
    parsed = _parse(value)
    if not isinstance(parsed, datetime):
        return day(value, locale, channel)
    where = babel_locale(locale)
    pattern = str(where.datetime_formats.get("medium", "{1}, {0}"))
    text = pattern.replace("{1}", day(parsed, locale, channel)).replace(
        "{0}", clock(parsed, locale, channel)
    )
    return _plain(text, channel)


def _where(context: Context) -> tuple[str, str]:
    return str(context.get("locale") or "en"), str(context.get("channel") or "email")


@pass_context
def money_filter(context: Context, amount: object, currency: str | None = None) -> str:
    """``{{ amount | money }}`` (the alert's currency) or ``{{ x | money("USD") }}``."""
    chosen = str(context.get("currency") or "") if currency is None else currency
    return money(amount, chosen, *_where(context))


@pass_context
def date_filter(context: Context, value: object) -> str:
    return day(value, *_where(context))


@pass_context
def time_filter(context: Context, value: object) -> str:
    return clock(value, *_where(context))


@pass_context
def datetime_filter(context: Context, value: object) -> str:
    return moment(value, *_where(context))


def digits(value: object) -> str:
    """ "4300" as "4 3 0 0": a call reads an account ending digit by digit, not as a number."""
    return " ".join(str(value).replace(" ", ""))


def each(choices: object, pattern: str, joiner: str = " ") -> str:
    """Each answer in ``pattern`` ("{label}: druk op {key}."), joined: a menu in the template's
    own words. Only ``{key}`` and ``{label}`` are filled in (no format language, so a template
    cannot reach into an object)."""
    if not isinstance(choices, list | tuple):
        return ""
    return joiner.join(
        pattern.replace("{key}", str(c.get("key", ""))).replace("{label}", str(c.get("label", "")))
        for c in choices
        if isinstance(c, dict)
    )


FILTERS: dict[str, Any] = {
    "money": money_filter,
    "date": date_filter,
    "time": time_filter,
    "datetime": datetime_filter,
    "digits": digits,
    "each": each,
}


class LocalValues(TypedDict):
    money: str
    booking_day: str
    locale: str
    channel: str


def localised_values(base: dict[str, Any], locale: str, channel: str) -> LocalValues:
    """What a template sees besides the raw values: ``money`` (the amount with its currency),
    ``booking_day`` (the booking date written out), and the ``locale`` and ``channel`` the
    filters write for."""
    amount = base.get("amount")
    return {
        "money": money(amount, str(base.get("currency") or ""), locale, channel)
        if amount not in (None, "")
        else "",
        "booking_day": day(base.get("booking_date") or "", locale, channel),
        "locale": locale,
        "channel": channel,
    }
