"""The `herald` command line: demo, up, serve, worker, run, ingest, customers, users, migrate..."""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from herald.cli_alert_types import register_alert_types
from herald.cli_common import (
    JsonOpt,
    UserInputError,
    console,
    fail,
    load_settings,
    run,
    running,
)
from herald.cli_ingest import register_ingestion
from herald.cli_reports import register_reports
from herald.embedded import EmbeddedServiceError
from herald.logs import configure

if TYPE_CHECKING:
    from alerts.customers.history import CustomerHistory, HistoryQuery
    from alerts.customers.records import ImportReport
    from herald.worker import Drained

app = typer.Typer(
    help="Herald: proactive alerts by voice, SMS and email.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
customers_app = typer.Typer(help="Manage customers.", no_args_is_help=True)
users_app = typer.Typer(help="Manage admin-UI users.", no_args_is_help=True)
app.add_typer(customers_app, name="customers")
app.add_typer(users_app, name="users")
register_ingestion(app)
register_alert_types(app)
register_reports(app)


@app.command()
def migrate() -> None:
    """Create or upgrade the database tables (safe to run any number of times)."""
    settings = load_settings()

    async def main() -> None:
        from herald.db import make_engine
        from herald.migrate import upgrade

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.resolved_database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    run(main)
    console.print("database is up to date")


@app.command()
def doctor(as_json: JsonOpt = False) -> None:
    """Check the settings and every dependency (database, Redis, SMTP, Twilio, public URL)."""
    from herald.doctor import diagnose, failed, print_findings

    settings = load_settings()
    findings = run(lambda: diagnose(settings))
    if as_json:
        print(json.dumps([f.as_dict() for f in findings], indent=2))
    else:
        print_findings(console, findings)
    if failed(findings):
        raise typer.Exit(1)


@customers_app.command("import")
def customers_import(file: Path, as_json: JsonOpt = False) -> None:
    """Import customers from CSV or JSON; bad rows are reported and skipped."""
    settings = load_settings()

    async def main() -> ImportReport:
        from alerts.customers.records import import_customers

        if not file.exists():
            raise FileNotFoundError(f"{file}: no such file")
        async with running(settings) as rt:
            async with rt.deps.sessions() as session:
                try:
                    report = await import_customers(session=session, path=file)
                except (ValueError, UnicodeDecodeError) as exc:
                    raise UserInputError(f"{file}: cannot read customers ({exc})") from exc
            return report

    result = run(main)
    if as_json:
        print(json.dumps(asdict(result), indent=2))
    else:
        console.print(
            f"imported {result.imported}, updated {result.updated}, rejected {len(result.errors)}"
        )
        for e in result.errors:
            console.print(f"  row {e['row']}: {e['error']}")
    if result.errors:
        raise typer.Exit(1)


def _user_change(username: str, change: str) -> str:
    """Lock, unlock or reset (a generated password) one user; every session of theirs ends."""
    settings = load_settings()
    out: list[str] = []

    async def main() -> None:
        from sqlmodel import select

        from admin_ui.users import normalise_username, reset_password, set_disabled
        from alerts import audit
        from alerts.models import User

        who = os.environ.get("USER") or "unknown"
        audit.set_origin(audit.Origin(actor=f"cli: {who}"[:100], via="herald CLI"))
        async with running(settings) as rt, rt.deps.sessions() as session:
            name = normalise_username(username)
            user = (await session.exec(select(User).where(User.username == name))).first()
            if user is None or user.id is None:
                raise UserInputError(
                    f"there is no user {username!r} (names are not case-sensitive)"
                )
            try:
                if change == "reset":
                    out.append((await reset_password(session=session, user_id=user.id))[1])
                else:
                    await set_disabled(session=session, user_id=user.id, disabled=change == "lock")
            except ValueError as exc:
                raise UserInputError(str(exc)) from exc

    run(main)
    return out[0] if out else ""


@users_app.command("lock")
def users_lock(username: str) -> None:
    """Lock a user: they cannot log in, and every session of theirs ends now."""
    _user_change(username, "lock")
    console.print(f"user {username!r} locked; their sessions have ended")


@users_app.command("unlock")
def users_unlock(username: str) -> None:
    """Unlock a user locked with `herald users lock` (or disabled in the admin UI)."""
    _user_change(username, "unlock")
    console.print(f"user {username!r} unlocked")


@users_app.command("reset")
def users_reset(username: str) -> None:
    """Give a user a new generated password (printed once) and end every session of theirs."""
    password = _user_change(username, "reset")
    console.print(f"user {username!r}: new password {password} (hand it over; shown only once)")


@users_app.command("create")
def users_create(
    username: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    role: Annotated[
        str, typer.Option(help="admin, publisher, editor, supervisor, agent or viewer")
    ] = "admin",
    skills: Annotated[
        str, typer.Option(help="the call-centre queues an agent serves, e.g. fraud,general")
    ] = "",
) -> None:
    """Create a user for the admin UI (password stored as an argon2 hash)."""
    settings = load_settings()

    async def main() -> None:
        from admin_ui.users import create_user
        from alerts import audit

        who = os.environ.get("USER") or "unknown"
        audit.set_origin(audit.Origin(actor=f"cli: {who}"[:100], via="herald CLI"))

        async with running(settings) as rt, rt.deps.sessions() as session:
            from callcentre.queues import check_queues, set_skills

            queues = [q.strip() for q in skills.split(",") if q.strip()]
            try:
                await check_queues(session, queues)  # before the user exists
                user = await create_user(
                    session=session, username=username, password=password, role=role
                )
                if queues:
                    await set_skills(session=session, user=user, queues=queues)
            except ValueError as exc:
                raise UserInputError(str(exc)) from exc

    run(main)
    console.print(f"user {username!r} created ({role})" + (f", serves {skills}" if skills else ""))


HISTORY_FLAGS = {
    "limit": "--limit",
    "before": "--before",
    "skips_before": "--skips-before",
    "changes_before": "--changes-before",
}


@app.command()
def history(
    customer_ref: str,
    as_json: JsonOpt = False,
    limit: Annotated[int, typer.Option(min=1, max=200, help="Alerts (and so on) per page.")] = 20,
    before: Annotated[
        int | None, typer.Option(min=1, help="Only alerts older than this alert id.")
    ] = None,
    skips_before: Annotated[
        int | None,
        typer.Option(min=1, help="Only events without an alert older than this event id."),
    ] = None,
    changes_before: Annotated[
        int | None,
        typer.Option(min=1, help="Only preference changes older than this change id."),
    ] = None,
) -> None:
    """One customer, a page at a time: the newest alerts with their events, decisions, attempts,
    responses and hand-offs; the newest events without an alert and preference changes."""
    from alerts.customers.history import HistoryQuery

    settings = load_settings()
    query = HistoryQuery(
        limit=limit, before=before, skips_before=skips_before, changes_before=changes_before
    )

    async def main() -> CustomerHistory | None:
        from alerts.customers.history import customer_history

        async with running(settings) as rt, rt.deps.sessions() as session:
            return await customer_history(
                session=session, external_ref=customer_ref, mask_contacts=not as_json, query=query
            )

    data = run(main)
    if data is None:
        fail(f"no customer {customer_ref!r}", 1)
    assert data is not None
    if as_json:
        print(data.model_dump_json(indent=2, by_alias=True))
        return
    from herald.report import print_history

    print_history(console, data.model_dump(mode="json", by_alias=True))
    _print_pages(customer_ref, query, data)


def _print_pages(ref: str, query: HistoryQuery, data: CustomerHistory) -> None:
    """ "Showing 20 of 134 alerts", and the command that shows the next, older page."""
    pages = data.pages
    console.print()
    for info, cursor in (
        (pages.alerts, "before"),
        (pages.events_without_alert, "skips_before"),
        (pages.preference_changes, "changes_before"),
    ):
        line = f"{info.summary}."
        if info.older is not None:
            given = query.model_copy(update={cursor: info.older}).given()
            flags = " ".join(f"{HISTORY_FLAGS[k]} {v}" for k, v in given.items())
            line += f" Older: herald history {shlex.quote(ref)} {flags}"
        console.print(line, markup=False, highlight=False)


@app.command()
def worker(
    queue: Annotated[
        list[str] | None, typer.Option(help="Queue(s) to serve; all if unset.")
    ] = None,
) -> None:
    """Run the arq workers (voice, SMS, email and the default queue with the sweep)."""
    settings = load_settings()

    async def main() -> None:
        from herald.metrics import serve_worker_metrics
        from herald.worker import run_workers

        async with running(settings) as rt:
            exposed = await serve_worker_metrics(settings)  # HERALD_METRICS__WORKER_PORT
            try:
                await run_workers(rt, queues=queue)
            finally:
                if exposed is not None:
                    await exposed.cleanup()

    run(main)


@app.command("run")
def run_cmd(
    burst: Annotated[bool, typer.Option("--burst", help="Drain due work, then exit.")] = False,
    wait_deferred: Annotated[
        bool, typer.Option(help="Also wait for deferred steps (fallbacks, retries).")
    ] = False,
    timeout: float = 300.0,
    as_json: JsonOpt = False,
) -> None:
    """Process queued work: with --burst, drain everything due and exit."""
    if not burst:
        fail("use `herald worker` to run continuously, or `herald run --burst`")
    settings = load_settings()

    async def main() -> Drained:
        from herald.worker import drain

        async with running(settings) as rt:
            return await drain(rt, wait_deferred=wait_deferred, timeout=timeout)

    result = run(main)
    if as_json:
        print(json.dumps(result))
    else:
        console.print(f"drained in {result['seconds']}s; {result['jobs_left']} job(s) deferred")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default HERALD_API_HOST)")] = None,
    port: int | None = None,
) -> None:
    """Run the HTTP API, webhooks and admin UI."""
    import uvicorn

    from herald.app import create_app
    from herald.embedded import PortClaim, PrivateRedis, check_ports

    settings = load_settings()
    bind = (host or settings.api_host, port or settings.api_port)
    try:
        check_ports([PortClaim("the API", *bind, "pass --port or set HERALD_API_PORT")])
        if not settings.redis_url:
            PrivateRedis.ensure(settings)
    except EmbeddedServiceError as exc:
        fail(str(exc))

    async def check_schema() -> None:
        from herald.db import make_engine
        from herald.migrate import ensure_schema

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.resolved_database_url)
        try:
            await ensure_schema(engine, embedded=settings.database_url is None)
        finally:
            await engine.dispose()

    run(check_schema)  # a clear message now rather than a failed start inside uvicorn
    uvicorn.run(
        create_app(settings),
        host=bind[0],
        port=bind[1],
        **server_options(settings.log_level, settings.log_format),
    )


