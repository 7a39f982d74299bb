"""Ingestion commands: `ingest`, `watch`, `quarantine list|retry`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from herald.cli_common import (
    JsonOpt,
    UserInputError,
    console,
    fail,
    load_settings,
    run,
    running,
)

if TYPE_CHECKING:
    from alerts.deps import AlertDeps
    from alerts.ingestion.files import IngestReport, IngestReportDict
    from alerts.ingestion.quarantine import QuarantineRow, RetryReportDict

    class IngestedFile(IngestReportDict):
        """A file's report, and how many alerts the whole run created."""

        alerts_created_total: int

    class RetryOutcome(RetryReportDict):
        alerts_created: int


AdapterOpt = Annotated[str | None, typer.Option(help="Adapter key; detected if unset.")]
quarantine_app = typer.Typer(help="Records set aside during ingestion.", no_args_is_help=True)


def print_report(r: IngestReportDict) -> None:
    colour = "red" if r["status"] == "failed" else "green"
    resumed = (
        f"{r['already_stored']} stored before the interruption, " if r["already_stored"] else ""
    )
    console.print(
        f"[{colour}]{r['status']}[/] {r['filename']} ({r['adapter']}): {r['records']} records, "
        f"{r['events_created']} new events, {r['duplicates']} duplicates, {resumed}"
        f"{r['quarantined']} quarantined, {r['unknown_accounts']} unknown accounts "
        f"({r['seconds']:.2f}s, {r['mb_per_s']} MB/s, {r['records_per_s']:.0f} records/s)"
    )
    for w in r["warnings"][:20]:
        console.print(f"  [yellow]warning:[/] {w}")
    for p in r["problems"][:20]:
        console.print(f"  quarantined: {p}")
    if len(r["problems"]) > 20:
        console.print(f"  … and {len(r['problems']) - 20} more (`herald quarantine list`)")
    if r["error"]:
        console.print(f"  [red]{r['error']}[/]")


ResumeOpt = Annotated[
    int | None,
    typer.Option(
        "--resume",
        metavar="FILE_ID",
        help="Read again a file a crash left half-read (shown as interrupted), from its kept "
        "copy; events already stored are not stored twice.",
    ),
]


def ingest(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="XML files, directories (their *.xml files; sub-directories are not read) or "
            "glob patterns ('DIR/**/*.xml' reads sub-directories)."
        ),
    ] = None,
    adapter: AdapterOpt = None,
    resume: ResumeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ingest back-office XML files and decide which events become alerts."""
    settings = load_settings()
    if resume is not None and paths:
        fail("give either files to ingest or --resume FILE_ID, not both")
    if resume is None and not paths:
        fail("nothing to ingest: name XML files, a directory or a pattern (or --resume FILE_ID)")

    async def main() -> list[IngestedFile]:
        from alerts.columns import utcnow
        from alerts.ingestion.files import expand_paths, ingest_file
        from alerts.ingestion.quarantine import ResumeError, resume_file

        files = expand_paths(paths) if paths else []
        for path in files:
            if not path.exists():
                raise FileNotFoundError(f"{path}: no such file")
        reports: list[IngestReport] = []
        async with running(settings) as rt:
            if resume is not None:
                async with rt.deps.sessions() as session:
                    try:
                        report = await resume_file(session=session, file_id=resume, now=utcnow())
                    except ResumeError as exc:
                        raise UserInputError(str(exc)) from None
                reports.append(report)
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TextColumn("{task.fields[records]} records"),
                TimeRemainingColumn(),
                console=console,
                transient=True,
                disable=as_json or not console.is_terminal,
            ) as bar:
                for path in files:
                    task = bar.add_task(path.name, total=path.stat().st_size, records=0)

                    def progress(done: int, records: int, task: Any = task) -> None:
                        bar.update(task, completed=done, records=records)

                    async with rt.deps.sessions() as session:
                        report = await ingest_file(
                            session=session,
                            path=path,
                            adapter_key=adapter,
                            store_dir=settings.files_dir,
                            progress=progress,
                        )
                    reports.append(report)
            created = await decide_with_bar(rt.deps, quiet=as_json)
        return [{**r.as_dict(), "alerts_created_total": len(created)} for r in reports]

    reports = run(main)
    if as_json:
        print(json.dumps(reports, indent=2, default=str))
    else:
        for r in reports:
            print_report(r)
        if reports:
            console.print(f"alerts created: {reports[-1]['alerts_created_total']}")
    if any(r["status"] == "failed" for r in reports):
        raise typer.Exit(1)


async def decide_with_bar(deps: AlertDeps, *, quiet: bool) -> list[int]:
    """Decide every pending event, with a bar of events decided and alerts created (a night's
    file of a million events takes minutes to decide: the operator sees it move)."""
    from alerts.columns import utcnow
    from alerts.decisions.evaluate import count_pending, evaluate_pending

    pending = 0 if quiet or not console.is_terminal else await count_pending(deps)
    with Progress(
        TextColumn("deciding"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events, {task.fields[alerts]:,} alerts"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not pending,
    ) as bar:
        task = bar.add_task("deciding", total=pending, alerts=0)

        def progress(decided: int, alerts: int) -> None:
            bar.update(task, completed=decided, alerts=alerts)

        return await evaluate_pending(deps=deps, now=utcnow(), progress=progress)


def watch(
    directory: Annotated[Path, typer.Argument(help="The drop folder exporters write into.")],
    adapter: AdapterOpt = None,
    settle: Annotated[float, typer.Option(help="Seconds a file must stay unchanged.")] = 2.0,
    once: Annotated[
        bool, typer.Option("--once", help="Process complete files, then exit.")
    ] = False,
) -> None:
    """Ingest complete files from a folder; move each to processed/ or failed/ with its report."""
    settings = load_settings()

    async def main() -> None:
        from alerts.columns import utcnow
        from alerts.decisions.evaluate import evaluate_pending
        from alerts.ingestion.files import ingest_file
        from alerts.ingestion.watch import DropFolder

        folder = DropFolder(directory, settle_seconds=settle)
        async with running(settings) as rt:

            async def ingest_one(path: Path) -> IngestReport:
                async with rt.deps.sessions() as session:
                    report = await ingest_file(
                        session=session,
                        path=path,
                        adapter_key=adapter,
                        source="watch",
                        store_dir=settings.files_dir,
                    )
                await evaluate_pending(deps=rt.deps, now=utcnow())
                return report

            if not once:
                console.print(f"watching {directory} (Ctrl-C to stop)")
            await folder.run(ingest_one, once=once, on_report=lambda r: print_report(r.as_dict()))

    run(main)


@quarantine_app.command("list")
def quarantine_list(
    file_id: Annotated[int | None, typer.Option(help="Only this file's records.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Records set aside, with file, line, record id, field, value and reason."""
    settings = load_settings()

    async def main() -> list[QuarantineRow]:
        from alerts.ingestion.quarantine import list_quarantine

        async with running(settings) as rt, rt.deps.sessions() as session:
            return await list_quarantine(session=session, file_id=file_id)

    rows = run(main)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for q in rows:
        console.print(
            f"#{q['id']} {q['file']} line {q['line']} record {q['record_id']} "
            f"{q['field']}={q['value']!r}: {q['reason']}"
        )
    console.print(f"{len(rows)} open")


