"""What the customers' pages share: the customer's language, refusals in their words, a message.

Every string here is an English msgid (marked with ``N_``) translated where the page is rendered,
so one catalogue per language (channels/locales) holds all of a customer's page words.
"""

from __future__ import annotations

import gettext
import re
from datetime import time
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.dates import format_time
from babel.numbers import UnknownCurrencyError, format_currency
from fastapi import Request
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import HTMLResponse

from admin_ui.rendering import page
from alerts.deps import AlertDeps
from alerts.models import Customer, Preference
from channels.i18n import LANGUAGES, N_, SOURCE_LANGUAGE, language_for, translations

BROKEN = N_("This link does not work")
EXPIRED = N_("This link has expired")
GONE = N_("This alert is no longer available")
# alerts.links.LinkError's messages (and the pages' own refusals) as the sentences customers read.
REFUSALS = {
    "this link is not valid; it may have been altered or cut short": N_(
        "This link is not valid; it may have been altered or cut short."
    ),
    "this confirmation link has expired; ask us for a new one": N_(
        "This confirmation link has expired; ask us for a new one."
    ),
    "this preferences link has expired; the link in your latest alert works": N_(
        "This preferences link has expired; the link in your latest alert works."
    ),
    "this link has expired; please call us instead": N_(
        "This link has expired; please call us instead."
    ),
    "we could not find the message this link belongs to": N_(
        "We could not find the message this link belongs to."
    ),
    "we could not find the alert this link belongs to": N_(
        "We could not find the alert this link belongs to."
    ),
}
# The names of the seeded alert types (rules/default_alert_types.toml) in the customer's words;
# a name an administrator wrote is shown as written.
SEEDED_NAMES = (
    N_("Large debit"),
    N_("Low balance"),
    N_("Payment received"),
    N_("Invoice issued with a due date"),
    N_("Shipment delayed"),
    N_("Out for delivery"),
    N_("Itinerary change"),
    N_("Flight cancelled"),
    N_("Savings offer (marketing)"),
)


def sentence(reason: str) -> str:
    """A refusal reason (``LinkError``'s lower-case clause) as the English sentence (msgid)."""
    return REFUSALS.get(reason) or (reason[:1].upper() + reason[1:] + ".")


def refusal(reason: str, language: str) -> str:
    """A refusal reason as a sentence in ``language``."""
    return translations(language).gettext(sentence(reason))


def browser_language(request: Request) -> str:
    """For a link that names no customer (broken, expired): the first of Herald's languages in
    the browser's Accept-Language, else English."""
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().replace("_", "-").split("-")[0].lower()
        if tag in LANGUAGES:
            return tag
    return SOURCE_LANGUAGE


def money(amount: str, currency: str, language: str) -> str:
    """``1234.5``, ``EUR`` as the customer's language writes it (``€ 1.234,50`` in Dutch,
    ``1 234,50 €`` in French); as given when it is not a number or not a currency."""
    try:
        return format_currency(Decimal(amount), currency, locale=language)
    except (InvalidOperation, UnknownCurrencyError, ValueError):
        return f"{amount} {currency}".strip()


def clock(value: time, language: str) -> str:
    """A time of day as the customer's language writes it: ``10:00 PM`` in English, ``22:00``
    in Dutch, French, German and Spanish (Babel's short format, plain spaces so the field's
    text is what the customer types)."""
    return format_time(value, "short", locale=language).replace("\u202f", " ").replace("\xa0", " ")


_CLOCK = re.compile(
    r"^\s*(\d{1,2})(?:\s*[:.h]\s*(\d{2}))?(?::\d{2})?\s*(?:h\s*)?([ap])?\.?\s*(?:m\.?)?\s*$",
    re.IGNORECASE,
)


def read_clock(text: str) -> time:
    """What a customer typed as a time of day: ``22:00``, ``22.00``, ``22h00``, ``22 h``,
    ``7:30``, ``10:00 PM``, ``10 pm``, ``07:30:00`` (ValueError if it is not one)."""
    found = _CLOCK.match(text.replace("\u202f", " ").replace("\xa0", " "))
    if found is None:
        raise ValueError(f"{text!r} is not a time of day")
    hours, minutes = int(found.group(1)), int(found.group(2) or 0)
    half = (found.group(3) or "").lower()
    if half:
        if not 1 <= hours <= 12:
            raise ValueError(f"{text!r} is not a time of day")
        hours = hours % 12 + (12 if half == "p" else 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text!r} is not a time of day")
    return time(hours, minutes)


def alert_type_name(name: str, language: str) -> str:
    return translations(language).gettext(name) if name in SEEDED_NAMES else name


async def customer_language(session: AsyncSession, customer: Customer | None) -> str:
    """The language of the customer's pages: the one they chose on their preferences page (the
    default preference's language), else their account's locale, else English."""
    if customer is None or customer.id is None:
        return language_for(None)
    default = (
        await session.exec(
            select(Preference).where(
                Preference.customer_id == customer.id, Preference.alert_type == "*"
            )
        )
    ).first()
    chosen = default.data.get("language") if default is not None else None
    return language_for(chosen if isinstance(chosen, str) else None, customer.locale)


async def language_of(deps: AlertDeps, customer_id: int | None) -> str:
    if customer_id is None:
        return language_for(None)
    async with deps.sessions() as session:
        return await customer_language(session, await session.get(Customer, customer_id))


def words(language: str) -> gettext.NullTranslations:
    return translations(language)


def message_page(
    request: Request,
    deps: AlertDeps,
    heading: str,
    message: str,
    *,
    language: str,
    status: int = 200,
    problem: bool = False,
    translate: bool = True,
    **extra: Any,
) -> HTMLResponse:
    """A heading and a sentence (English msgids, translated unless ``translate`` is False) with
    the call-centre number: what every customer page says when it has nothing to ask."""
    _ = translations(language).gettext
    if translate:
        heading, message = _(heading), _(message)
    return page(
        request,
        "response_message.html",
        {
            "brand": deps.brand,
            "callcentre_number": deps.callcentre_number,
            "title": heading,
            "heading": heading,
            "message": message,
            "problem": problem,
            **extra,
        },
        status_code=status,
        language=language,
    )