def server_options(log_level: str, log_format: str) -> dict[str, Any]:
    """uvicorn's settings for `herald serve` (benchmarks.webhooks serves its baseline with them)."""
    import uvicorn

    return {
        # uvloop and httptools (dependencies of Herald): less CPU per request than asyncio's
        # loop and h11, which a webhook-heavy API process spends most of its time in.
        "loop": "uvloop",
        "http": "httptools",
        # No line per request: /metrics times every webhook by route and status, and Herald
        # logs what each request did (JSON logs silenced uvicorn.access already).
        "access_log": False,
        "log_level": log_level.lower(),
        # JSON logs: uvicorn's own lines go through Herald's formatter (herald.logs) too.
        "log_config": None if log_format == "json" else uvicorn.config.LOGGING_CONFIG,
    }


@app.command()
def up() -> None:
    """API + workers + embedded services (Redis, Twilio simulator, SMTP sink) in one process."""
    settings = load_settings()
    from herald.stack import run_up

    run(lambda: run_up(settings, console))


@app.command()
def simulate(
    port: int | None = None,
    host: Annotated[str, typer.Option(help="Bind address (0.0.0.0 in a container).")] = (
        "127.0.0.1"
    ),
    scenario: Annotated[Path | None, typer.Option(help="Scenario file (YAML/JSON).")] = None,
) -> None:
    """Run the Twilio simulator alone (see examples/scenario.yaml)."""
    settings = load_settings()
    from herald.embedded import PortClaim, check_ports
    from herald.stack import simulator_config

    bound = port or settings.twilio.simulator_port
    change = "pass --port or set HERALD_TWILIO__SIMULATOR_PORT"

    async def main() -> None:
        from channels.twilio_sim import serve as serve_sim

        check_ports([PortClaim("the Twilio simulator", host, bound, change)])
        cfg = simulator_config(settings, scenario)
        console.print(f"Twilio simulator on http://{host}:{bound}")
        await serve_sim(cfg, host=host, port=bound)

    run(main)


