"""Herald's own words in the customer's language: gettext catalogues under channels/locales.

The .po files are the source (translators edit them, ``make messages-*`` manages them, see
docs/languages.md). ``make install`` compiles them to .mo; a clone where nobody compiled them
still speaks every language, because a missing or stale .mo is compiled from its .po in memory.
"""

from __future__ import annotations

import gettext
import io
import logging
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

logger = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
LANGUAGES = ("en", "nl", "fr", "de", "es")
# Each language's name in itself: what the preferences page's language select shows.
LANGUAGE_NAMES = {
    "en": "English",
    "nl": "Nederlands",
    "fr": "Français",
    "de": "Deutsch",
    "es": "Español",
}


def _language_of(locale: str | None) -> str | None:
    """'fr-BE', 'fr_BE' and 'FR' are all French; None when Herald does not speak it."""
    if not locale:
        return None
    language = locale.replace("_", "-").split("-")[0].strip().lower()
    return language if language in LANGUAGES else None


def language_for(locale: str | None, default: str | None = None) -> str:
    """The language to speak to a customer with ``locale``: theirs when Herald has it, else the
    alert type's default language (``default``) when Herald has that, else English."""
    return _language_of(locale) or _language_of(default) or SOURCE_LANGUAGE


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of one of LANGUAGES (English: the source strings as written)."""
    if language == SOURCE_LANGUAGE or language not in LANGUAGES:
        return gettext.NullTranslations()
    folder = LOCALES_DIR / language / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    logger.info("%s is missing or older than its .po: compiling it in memory", mo)
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def gettext_for(locale: str | None, default: str | None = None) -> gettext.NullTranslations:
    """The catalogue for a customer's locale, with the fallback of ``language_for``."""
    return translations(language_for(locale, default))


def N_(message: str) -> str:
    """Marks a string for extraction where it is defined; it is translated where it is used."""
    return message
