"""Customer import throughput: rows per second of `herald customers import`, against a raw bulk
insert of the same rows, in one run, on SQLite or PostgreSQL.

Writes a CSV of ``--rows`` customers (an account, a phone and an email each), then, each on a
fresh database:

  baseline   the same rows' customers, accounts and contact points inserted with plain
             executemany (no validation, no upsert, no report): what the database itself costs
  herald     alerts.customers.records.import_customers on the file (validated, upserted in
             batches, per-row error report), then again on the same file (every row an update)
  per row    the previous importer's way (a savepoint and upsert_customer per row), on the first
             ``--per-row`` rows only, for the before/after

.venv/bin/python -m benchmarks.customer_import [--rows 20000] [--database postgresql://...] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from alerts.customers.records import CustomerIn, import_customers, read_rows, upsert_customer
from alerts.models import Account, ContactPoint, Customer
from benchmarks.evaluate import fresh_database
from herald.db import make_engine, make_sessionmaker
from herald.migrate import upgrade

HEADER = "external_ref,name,locale,timezone,accounts,phones,emails,channel_order,segment\n"


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for i in range(rows):
            out.write(
                f"B-{i:07d},Customer {i},en,Europe/Amsterdam,NL00BANK{i:010d},"
                f"+3161{i:07d},c{i}@example.com,voice;sms;email,retail\n"
            )


async def _fresh(url: str) -> Any:
    engine = make_engine(url)
    await upgrade(engine)
    return engine


async def baseline(url: str, path: Path) -> dict[str, float]:
    """Plain executemany of the file's rows (parsing not timed)."""
    rows = [raw for _, raw in read_rows(path)]
    engine = await _fresh(url)
    now = datetime.now(UTC)
    started, cpu = time.perf_counter(), time.process_time()
    async with engine.begin() as conn:
        backend = await _backend(conn)
        server = _server_cpu(backend)
        for start in range(0, len(rows), 1000):
            chunk = rows[start : start + 1000]
            first = start + 1
            await conn.execute(
                sa.insert(Customer.__table__),  # type: ignore[attr-defined]
                [
                    {
                        "id": first + n,
                        "external_ref": r["external_ref"],
                        "name": r["name"],
                        "locale": r["locale"],
                        "timezone": r["timezone"],
                        "channel_order": r["channel_order"],
                        "segment": r["segment"],
                        "attributes": {},
                        "created_at": now,
                    }
                    for n, r in enumerate(chunk)
                ],
            )
            await conn.execute(
                sa.insert(Account.__table__),  # type: ignore[attr-defined]
                [
                    {"customer_id": first + n, "account_id": a}
                    for n, r in enumerate(chunk)
                    for a in r["accounts"]  # type: ignore[union-attr]
                ],
            )
            await conn.execute(
                sa.insert(ContactPoint.__table__),  # type: ignore[attr-defined]
                [
                    {
                        "customer_id": first + n,
                        "kind": kind,
                        "address": address,
                        "consent_source": "import",
                        "consent_at": now,
                        "created_at": now,
                    }
                    for n, r in enumerate(chunk)
                    for kind, key in (("phone", "phones"), ("email", "emails"))
                    for address in r[key]  # type: ignore[union-attr]
                ],
            )
        server = _server_cpu(backend) - server
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    await engine.dispose()
    return {"seconds": seconds, "cpu": cpu, "server_cpu": server}


