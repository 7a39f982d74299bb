"""Alert-type commands: `herald alert-types list` and `herald alert-types check` (which
translations each alert type lacks, per language and channel)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

from herald.cli_common import JsonOpt, console, load_settings, run, running

if TYPE_CHECKING:
    from rules.alert_types import AlertTypeSpec

alert_types_app = typer.Typer(help="Alert types and their languages.", no_args_is_help=True)


def _specs() -> list[AlertTypeSpec]:
    settings = load_settings()

    async def main() -> list[AlertTypeSpec]:
        from alerts.alert_types.store import load_specs

        async with running(settings) as rt, rt.deps.sessions() as session:
            return await load_specs(session)

    return run(main)


@alert_types_app.command("list")
def list_command(as_json: JsonOpt = False) -> None:
    """Every alert type with its languages and its default language."""
    specs = _specs()
    rows = [
        {
            "key": s.key,
            "name": s.name,
            "enabled": s.enabled,
            "default_language": s.fallback_locale,
            "languages": sorted(s.content),
            "channels": list(s.delivery.channel_order),
        }
        for s in specs
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for s in specs:
        state = "" if s.enabled else " (disabled)"
        console.print(
            f"{s.key}{state}: {', '.join(s.delivery.channel_order)}; languages "
            f"{', '.join(sorted(s.content))} (default {s.fallback_locale})"
        )


@alert_types_app.command("check")
def check_command(as_json: JsonOpt = False) -> None:
    """Which translations are missing, per alert type, language and channel (those customers
    get the alert type's default language). Exit 1 when any is missing."""
    from alerts.alert_types.translations import missing_translations

    report = {s.key: (s.fallback_locale, missing_translations(s)) for s in _specs()}
    if as_json:
        data = {
            key: [
                {"language": m.language, "channel": m.channel, "templates": list(m.templates)}
                for m in missing
            ]
            for key, (_, missing) in report.items()
        }
        print(json.dumps(data, indent=2))
    else:
        for key, (default, missing) in report.items():
            if not missing:
                console.print(f"{key}: every language complete")
            for m in missing:
                console.print(f"{key}: {m.describe(default)}")
    if any(missing for _, missing in report.values()):
        raise typer.Exit(1)


def register_alert_types(app: typer.Typer) -> None:
    app.add_typer(alert_types_app, name="alert-types")
