"""Report query times over generated data: N alerts over 60 days with their events, decisions
(a fifth more, skipped), attempts, retries and fallbacks, answers, hand-offs and call counts,
written by the database itself (INSERT ... SELECT over a numbers table), then each report
(funnel, funnel by channel, response rates, delivery health, calls avoided, customers'
choices) timed over the last 30 days.

.venv/bin/python -m benchmarks.reports --alerts 20000                       # SQLite, temporary
.venv/bin/python -m benchmarks.reports --alerts 1000000 --database postgresql://...
    (a fresh database is created beside the one named, and dropped afterwards)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from alerts.reports.base import DateRange
from alerts.reports.calls import calls_avoided
from alerts.reports.choices import customer_choices
from alerts.reports.delivery import delivery_health
from alerts.reports.export import refresh_on_read
from alerts.reports.funnel import FunnelFilters, funnel
from alerts.reports.handoffs import handoff_report
from alerts.reports.responses import response_rates
from alerts.reports.rollup import READ_BUDGET_DAYS, refresh_rollups
from benchmarks import summary
from herald.db import make_engine, make_sessionmaker
from herald.migrate import upgrade

START = datetime(2026, 9, 1, tzinfo=UTC)
DAYS = 60
OPTED_OUT = '{"opted_out": true}'
TYPES = ("large_debit", "low_balance", "payment_received", "invoice_due", "shipment_delayed")


@dataclass
class BenchResult:
    database: str
    alerts: int
    rows: dict[str, int] = field(default_factory=dict)
    generate_seconds: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)
    check: dict[str, int] = field(default_factory=dict)
    rollup: dict[str, Any] = field(default_factory=dict)


class _Sql:
    """The few things SQLite and PostgreSQL spell differently in the generating statements."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"

    def at(self, seconds: str) -> str:
        if self.pg:
            return f"(TIMESTAMPTZ '2026-09-01 00:00:00+00' + ({seconds}) * INTERVAL '1 second')"
        # as SQLAlchemy writes them (microseconds included), so comparisons order them alike
        # a modifier "N seconds" takes a sign of its own: no '+' in front (that refused "+-4")
        return f"(datetime('2026-09-01 00:00:00', ({seconds}) || ' seconds') || '.000000')"

    def day(self, seconds: str) -> str:
        if self.pg:
            return f"CAST({self.at(seconds)} AS DATE)"
        return f"date('2026-09-01', ({seconds}) || ' seconds')"

    def json(self, literal: str) -> str:
        return f"CAST('{literal}' AS JSON)" if self.pg else f"'{literal}'"

    def true(self) -> str:
        return "TRUE" if self.pg else "1"

    def numbers(self, n: int) -> str:
        if self.pg:
            return f"INSERT INTO bench_numbers (n) SELECT generate_series(1, {n})"
        return (
            "INSERT INTO bench_numbers (n) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
            f"SELECT x + 1 FROM c WHERE x < {n}) SELECT x FROM c"
        )


