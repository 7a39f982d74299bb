"""Reports commands: `herald reports import-calls FILE` (the telephony system's call counts)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from herald.cli_common import JsonOpt, UserInputError, console, load_settings, run, running

if TYPE_CHECKING:
    from alerts.reports.calls import CallImportReport

reports_app = typer.Typer(help="Reports (see docs/reports.md).", no_args_is_help=True)


@reports_app.command("import-calls")
def import_calls_command(file: Path, as_json: JsonOpt = False) -> None:
    """Import inbound call counts per day and reason (CSV: date, reason, calls[, alert_type]);
    a day and reason imported before get the new count. Exit 1 when a line was rejected."""
    settings = load_settings()

    async def main() -> CallImportReport:
        from alerts import audit
        from alerts.reports.calls import CallImportError, import_calls

        if not file.is_file():
            raise FileNotFoundError(f"{file}: no such file")
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise UserInputError(f"{file}: not UTF-8 text; export it as CSV (UTF-8)") from exc
        who = os.environ.get("USER") or "unknown"
        audit.set_origin(audit.Origin(actor=f"cli: {who}"[:100], via="herald CLI"))
        async with running(settings) as rt, rt.deps.sessions() as session:
            try:
                return await import_calls(session=session, text=text, filename=file.name)
            except CallImportError as exc:
                raise UserInputError(str(exc)) from exc

    report = run(main)
    if as_json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        console.print(
            f"{report.filename}: {report.rows} lines, {report.imported} imported, "
            f"{report.replaced} replaced, {len(report.errors)} rejected"
        )
        for error in report.errors[:50]:
            console.print(f"  {error}")
    if report.errors:
        raise typer.Exit(1)


def register_reports(app: typer.Typer) -> None:
    app.add_typer(reports_app, name="reports")
