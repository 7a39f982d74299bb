"""Herald's own words: every catalogue complete and current, the locale chosen with its fallback,
and a clone where nobody compiled the .mo files still speaking every language."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from channels import i18n
from channels.i18n import LANGUAGES, LOCALES_DIR, language_for, translations

ROOT = Path(__file__).resolve().parents[3]
TRANSLATED = [language for language in LANGUAGES if language != i18n.SOURCE_LANGUAGE]


def catalog(language: str) -> Catalog:
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


def source_msgids() -> set[str]:
    """What `make messages-extract` would find: the same babel.cfg over the same packages."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)  # type: ignore[no-untyped-call]
    found: set[str] = set()
    for package in ("alerts", "channels", "admin_ui", "callcentre"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / package, method_map, options_map
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_string_is_translated_and_none_is_fuzzy(language: str) -> None:
    entries = catalog(language)
    missing = [
        m.id
        for m in entries
        if m.id and not all(m.string if isinstance(m.string, tuple) else (m.string,))
    ]
    fuzzy = [m.id for m in entries if m.id and m.fuzzy]
    assert not missing, f"{language}: untranslated in its messages.po: {missing}"
    assert not fuzzy, f"{language}: fuzzy (check, then drop the flag): {fuzzy}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_catalogues_hold_every_string_in_the_source(language: str) -> None:
    in_catalogue = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog(language) if m.id}
    missing = source_msgids() - in_catalogue
    assert not missing, f"run `make messages-update` and translate, {language} lacks: {missing}"


@pytest.mark.parametrize(
    "locale,default,expected",
    [
        ("nl", None, "nl"),
        ("fr-BE", None, "fr"),
        ("de_AT", None, "de"),
        ("ES", None, "es"),
        ("pt-BR", "nl", "nl"),
        ("pt-BR", None, "en"),
        ("", "xx", "en"),
        (None, "fr-FR", "fr"),
    ],
)
def test_the_locale_picks_the_language_with_the_fallback(
    locale: str | None, default: str | None, expected: str
) -> None:
    assert language_for(locale, default) == expected


def test_without_compiled_files_the_po_is_compiled_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "messages.po").write_bytes(
        (LOCALES_DIR / "de" / "LC_MESSAGES" / "messages.po").read_bytes()
    )
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    translations.cache_clear()
    try:
        german = translations("de")
        assert isinstance(german, gettext.GNUTranslations)
        assert (
            german.gettext("Thank you. We will call you back.")
            == "Vielen Dank. Wir rufen Sie zurück."
        )
        assert not (folder / "messages.mo").exists()
    finally:
        translations.cache_clear()


def page_msgids() -> set[str]:
    """The msgids the customers' pages show (extracted from admin_ui)."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)  # type: ignore[no-untyped-call]
    return {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / "admin_ui", method_map, options_map
        )
    }


def test_french_pages_use_no_break_spaces_before_punctuation_and_inside_guillemets() -> None:
    """French typography on the pages: a no-break space before ; : ! ? and inside « », so a
    line never starts with a question mark (SMS texts keep plain spaces: GSM 7-bit has none)."""
    shown = page_msgids()
    wrong = []
    for entry in catalog("fr"):
        key = entry.id if isinstance(entry.id, str) else entry.id[0] if entry.id else ""
        if key not in shown:
            continue
        texts = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        for text in (str(t or "") for t in texts):
            if re.search(r" [;:!?]| »|« ", text) or re.search(r"\w[;!?»]", text):
                wrong.append(text)
    assert shown and not wrong, f"fr: use U+202F / U+00A0 before ; : ! ? and inside « »: {wrong}"


def test_every_link_refusal_reads_as_a_sentence_in_every_language() -> None:
    """Each reason alerts.links gives for refusing a link is a msgid the pages translate."""
    from admin_ui.customer_i18n import REFUSALS, refusal

    source = (ROOT / "alerts" / "links.py").read_text(encoding="utf-8")
    reasons = set(re.findall(r'[^a-z]LinkError\(\s*"([^"]+)"', source))  # not MediaLinkError
    assert reasons and reasons <= set(REFUSALS), f"add to REFUSALS: {reasons - set(REFUSALS)}"
    for language in TRANSLATED:
        for reason in reasons:
            assert refusal(reason, language) != REFUSALS[reason], (language, reason)
