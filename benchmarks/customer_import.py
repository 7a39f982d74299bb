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


async def baseline(url: str, path: Path) -> float:
    """Plain executemany of the file's rows (parsing not timed)."""
    rows = [raw for _, raw in read_rows(path)]
    engine = await _fresh(url)
    now = datetime.now(UTC)
    started = time.perf_counter()
    async with engine.begin() as conn:
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
    seconds = time.perf_counter() - started
    await engine.dispose()
    return seconds


async def herald_import(url: str, path: Path) -> dict[str, Any]:
    engine = await _fresh(url)
    sessions = make_sessionmaker(engine)
    timings = []
    reports = []
    for _ in range(2):  # first load, then the same file again: every row an update
        started = time.perf_counter()
        async with sessions() as session:
            report = await import_customers(session=session, path=path)
        timings.append(time.perf_counter() - started)
        reports.append(report)
    await engine.dispose()
    return {
        "seconds": timings[0],
        "reimport_seconds": timings[1],
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
        "baseline": {"seconds": base, "rows_per_s": rows / base},
        "herald": {
            **herald,
            "rows_per_s": rows / herald["seconds"],
            "reimport_rows_per_s": rows / herald["reimport_seconds"],
        },
        "per_row": {
            "rows": min(rows, per_row_rows),
            "rows_per_s": min(rows, per_row_rows) / before,
        },
        "ratio_to_baseline": base / herald["seconds"],
    }


def report(result: dict[str, Any]) -> None:
    base, herald, before = result["baseline"], result["herald"], result["per_row"]
    print(f"customer import: {result['rows']:,} rows ({result['database']})")
    print(f"  raw executemany (baseline) {base['rows_per_s']:,.0f} rows/s")
    print(
        f"  herald customers import    {herald['rows_per_s']:,.0f} rows/s"
        f" ({herald['imported']:,} imported), re-import {herald['reimport_rows_per_s']:,.0f}"
        f" rows/s ({herald['updated']:,} updated), {herald['errors']} errors"
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