@quarantine_app.command("retry")
def quarantine_retry(
    file_id: Annotated[int | None, typer.Option(help="Only this file.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-process quarantined records after the cause was fixed (customer imported, export or
    mapping corrected); records that now pass become events, without duplicates."""
    settings = load_settings()

    async def main() -> RetryOutcome:
        from alerts.columns import utcnow
        from alerts.decisions.evaluate import evaluate_pending
        from alerts.ingestion.quarantine import retry_quarantine

        async with running(settings) as rt:
            async with rt.deps.sessions() as session:
                report = await retry_quarantine(session=session, now=utcnow(), file_id=file_id)
            created = await evaluate_pending(deps=rt.deps, now=utcnow())
        return {**report.as_dict(), "alerts_created": len(created)}

    result = run(main)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    console.print(
        f"events of newly known accounts: {result['accounts_resolved']}; "
        f"alerts created: {result['alerts_created']}; still open: {result['still_open']}"
    )
    for f in result["files"]:
        console.print(f"  file #{f['file_id']} {f['file']}: {f}")


adapters_app = typer.Typer(help="The XML formats Herald reads.", no_args_is_help=True)


def _installed(settings_dir: Path | None) -> None:
    from xml_adapters.base import MappingError
    from xml_adapters.registry import install_adapters

    try:
        install_adapters(settings_dir)
    except MappingError as exc:
        fail(str(exc))


@adapters_app.command("list")
def adapters_list(as_json: JsonOpt = False) -> None:
    """Every adapter loaded: built-in mappings and those in HERALD_MAPPINGS_DIR."""
    from xml_adapters.check import describe_adapters

    _installed(load_settings().mappings_dir)
    rows = describe_adapters()
    if as_json:
        print(json.dumps(rows, indent=2, default=str))
        return
    for a in rows:
        roots = "; ".join(
            f"{f['root']} ({len(f['namespaces'])} namespace(s))" for f in a["formats"]
        )
        origin = "built-in" if a["builtin"] else a["source"]
        console.print(f"{a['key']:<18} {a['title']}  [{roots}] {origin}", markup=False)


@adapters_app.command("check")
def adapters_check(
    file: Annotated[Path, typer.Argument(help="An XML file to try; nothing is stored.")],
    adapter: AdapterOpt = None,
    limit: Annotated[int, typer.Option(help="How many events to show.")] = 5,
    as_json: JsonOpt = False,
) -> None:
    """Dry-run one file: which adapter reads it, its first events and any record problems."""
    from xml_adapters.check import check_file

    _installed(load_settings().mappings_dir)
    if not file.exists():
        fail(f"{file}: no such file")
    result = check_file(file, adapter, limit)
    if as_json:
        print(json.dumps(result, indent=2, default=str))
    else:
        console.print(
            f"{file}: adapter {result.get('adapter')}, {result.get('records')} "
            f"records, {result.get('events')} events, {result.get('problems')} "
            "problems",
            markup=False,
        )
        for event in result.get("first_events") or []:
            console.print(f"  event: {json.dumps(event, default=str)}", markup=False)
        for problem in result.get("problem_messages") or []:
            console.print(f"  problem: {problem}", markup=False)
        if result.get("error"):
            console.print(f"  error: {result['error']}", markup=False)
    if not result.get("ok"):
        raise typer.Exit(1)


def register_ingestion(app: typer.Typer) -> None:
    app.command()(ingest)
    app.command()(watch)
    app.add_typer(quarantine_app, name="quarantine")
    app.add_typer(adapters_app, name="adapters")
