"""Which translations an alert type lacks: per language Herald speaks, the channels its
delivery uses that have no content (or fewer templates than its default language) there.

A missing translation is not an error — the customer gets the alert type's default language
(``fallback_locale``) — but the studio and ``herald alert-types check`` show it, so an
administrator knows who reads a message in another language than their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from channels.i18n import LANGUAGES
from rules.alert_types import ENGLISH_OFFER, AlertTypeSpec
from rules.vocabulary import Channel


@dataclass(frozen=True, slots=True)
class Missing:
    """One language lacking one channel's content (``templates``: the ones it lacks; all of
    them when the channel has no content in that language at all)."""

    language: str
    channel: Channel
    templates: tuple[str, ...]
    whole: bool  # the channel has no content in this language at all

    def describe(self, default: str) -> str:
        if self.whole:
            return f"{self.language} {self.channel}: no content (customers get {default})"
        names = ", ".join(self.templates)
        return f"{self.language} {self.channel}: lacks {names} (from {default})"


def missing_translations(spec: AlertTypeSpec) -> list[Missing]:
    """For each of Herald's languages and each channel of the delivery order: what is missing,
    compared with the default language's templates. Empty when every language is complete."""
    default = spec.fallback_locale
    out: list[Missing] = []
    for language in LANGUAGES:
        if language == default:
            continue
        for channel in spec.delivery.channel_order:
            wanted = set(spec.content.get(default, {}).get(channel, {})) - {ENGLISH_OFFER}
            have = spec.content.get(language, {}).get(channel)
            if have is None:
                out.append(Missing(language, channel, tuple(sorted(wanted)), whole=True))
            elif lacking := wanted - set(have):
                out.append(Missing(language, channel, tuple(sorted(lacking)), whole=False))
    return out