def _statements(q: _Sql, alerts: int) -> list[tuple[str, str]]:
    events = alerts + alerts // 4
    customers = max(1, alerts // 50)
    span = DAYS * 86400 - 3600  # the last event an hour before the 60 days end
    at = f"CAST(n AS BIGINT) * {span} / {events}"  # seconds after START, spread evenly
    kinds = " ".join(f"WHEN {i} THEN '{t}'" for i, t in enumerate(TYPES))
    alert_type = f"CASE n % {len(TYPES)} {kinds} END"
    channel = "CASE n % 3 WHEN 0 THEN 'voice' WHEN 1 THEN 'sms' ELSE 'email' END"
    reached = "CASE n % 3 WHEN 0 THEN 'completed' WHEN 1 THEN 'delivered' ELSE 'sent' END"
    skip = (
        "CASE n % 4 WHEN 0 THEN 'x: does not hold (event.amount < 250)' "
        "WHEN 1 THEN 'x: duplicate of the alert k' WHEN 2 THEN 'x: frequency cap reached: 3' "
        "ELSE 'x: the customer opted out of x' END"
    )
    first_status = (
        f"CASE WHEN n % 50 = 7 THEN 'failed' WHEN n % 5 = 0 THEN 'no_answer' ELSE {reached} END"
    )
    return [
        ("numbers", q.numbers(events)),
        (
            "customers",
            "INSERT INTO customers (id, external_ref, name, locale, timezone, channel_order, "
            "segment, attributes, created_at) SELECT n, 'B-' || n, 'Customer ' || n, "
            "CASE n % 3 WHEN 0 THEN 'nl' ELSE 'en' END, 'UTC', "
            f"{q.json('[]')}, CASE n % 2 WHEN 0 THEN 'retail' ELSE 'business' END, "
            f"{q.json('{}')}, {q.at('0')} FROM bench_numbers WHERE n <= {customers}",
        ),
        (
            "events",
            "INSERT INTO events (id, source, source_event_id, event_type, account_id, "
            "customer_id, data, evaluated, created_at) SELECT n, 'bench', 'E-' || n, "
            f"'debit_posted', 'ACC-' || n, 1 + n % {customers}, {q.json('{}')}, {q.true()}, "
            f"{q.at(at + ' - 45')} FROM bench_numbers",
        ),
        (
            "decisions",
            "INSERT INTO decisions (id, event_id, alert_type, customer_id, outcome, reason, "
            f"detail, created_at) SELECT n, n, {alert_type}, 1 + n % {customers}, "
            f"CASE WHEN n <= {alerts} THEN 'alert' ELSE 'skip' END, "
            f"CASE WHEN n <= {alerts} THEN 'x: holds' ELSE {skip} END, {q.json('{}')}, "
            f"{q.at(at)} FROM bench_numbers",
        ),
        (
            "alerts",
            "INSERT INTO alerts (id, dedupe_key, alert_type, customer_id, event_id, "
            "decision_id, status, plan, options, windows, current_step, context, "
            f"provider_retries, created_at, updated_at) SELECT n, 'a-' || n, {alert_type}, "
            f"1 + n % {customers}, n, n, CASE WHEN n % 20 = 0 THEN 'expired' WHEN n % 50 = 7 "
            "THEN 'failed' WHEN n % 3 = 0 THEN 'closed' ELSE 'delivered' END, "
            f"{q.json('[]')}, {q.json('[]')}, {q.json('{}')}, 0, {q.json('{}')}, "
            f"CASE WHEN n % 100 = 3 THEN 1 ELSE 0 END, {q.at(at)}, {q.at(at)} "
            f"FROM bench_numbers WHERE n <= {alerts}",
        ),
        (
            "attempts",
            "INSERT INTO delivery_attempts (id, alert_id, step_index, channel, address, status, "
            "provider_sid, sending_started_at, error, created_at, updated_at) SELECT n, n, 0, "
            f"{channel}, 'x', {first_status}, CASE WHEN n % 50 = 7 THEN NULL ELSE 's-' || n END, "
            f"{q.at(at + ' + 30')}, CASE WHEN n % 50 = 7 THEN '21211' END, {q.at(at + ' + 30')}, "
            f"{q.at(at + ' + 30')} FROM bench_numbers WHERE n <= {alerts} AND n % 20 <> 0",
        ),
        (
            "fallbacks",
            "INSERT INTO delivery_attempts (id, alert_id, step_index, channel, address, status, "
            "provider_sid, sending_started_at, created_at, updated_at) SELECT "
            f"{events} + n, n, 1, 'sms', 'x', 'delivered', 't-' || n, {q.at(at + ' + 330')}, "
            f"{q.at(at + ' + 330')}, {q.at(at + ' + 330')} FROM bench_numbers "
            f"WHERE n <= {alerts} AND n % 5 = 0 AND n % 20 <> 0",
        ),
        (
            "reached",
            "INSERT INTO status_changes (entity, entity_id, from_status, event, to_status, "
            "applied, reason, actor, created_at) SELECT 'alert', alert_id, 'delivering', "
            f"'reach', 'delivered', {q.true()}, channel || ' ' || status, 'herald', created_at "
            "FROM delivery_attempts WHERE status IN ('completed', 'delivered', 'sent')",
        ),
        (
            "responses",
            "INSERT INTO responses (id, dedupe_key, alert_id, attempt_id, customer_id, channel, "
            f"intent, created_at) SELECT n, 'r-' || n, n, n, 1 + n % {customers}, {channel}, "
            f"CASE WHEN n % 9 = 0 THEN 'agent' ELSE 'confirm' END, {q.at(at + ' + 150')} "
            f"FROM bench_numbers WHERE n <= {alerts} AND n % 3 = 0 AND n % 20 <> 0 "
            "AND n % 5 <> 0",
        ),
        (
            "handoffs",
            "INSERT INTO handoffs (response_id, alert_id, customer_id, kind, status, context, "
            f"created_at) SELECT id, alert_id, customer_id, 'callback', CASE WHEN id % 2 = 0 "
            f"THEN 'completed' ELSE 'queued' END, {q.json('{}')}, created_at FROM responses "
            "WHERE intent = 'agent'",
        ),
        (
            "preference_changes",
            "INSERT INTO preference_changes (customer_id, alert_type, actor, before, after, "
            f"created_at) SELECT 1 + n % {customers}, {alert_type}, 'customer (preferences "
            f"page)', {q.json('{}')}, {q.json(OPTED_OUT)}, {q.at(at)} "
            f"FROM bench_numbers WHERE n % 200 = 0",
        ),
        (
            "inbound_call_counts",
            "INSERT INTO inbound_call_counts (day, reason, alert_type, calls, source, "
            f"imported_at) SELECT {q.day('(n - 1) * 86400')}, "
            f"'reason ' || {alert_type}, {alert_type}, 50 + n % 7, 'bench', {q.at('0')} "
            f"FROM bench_numbers WHERE n <= {DAYS}",
        ),
    ]


async def generate(engine: AsyncEngine, alerts: int) -> dict[str, int]:
    q = _Sql(engine.dialect.name)
    rows: dict[str, int] = {}
    async with engine.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE bench_numbers (n INTEGER PRIMARY KEY)"))
        for name, statement in _statements(q, alerts):
            result = await conn.execute(sa.text(statement))
            rows[name] = int(result.rowcount or 0)
        await conn.execute(sa.text("DROP TABLE bench_numbers"))
    if q.pg:
        async with engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.execute(sa.text("ANALYZE"))
    return rows


def _reports(period: DateRange, everything: DateRange) -> dict[str, Any]:
    """Each report by name: a function of (session, today, rollup) returning its JSON."""

    def funnel_of(p: DateRange, group_by: str = "") -> Any:
        filters = FunnelFilters(group_by=group_by)
        return lambda s, t, r: funnel(session=s, period=p, filters=filters, today=t, rollup=r)

    return {
        "funnel": funnel_of(period),
        "funnel by channel": funnel_of(period, "channel"),
        "response rates": lambda s, t, r: response_rates(
            session=s, period=period, today=t, rollup=r
        ),
        "delivery health": lambda s, t, r: delivery_health(
            session=s, period=period, today=t, rollup=r
        ),
        "calls avoided": lambda s, t, r: calls_avoided(session=s, period=period, today=t, rollup=r),
        "customers' choices": lambda s, _t, _r: customer_choices(session=s, period=period),
        "hand-offs": lambda s, t, r: handoff_report(session=s, period=period, today=t, rollup=r),
        "funnel, all 60 days": funnel_of(everything),
    }


def _late_answers(q: _Sql, alerts: int, first: int, last: int) -> str:
    """Answers arriving now to alerts raised yesterday (ids first..last): yesterday's figures
    change, so the next refresh must rebuild that day."""
    return (
        "INSERT INTO responses (id, dedupe_key, alert_id, attempt_id, customer_id, channel, "
        f"intent, created_at) SELECT {alerts * 3} + n, 'late-' || n, n, n, 1, 'voice', "
        f"'confirm', {q.at(str(DAYS * 86400 - 600))} FROM bench_numbers "
        f"WHERE n BETWEEN {first} AND {last} AND n % 3 = 1 AND n % 20 <> 0 AND n % 50 <> 7"
    )


async def _add_late_answers(engine: AsyncEngine, alerts: int) -> int:
    q = _Sql(engine.dialect.name)
    events = alerts + alerts // 4
    per_day = events // DAYS
    last = min(alerts, events - per_day)  # the alerts of the day before the last
    first = max(1, last - per_day + 1)
    async with engine.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE bench_numbers (n INTEGER PRIMARY KEY)"))
        await conn.execute(sa.text(q.numbers(last)))
        added = (await conn.execute(sa.text(_late_answers(q, alerts, first, last)))).rowcount
        await conn.execute(sa.text("DROP TABLE bench_numbers"))
    return int(added or 0)


async def time_reports(
    engine: AsyncEngine, *, alerts: int, raw: bool = True
) -> tuple[dict[str, float], dict[str, int], dict[str, Any]]:
    """Build the rollups, add late answers to yesterday's alerts, refresh again, then time each
    report reading the rollups (and today raw), and the same report over the raw tables only
    (the baseline), checking both give the same figures."""
    last = (START + timedelta(days=DAYS - 1)).date()  # "today": its figures are read raw
    period = DateRange(last - timedelta(days=29), last)
    everything = DateRange(START.date(), last)
    sessions = make_sessionmaker(engine)
    info: dict[str, Any] = {"today": last.isoformat()}
    async with sessions() as session:
        built = await refresh_rollups(session=session, today=last, now=START + timedelta(DAYS))
    info["build_seconds"], info["built_days"] = round(built.seconds, 3), len(built.built_days)
    info["late_answers"] = await _add_late_answers(engine, alerts)
    async with sessions() as session:
        again = await refresh_rollups(
            session=session, today=last, budget_days=READ_BUDGET_DAYS, now=START + timedelta(DAYS)
        )
    info["refresh_seconds"], info["refreshed_days"] = round(again.seconds, 3), again.changed_days
    async with sessions() as session:
        idle = await refresh_rollups(session=session, today=last, budget_days=READ_BUDGET_DAYS)
    info["idle_refresh_seconds"] = round(idle.seconds, 3)
    seconds: dict[str, float] = {}
    raw_seconds: dict[str, float] = {}
    differ: list[str] = []
    results: dict[str, Any] = {}
    for name, run in _reports(period, everything).items():
        async with sessions() as session:  # as the API serves it: the refresh, then the report
            began = time.perf_counter()
            await refresh_on_read(session, last)
            results[name] = await run(session, last, True)
            seconds[name] = round(time.perf_counter() - began, 3)
        if raw:
            async with sessions() as session:
                began = time.perf_counter()
                baseline = await run(session, last, False)
                raw_seconds[name] = round(time.perf_counter() - began, 3)
            if _as_json(baseline) != _as_json(results[name]):
                differ.append(name)
    info["raw_seconds"], info["differ_from_raw"] = raw_seconds, differ
    total = results["funnel, all 60 days"].total
    check = {"alerts": total.alerts, "events": total.events or 0, "resolved": total.resolved}
    return seconds, check, info


def _as_json(report: Any) -> str:
    return json.dumps(report.as_json(), sort_keys=True, default=str)


async def run(database_url: str, *, alerts: int, raw: bool = True) -> BenchResult:
    """Generate ``alerts`` alerts in the (empty) database and time every report."""
    engine = make_engine(database_url)
    try:
        await upgrade(engine)
        began = time.perf_counter()
        rows = await generate(engine, alerts)
        result = BenchResult(database=engine.dialect.name, alerts=alerts, rows=rows)
        result.generate_seconds = round(time.perf_counter() - began, 1)
        result.seconds, result.check, result.rollup = await time_reports(
            engine, alerts=alerts, raw=raw
        )
        return result
    finally:
        await engine.dispose()


def _fresh_postgres(url: str) -> tuple[str, str]:
    import psycopg

    name = f"herald_bench_{uuid.uuid4().hex[:8]}"
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return plain.rsplit("/", 1)[0] + f"/{name}", name


def _drop_postgres(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(
        url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--alerts", type=int, default=20_000, help="alerts to generate")
    parser.add_argument("--database", default="", help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--no-raw", action="store_true", help="skip the baseline (each report over raw tables)"
    )
    args = parser.parse_args(argv)
    raw = not args.no_raw
    if args.database.startswith("postgres"):
        url, name = _fresh_postgres(args.database)
        try:
            result = asyncio.run(run(url, alerts=args.alerts, raw=raw))
        finally:
            _drop_postgres(args.database, name)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            result = asyncio.run(run(url, alerts=args.alerts, raw=raw))
    summary.record(
        "reports",
        summary.reports_rows(
            result.database, result.alerts, result.seconds, result.rollup["raw_seconds"]
        ),
    )
    if args.json:
        print(json.dumps(asdict(result), indent=2))
        return 0
    _print(result)
    return 0 if not result.rollup["differ_from_raw"] else 1


def _print(result: BenchResult) -> None:
    info = result.rollup
    print(f"reports over {result.alerts:,} alerts on {result.database}")
    print(
        f"  generated in {result.generate_seconds} s: "
        + ", ".join(f"{k} {v:,}" for k, v in result.rows.items())
    )
    print(
        f"  rollup: built {info['built_days']} days in {info['build_seconds']} s; "
        f"{info['late_answers']:,} late answers to yesterday's alerts, refreshed in "
        f"{info['refresh_seconds']} s (rebuilt {len(info['refreshed_days'])} day); "
        f"a refresh with nothing new {info['idle_refresh_seconds']} s"
    )
    print(
        f"  each report as served (a refresh, then the report; today, {info['today']}, read "
        "raw); baseline: the same report over the raw tables only"
    )
    print(f"  {'report':<22} {'rollup':>9} {'raw':>9} {'raw/rollup':>11}")
    for name, seconds in result.seconds.items():
        raw = info["raw_seconds"].get(name)
        ratio = f"{raw / seconds:10.1f}x" if raw is not None and seconds else ""
        raw_text = f"{raw:8.3f}s" if raw is not None else "        -"
        print(f"  {name:<22} {seconds:8.3f}s {raw_text} {ratio}")
    if info["raw_seconds"]:
        differ = info["differ_from_raw"]
        print("  same figures as the raw tables: " + ("yes" if not differ else f"NO: {differ}"))


if __name__ == "__main__":
    raise SystemExit(main())