@app.command()
def bench(
    which: Annotated[str, typer.Argument(help="ingest, centre, rules or reports")] = "ingest",
    mb: Annotated[int, typer.Option(help="Size of the generated camt.054 file.")] = 256,
) -> None:
    """Run a benchmark from the source tree's benchmarks/ (what `make bench` runs)."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    if not (root / "benchmarks").is_dir():
        fail("benchmarks/ is not next to this installation; run from a source checkout")
    module = {
        "ingest": "benchmarks.ingest",
        "centre": "benchmarks.simulate_centre",
        "rules": "benchmarks.evaluate",
        "reports": "benchmarks.reports",
    }.get(which)
    if module is None:
        fail(f"unknown benchmark {which!r}: use ingest, centre, rules or reports")
    args = ["--mb", str(mb)] if which == "ingest" else []
    raise typer.Exit(subprocess.call([sys.executable, "-m", str(module), *args], cwd=root))


@app.command("signing-key")
def signing_key() -> None:
    """Print the key that signs requests to transaction endpoints (X-Herald-Signature)."""
    print(load_settings().transaction_signing_key)


@app.command("simulate-centre")
def simulate_centre(
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same day).")] = 2026,
    as_json: JsonOpt = False,
    recipients: Annotated[
        int | None, typer.Option(min=0, help="Customers called (default: 40000).")
    ] = None,
    agents: Annotated[int | None, typer.Option(min=0, help="Agents working (default: 50).")] = None,
) -> None:
    """Simulate a day of paced voice alerts against the call centre (pacing off vs on)."""
    from dataclasses import replace

    from callcentre.simulation import Scenario, compare
    from callcentre.simulation_table import render_table

    base = Scenario()
    result = compare(
        replace(
            base,
            seed=seed,
            recipients=base.recipients if recipients is None else recipients,
            agents=base.agents if agents is None else agents,
        )
    )
    print(json.dumps(result, indent=2) if as_json else render_table(result))


@app.command()
def demo(
    serve_ui: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the admin UI after the summary.")
    ] = True,
    as_json: JsonOpt = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show every log line.")] = False,
) -> None:
    """Run the whole loop on demo data and print what happened."""
    settings = load_settings()
    if not verbose:
        configure("WARNING")
    from herald.demo import run_demo

    summary = run(lambda: run_demo(settings, console, serve=serve_ui, quiet=as_json))
    if as_json:
        print(json.dumps(summary, indent=2, default=str))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
