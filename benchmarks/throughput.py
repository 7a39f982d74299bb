"""The throughput table of issue 16: each figure, its baseline from the same run, and the ratio,
on SQLite and (when a PostgreSQL URL is given) PostgreSQL.

Runs benchmarks.evaluate (decisions end to end, a real private Redis) and
benchmarks.customer_import (`herald customers import`) once per database and prints one table.

.venv/bin/python -m benchmarks.throughput [--customers 2000] [--events 20000] [--rows 20000]
    [--processes 2] [--database postgresql://...] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from benchmarks import customer_import, evaluate, summary


def rows_of(db: str, decisions: dict[str, Any], imported: dict[str, Any]) -> list[list[str]]:
    base, herald = decisions["baseline"], decisions["herald"]
    scale = f"{decisions['events']:,} events, {decisions['customers']:,} customers"
    rows = [
        [
            db,
            f"decisions end to end ({scale})",
            f"{herald['events_per_s']:,.0f} events/s",
            f"pure engine {base['events_per_s']:,.0f} events/s",
            f"{decisions['ratio_to_baseline']:.2f}x",
        ]
    ]
    if "processes" in decisions:
        many = decisions["processes"]
        rows.append(
            [
                db,
                f"decisions, {many['n']} processes ({many['double_decisions']} double)",
                f"{many['busy_events_per_s']:,.0f} events/s",
                f"1 process {herald['events_per_s']:,.0f} events/s",
                f"{many['busy_events_per_s'] / herald['events_per_s']:.2f}x",
            ]
        )
    ib, ih = imported["baseline"], imported["herald"]
    rows.append(
        [
            db,
            f"customer import ({imported['rows']:,} rows)",
            f"{ih['rows_per_s']:,.0f} rows/s",
            f"raw executemany {ib['rows_per_s']:,.0f} rows/s",
            f"{imported['ratio_to_baseline']:.2f}x",
        ]
    )
    rows.append(
        [
            db,
            "customer re-import (every row an update)",
            f"{ih['reimport_rows_per_s']:,.0f} rows/s",
            f"raw executemany {ib['rows_per_s']:,.0f} rows/s",
            f"{ib['seconds'] / ih['reimport_seconds']:.2f}x",
        ]
    )
    return rows


def table(rows: list[list[str]]) -> str:
    return summary.table(rows, ["database", "figure", "herald", "baseline (same run)", "ratio"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--database", default="", help="also on this PostgreSQL (a fresh db)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    rows: list[list[str]] = []
    for db in ["", args.database] if args.database else [""]:
        name = "postgresql" if db else "sqlite"
        decisions = asyncio.run(
            evaluate.run(
                args.customers,
                args.events,
                11,
                database=db,
                redis=True,
                processes=args.processes,
            )
        )
        imported = asyncio.run(customer_import.run(args.rows, db, 1000))
        results[name] = {"decisions": decisions, "customer_import": imported}
        rows += rows_of(name, decisions, imported)
    summary.record("throughput", summary.with_targets(rows))
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()
    else:
        print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