async def _backend(conn: Any) -> int | None:
    """The PostgreSQL server process of ``conn`` (None on SQLite)."""
    if conn.dialect.name != "postgresql":
        return None
    return int((await conn.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one())


def _server_cpu(pid: int | None) -> float:
    """CPU seconds the server process ``pid`` has used (it runs on this machine); 0 if unknown.
    The client's and the server's CPU per row are what the rate would be on free cores: the
    machine's load moves the wall-clock rate, much less these."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def herald_import(url: str, path: Path) -> dict[str, Any]:
    engine = await _fresh(url)
    sessions = make_sessionmaker(engine)
    timings = []
    reports = []
    for _ in range(2):  # first load, then the same file again: every row an update
        started, cpu = time.perf_counter(), time.process_time()
        async with sessions() as session:
            backend = await _backend(await session.connection())
            server = _server_cpu(backend)
            report = await import_customers(session=session, path=path)
            server = _server_cpu(backend) - server
        timings.append((time.perf_counter() - started, time.process_time() - cpu, server))
        reports.append(report)
    await engine.dispose()
    return {
        "seconds": timings[0][0],
        "cpu": timings[0][1],
        "server_cpu": timings[0][2],
        "reimport_seconds": timings[1][0],
        "reimport_cpu": timings[1][1],
        "reimport_server_cpu": timings[1][2],
        "imported": reports[0].imported,
        "updated": reports[1].updated,
        "errors": len(reports[0].errors) + len(reports[1].errors),
    }


async def per_row(url: str, path: Path, rows: int) -> float:
    """The importer before batches: a savepoint and upsert_customer per row."""
    data = [CustomerIn.model_validate(raw) for _, raw in read_rows(path)[:rows]]
    engine = await _fresh(url)
    sessions = make_sessionmaker(engine)
    started = time.perf_counter()
    async with sessions() as session:
        for item in data:
            async with session.begin_nested():
                await upsert_customer(session=session, data=item)
        await session.commit()
    seconds = time.perf_counter() - started
    await engine.dispose()
    return seconds


async def run(rows: int, database: str, per_row_rows: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="herald-bench-") as tmp:
        path = Path(tmp) / "customers.csv"
        write_csv(path, rows)
        with fresh_database(database) as url:
            base = await baseline(url, path)
        with fresh_database(database) as url:
            herald = await herald_import(url, path)
        with fresh_database(database) as url:
            before = await per_row(url, path, min(rows, per_row_rows))
        dialect = "postgresql" if database.startswith("postgres") else "sqlite"
    return {
        "database": dialect,
        "rows": rows,
        "baseline": {**base, "rows_per_s": rows / base["seconds"]},
        "herald": {
            **herald,
            "rows_per_s": rows / herald["seconds"],
            "reimport_rows_per_s": rows / herald["reimport_seconds"],
        },
        "per_row": {
            "rows": min(rows, per_row_rows),
            "rows_per_s": min(rows, per_row_rows) / before,
        },
        "ratio_to_baseline": base["seconds"] / herald["seconds"],
    }


def _cpu(part: dict[str, Any], rows: int, prefix: str = "", *, overlap: bool = True) -> str:
    client = part[f"{prefix}cpu"] / rows * 1e6
    server = part[f"{prefix}server_cpu"] / rows * 1e6
    if not server:
        return f"{client:.0f} us CPU/row"
    # Herald's client and server overlap (a batch is written while the next is validated): on
    # free cores its rate is set by the busier of the two; the baseline waits for each statement.
    per_row = max(client, server) if overlap else client + server
    return (
        f"{client:.0f} us client + {server:.0f} us server CPU/row,"
        f" {1e6 / per_row:,.0f} rows/s on free cores"
    )


def report(result: dict[str, Any]) -> None:
    base, herald, before = result["baseline"], result["herald"], result["per_row"]
    rows = result["rows"]
    print(f"customer import: {rows:,} rows ({result['database']}, load {os.getloadavg()[0]:.1f})")
    base_cpu = _cpu(base, rows, overlap=False)
    print(f"  raw executemany (baseline) {base['rows_per_s']:,.0f} rows/s; {base_cpu}")
    print(
        f"  herald customers import    {herald['rows_per_s']:,.0f} rows/s"
        f" ({herald['imported']:,} imported); {_cpu(herald, rows)}"
    )
    print(
        f"  re-import (every row an update) {herald['reimport_rows_per_s']:,.0f} rows/s"
        f" ({herald['updated']:,} updated); {_cpu(herald, rows, 'reimport_')};"
        f" {herald['errors']} errors"
    )
    print(f"  ratio to the baseline      {result['ratio_to_baseline']:.2f}x")
    print(
        f"  before (a row at a time)   {before['rows_per_s']:,.0f} rows/s"
        f" (first {before['rows']:,} rows); batches are"
        f" {herald['rows_per_s'] / before['rows_per_s']:.0f}x that"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--per-row", type=int, default=1000, help="rows for the old importer")
    parser.add_argument("--database", default="", help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.rows, args.database, args.per_row))
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
    else:
        report(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
