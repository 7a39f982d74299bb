"""Alert-type commands: `herald alert-types list`, `herald alert-types check` (which
translations each alert type lacks, per language and channel) and `herald alert-types
add-languages` (the seed file's languages for seeded types stored before they had them)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from herald.cli_common import JsonOpt, console, load_settings, run, running

DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="List what would be added; change nothing.")
]

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


@alert_types_app.command("add-languages")
def add_languages_command(dry_run: DryRunOpt = False) -> None:
    """For each seeded alert type in the database: add the languages and answer labels the
    seed file has and it lacks, as a new version with a note. A language or label the
    administrator already has is never replaced. Seeded types not in the database stay out."""
    settings = load_settings()

    async def main() -> list[tuple[str, str]]:
        from alerts.alert_types.seed_languages import note_for, seed_addition
        from alerts.alert_types.store import AlertTypeError, list_rows, save_spec, stored_spec
        from rules.catalogue import default_catalogue

        seeds = {s.key: s for s in default_catalogue()}
        lines: list[tuple[str, str]] = []
        async with running(settings) as rt, rt.deps.sessions() as session:
            for row in await list_rows(session=session):
                if row.key not in seeds or not row.spec:
                    continue
                stored = stored_spec(row.spec)
                addition = seed_addition(stored, seeds[row.key])
                lines += [(row.key, f"skipped: {why}") for why in addition.skipped]
                if addition.data is None:
                    lines.append((row.key, "nothing to add"))
                    continue
                verb = "would add" if dry_run else "added"
                if not dry_run:
                    try:
                        await save_spec(
                            session,
                            addition.data,
                            actor="herald alert-types add-languages",
                            note=note_for(addition),
                            expected_version=stored.version,
                        )
                    except AlertTypeError as exc:
                        await session.rollback()
                        lines.append((row.key, f"not changed: {exc}"))
                        continue
                lines.append((row.key, f"{verb} {addition.describe()}"))
        return lines

    for key, line in run(main):
        console.print(f"{key}: {line}")


def register_alert_types(app: typer.Typer) -> None:
    app.add_typer(alert_types_app, name="alert-types")
