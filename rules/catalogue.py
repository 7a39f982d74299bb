"""The default alert-type catalogue, shipped as data in ``rules/default_alert_types.toml``."""

from __future__ import annotations

import tomllib
from importlib import resources

from rules.alert_types import AlertTypeSpec

CATALOGUE_FILE = "default_alert_types.toml"


def default_catalogue() -> list[AlertTypeSpec]:
    """Every default alert type, validated (a broken catalogue fails loudly, naming the type)."""
    text = resources.files("rules").joinpath(CATALOGUE_FILE).read_text(encoding="utf-8")
    raw = tomllib.loads(text).get("alert_types", [])
    specs: list[AlertTypeSpec] = []
    for position, entry in enumerate(raw, start=1):
        try:
            specs.append(AlertTypeSpec.model_validate(entry))
        except ValueError as exc:
            key = entry.get("key", f"#{position}") if isinstance(entry, dict) else f"#{position}"
            raise ValueError(f"{CATALOGUE_FILE}: alert type {key}: {exc}") from exc
    keys = [s.key for s in specs]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"{CATALOGUE_FILE}: duplicate alert type keys {duplicates}")
    return specs


def default_alert_type(key: str) -> AlertTypeSpec:
    """One default alert type by key (KeyError naming the known keys if there is none)."""
    for spec in default_catalogue():
        if spec.key == key:
            return spec
    raise KeyError(f"no default alert type {key!r}; known: {[s.key for s in default_catalogue()]}")
