"""The one table `make bench` ends with: every figure of issue 16 (and issue 15's ingest), its
baseline from the same run, the ratio and the target.

Each benchmark prints its own detailed report; when HERALD_BENCH_SUMMARY names a file, it also
appends its headline rows there (one JSON line per row), built from the result it printed.
`python -m benchmarks.summary FILE` prints them as one Markdown table, with the machine it ran
on, so it can be pasted into README.md as it is.

.venv/bin/python -m benchmarks.summary .bench-summary.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ENV = "HERALD_BENCH_SUMMARY"
COLUMNS = ("benchmark", "database", "figure", "herald", "baseline (same run)", "ratio", "target")

Row = list[str]


def record(benchmark: str, rows: Iterable[Row]) -> None:
    """Append `rows` ([database, figure, herald, baseline, ratio, target]) to the summary file."""
    target = os.environ.get(ENV)
    if not target:
        return
    with open(target, "a", encoding="utf-8") as out:
        for row in rows:
            if len(row) != len(COLUMNS) - 1:
                raise ValueError(f"a summary row has {len(COLUMNS) - 1} cells, not {len(row)}")
            out.write(json.dumps([benchmark, *row]) + "\n")


def _x(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "-"


def ingest_rows(results: dict[str, dict[str, Any]], size_mb: float) -> list[Row]:
    base = results["baseline"]
    out = []
    for key, title, target in (
        ("map", "parse + map", ">= 0.77x"),
        ("end_to_end", "ingest end to end", ">= 0.39x"),
    ):
        r = results[key]
        out.append(
            [
                "sqlite" if key == "end_to_end" else "-",
                f"{title}, camt.054 {size_mb:.0f} MB ({r['records']:,} entries)",
                f"{r['records'] / r['seconds']:,.0f} records/s, RSS {r['peak_rss_mb']:.0f} MB",
                f"raw lxml pass {base['records'] / base['seconds']:,.0f} records/s",
                f"{_x(base['seconds'], r['seconds'])} wall, "
                f"{_x(base['cpu_seconds'], r['cpu_seconds'])} CPU",
                target,
            ]
        )
    return out


def memory_rows(peak_rss_mb: float, record_mb: float) -> list[Row]:
    return [
        [
            "sqlite",
            f"ingest of one {record_mb:.0f} MiB record",
            f"peak RSS {peak_rss_mb:.0f} MB",
            "-",
            "-",
            "< 200 MB",
        ]
    ]


THROUGHPUT_TARGETS = {
    "decisions end": ">= 10,000 events/s and >= 0.5x",
    "decisions,": "~2x, 0 double",
    "customer import": ">= 5,000 rows/s",
    "customer re-import": ">= 5,000 rows/s",
    "delivery,": ">= 1,000 steps/s (2 workers), >= 0.5x",
    "event -> hand-off": "p99 < 1 s at 200/s",
    "duplicate sends": "0",
}


def with_targets(rows: Iterable[list[str]]) -> list[Row]:
    """Rows of benchmarks.throughput / benchmarks.delivery, with their target added."""
    out = []
    for row in rows:
        target = next((t for k, t in THROUGHPUT_TARGETS.items() if row[1].startswith(k)), "-")
        out.append([*row, target])
    return out


def nightly_rows(result: dict[str, Any], target_s: float, target_rss: float) -> list[Row]:
    sizes = result["sizes"]
    db = result["database"]
    first, last = sizes[0], sizes[-1]
    rss = max(max(s["ingest"]["peak_rss_mb"], s["decide"]["peak_rss_mb"]) for s in sizes)
    return [
        [
            db,
            f"nightly file, s per 1,000 records at {last['records']:,}",
            f"{last['per_1000']['total']:.2f} s (ingest {last['per_1000']['ingest']:.2f}, "
            f"decide {last['per_1000']['decide']:.2f})",
            f"at {first['records']:,}: {first['per_1000']['total']:.2f} s",
            _x(last["per_1000"]["total"], first["per_1000"]["total"]),
            "~1.00x",
        ],
        [
            db,
            "nightly file, 1,000,000 records (at the largest size's rate)",
            f"{last['per_1000']['total'] * 1000:,.0f} s, peak RSS {rss:.0f} MB",
            "-",
            "-",
            f"< {target_s:.0f} s, < {target_rss:.0f} MB",
        ],
    ]


def sweep_rows(results: list[dict[str, Any]]) -> list[Row]:
    first, last = results[0], results[-1]
    return [
        [
            "sqlite",
            f"one outbox sweep, {last['backlog']:,} paced alerts waiting",
            f"{last['bounded_s'] * 1000:.1f} ms",
            f"{first['backlog']:,} waiting: {first['bounded_s'] * 1000:.1f} ms",
            f"{_x(last['bounded_s'], first['bounded_s'])} the time",
            "~1x (flat)",
        ]
    ]


def pacing_rows(result: dict[str, Any]) -> list[Row]:
    return [
        [
            result["database"],
            f"SMS drain at a {result['limit_per_s']:g}/s sender limit, "
            f"{result['workers']} workers ({result['duplicates']} duplicates, "
            f"{result['lost']} lost)",
            f"{result['drain_per_s']:.2f} SMS/s, most in 1 s {result['max_in_1s']}",
            f"the limit {result['limit_per_s']:g}/s",
            f"{result['ratio']:.2f}x",
            "1.00x, never above",
        ]
    ]


def webhook_rows(
    kind: str, results: dict[str, Any], rate: float, phases: Iterable[str]
) -> list[Row]:
    base = results["baseline"]
    out = []
    for name in phases:
        if name not in results:
            continue
        f = results[name]
        out.append(
            [
                kind,
                f"webhook {name}, {rate:.0f} requests/s offered",
                f"p99 {f['p99_ms']:.1f} ms at {f['achieved_per_s']:.0f}/s "
                f"({f['cpu_ms_per_request']:.1f} ms CPU)",
                f"minimal FastAPI p99 {base['p99_ms']:.1f} ms",
                f"p99 {_x(f['p99_ms'], base['p99_ms'])} the minimal's",
                "p99 < 50 ms at 300/s",
            ]
        )
    return out


def reports_rows(
    database: str, alerts: int, seconds: dict[str, float], raw: dict[str, float]
) -> list[Row]:
    slowest = max(seconds, key=lambda k: seconds[k])
    base = raw.get(slowest)
    return [
        [
            database,
            f"slowest report ({slowest}) over {alerts:,} alerts",
            f"{seconds[slowest]:.3f} s",
            f"raw tables {base:.3f} s" if base is not None else "-",
            _x(base, seconds[slowest]) if base is not None else "-",
            "-",
        ]
    ]


def table(rows: list[list[str]], head: Iterable[str] = COLUMNS) -> str:
    """`rows` under `head` as a Markdown table, each column as wide as its widest cell."""
    head = list(head)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [head, *rows]]
    lines.insert(1, "-|-".join("-" * w for w in widths))
    return "\n".join(f"| {line} |" for line in lines)


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}, "
        f"load average at the end {load}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    if not args.file.exists():
        print(
            f"no summary at {args.file}: run the benchmarks with {ENV}={args.file}", file=sys.stderr
        )
        return 2
    rows = [json.loads(line) for line in args.file.read_text(encoding="utf-8").splitlines() if line]
    print(f"\nSummary ({machine()}):\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
