"""Bring an installation's seeded alert types up to the seed file's languages.

Seeding only inserts alert types that are missing, so an installation seeded when the
catalogue was English-only keeps English-only types. ``seed_additions`` works out, per seeded
type present in the database, the languages (content) and option labels the seed file has
and the stored type lacks; nothing the administrator already has is ever replaced: a language
they have is kept as it is, a label is only added to an answer that still is the seed's answer
(same key, intent and English label), and content only for channels the stored type has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rules.alert_types import AlertTypeSpec


@dataclass(slots=True)
class Addition:
    """What one alert type would get: ``data`` is its new document (None: nothing to add)."""

    key: str
    languages: list[str] = field(default_factory=list)
    labels: dict[str, list[str]] = field(default_factory=dict)  # option key -> languages
    skipped: list[str] = field(default_factory=list)  # why some of the seed was left out
    data: dict[str, Any] | None = None

    def describe(self) -> str:
        parts = []
        if self.languages:
            parts.append(f"languages {', '.join(self.languages)}")
        for option, languages in self.labels.items():
            parts.append(f"labels of answer {option} in {', '.join(languages)}")
        return "; ".join(parts) if parts else "nothing to add"


def seed_addition(stored: AlertTypeSpec, seed: AlertTypeSpec) -> Addition:
    out = Addition(stored.key)
    data: dict[str, Any] = stored.model_dump(mode="json")
    used = {channel for by_channel in stored.content.values() for channel in by_channel}
    seed_content: dict[str, dict[str, Any]] = seed.model_dump(mode="json")["content"]
    for language, by_channel in sorted(seed_content.items()):
        if language in stored.content:
            continue  # the administrator's own (or the seed's earlier) words: kept
        kept = {c: texts for c, texts in by_channel.items() if c in used}
        if kept:
            data["content"][language] = kept
            out.languages.append(language)
    seeded = {o.key: o for o in seed.options}
    for position, option in enumerate(stored.options):
        mine = seeded.get(option.key)
        if mine is None or (mine.intent, mine.label) != (option.intent, option.label):
            if mine is not None and mine.labels.keys() - option.labels.keys():
                out.skipped.append(f"answer {option.key} differs from the seed's: labels kept")
            continue
        new = {k: v for k, v in sorted(mine.labels.items()) if k not in option.labels}
        if new:
            data["options"][position]["labels"] = {**option.labels, **new}
            out.labels[option.key] = list(new)
    if out.languages or out.labels:
        out.data = data
    return out


def note_for(addition: Addition) -> str:
    return f"herald alert-types add-languages: added {addition.describe()} from the seed file"
