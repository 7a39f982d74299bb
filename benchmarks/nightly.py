"""The nightly file: a camt.054 of N records ingested, decided and queued, at several sizes.

For each size (default 10,000 and 100,000 records; ``--sizes 10000,100000,1000000`` for the
million, which ``make bench`` runs with ``BENCH_NIGHTLY=10000,100000,1000000``, CI never) a
camt.054 with that many booked entries for ``--customers`` customers (default 100,000) is
generated, then, each in its own OS process so that its peak RSS is its own:

  ingest   alerts.ingestion.files.ingest_file (parse, map, validate, store the events)
  decide   alerts.decisions.evaluate.evaluate_pending with every first step enqueued on a real
           private Redis through herald.runtime.ArqStepQueue

on PostgreSQL (a fresh database beside ``--database``; SQLite when none is given). Between
sizes the events, decisions and alerts are emptied and Redis flushed, so every size starts
from the same state. Printed per size: seconds per 1,000 records for each stage and in total
(constant from 10k to 1M is the target), the total time (target for 1M: under 5 minutes) and
the peak RSS of each process (target: under 300 MB).

.venv/bin/python -m benchmarks.nightly [--sizes 10000,100000] [--customers 100000]
    [--database postgresql://...] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks import summary
from benchmarks.evaluate import _decide_all, fresh_database, populate, private_redis

NS = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"
PER_NOTIFICATION = 25
MERCHANTS = ["Electro World Online", "City Rentals BV", "Prime Motors Ltd", "Grand Hotel"]
TARGET_SECONDS_1M = 300
TARGET_RSS_MB = 300


def account(i: int) -> str:
    """The account of customer ``i`` as benchmarks.evaluate.populate creates it."""
    return f"NL00BENCH{i:010d}"


def generate(path: Path, records: int, customers: int, tag: str, seed: int = 5) -> None:
    """A camt.054.001.08 file of ``records`` booked entries on the customers' accounts."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        out.write(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{NS}">\n'
            f"<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>NIGHTLY-{tag}</MsgId>"
            "<CreDtTm>2026-11-23T02:00:00+01:00</CreDtTm></GrpHdr>\n"
        )
        done = 0
        while done < records:
            acct = account(rng.randrange(customers))
            parts = [
                f"<Ntfctn><Id>NTF-{tag}-{done}</Id><CreDtTm>2026-11-23T02:00:00+01:00</CreDtTm>"
                f"<Acct><Id><IBAN>{acct}</IBAN></Id><Ccy>EUR</Ccy></Acct>\n"
            ]
            for _ in range(min(PER_NOTIFICATION, records - done)):
                done += 1
                cd = "DBIT" if rng.random() < 0.7 else "CRDT"
                party = "Cdtr" if cd == "DBIT" else "Dbtr"
                amount = f"{rng.uniform(1, 3000):.2f}"
                ref = f"N{tag}-{done:08d}"
                parts.append(
                    f'<Ntry><NtryRef>{ref}</NtryRef><Amt Ccy="EUR">{amount}</Amt>'
                    f"<CdtDbtInd>{cd}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
                    "<BookgDt><Dt>2026-11-23</Dt></BookgDt><ValDt><Dt>2026-11-23</Dt></ValDt>"
                    f"<AcctSvcrRef>{ref}-SVC</AcctSvcrRef><NtryDtls><TxDtls>"
                    f"<Refs><EndToEndId>{ref}-E2E</EndToEndId></Refs>"
                    f"<RltdPties><{party}><Pty><Nm>{rng.choice(MERCHANTS)}</Nm></Pty></{party}>"
                    f"</RltdPties><RmtInf><Ustrd>Card payment {ref}</Ustrd></RmtInf>"
                    "</TxDtls></NtryDtls></Ntry>\n"
                )
            parts.append("</Ntfctn>\n")
            out.write("".join(parts))
        out.write("</BkToCstmrDbtCdtNtfctn>\n</Document>\n")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_ingest(db_url: str, path: Path) -> dict[str, Any]:
    from alerts.ingestion.files import ingest_file
    from herald.db import make_engine, make_sessionmaker

    async def main() -> dict[str, Any]:
        engine = make_engine(db_url)
        started = time.perf_counter()
        async with make_sessionmaker(engine)() as session:
            report = await ingest_file(session=session, path=path)
        seconds = time.perf_counter() - started
        await engine.dispose()
        return {"records": report.records, "events": report.events_created, "seconds": seconds}

    return asyncio.run(main())


def phase_decide(db_url: str, redis_url: str) -> dict[str, Any]:
    alerts, seconds, enqueued = asyncio.run(_decide_all(db_url, redis_url))
    return {"alerts": alerts, "enqueued": enqueued, "seconds": seconds}


def _run(phase: str, *args: str) -> dict[str, Any]:
    """One phase in its own process; its result with its process's peak RSS."""
    cmd = [sys.executable, "-m", "benchmarks.nightly", "--phase", phase, *args]
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=root)
    if done.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


async def _prepare(db_url: str, customers: int) -> None:
    from herald.db import make_engine
    from herald.migrate import upgrade

    engine = make_engine(db_url)
    await upgrade(engine)
    await populate(engine, customers, 0, seed=11)
    await engine.dispose()


async def _reset(db_url: str, redis_url: str) -> None:
    """Empty what a night writes (alerts, decisions, events, files) and the queues."""
    from arq import create_pool
    from arq.connections import RedisSettings

    from herald.db import make_engine

    engine = make_engine(db_url)
    async with engine.begin() as conn:
        for table in ("alerts", "decisions", "events", "quarantined_records", "ingest_files"):
            await conn.execute(sa.text(f"DELETE FROM {table}"))
    await engine.dispose()
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    await pool.flushall()
    await pool.aclose()


def run(sizes: list[int], customers: int, database: str) -> dict[str, Any]:
    out: dict[str, Any] = {"customers": customers, "sizes": []}
    with (
        fresh_database(database) as db_url,
        private_redis(True) as redis_url,
        tempfile.TemporaryDirectory(prefix="herald-nightly-") as tmp,
    ):
        assert redis_url is not None
        out["database"] = "postgresql" if db_url.startswith("postgres") else "sqlite"
        started = time.perf_counter()
        asyncio.run(_prepare(db_url, customers))
        out["populate_seconds"] = time.perf_counter() - started
        for size in sizes:
            asyncio.run(_reset(db_url, redis_url))
            path = Path(tmp) / f"nightly-{size}.xml"
            started = time.perf_counter()
            generate(path, size, customers, tag=str(size))
            generated = time.perf_counter() - started
            ingest = _run("ingest", "--db-url", db_url, "--file", str(path))
            decide = _run("decide", "--db-url", db_url, "--redis-url", redis_url)
            path.unlink()
            total = ingest["seconds"] + decide["seconds"]
            out["sizes"].append(
                {
                    "records": size,
                    "generate_seconds": generated,
                    "ingest": ingest,
                    "decide": decide,
                    "seconds": total,
                    "per_1000": {
                        "ingest": 1000 * ingest["seconds"] / size,
                        "decide": 1000 * decide["seconds"] / size,
                        "total": 1000 * total / size,
                    },
                }
            )
    return out


def report(result: dict[str, Any]) -> None:
    print(
        f"nightly file: camt.054 ingested, decided and queued ({result['database']}, "
        f"{result['customers']:,} customers, real Redis; populate "
        f"{result['populate_seconds']:.0f} s)"
    )
    print(
        f"  {'records':>10} {'s/1000 ingest':>14} {'s/1000 decide':>14} {'s/1000 total':>13}"
        f" {'total s':>8} {'alerts':>8} {'queued':>8} {'RSS MB ingest':>14} {'RSS MB decide':>14}"
    )
    for s in result["sizes"]:
        per, ing, dec = s["per_1000"], s["ingest"], s["decide"]
        print(
            f"  {s['records']:>10,} {per['ingest']:>14.3f} {per['decide']:>14.3f}"
            f" {per['total']:>13.3f} {s['seconds']:>8.1f} {dec['alerts']:>8,} {dec['enqueued']:>8,}"
            f" {ing['peak_rss_mb']:>14.0f} {dec['peak_rss_mb']:>14.0f}"
        )
    sizes = result["sizes"]
    if len(sizes) > 1:
        drift = sizes[-1]["per_1000"]["total"] / sizes[0]["per_1000"]["total"]
        print(f"  cost per record, largest / smallest size: {drift:.2f}x (target: ~1.00x)")
    projected = sizes[-1]["per_1000"]["total"] * 1000
    print(
        f"  1,000,000 records at the largest size's rate: {projected:.0f} s "
        f"(target: < {TARGET_SECONDS_1M} s); peak RSS target < {TARGET_RSS_MB} MB per process"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000,100000", help="records per file, comma-separated")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database", default="", help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--phase", choices=["ingest", "decide"], help=argparse.SUPPRESS)
    parser.add_argument("--db-url", help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase == "ingest":
        result = phase_ingest(args.db_url, args.file)
    elif args.phase == "decide":
        result = phase_decide(args.db_url, args.redis_url)
    else:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
        full = run(sizes, args.customers, args.database)
        summary.record("nightly", summary.nightly_rows(full, TARGET_SECONDS_1M, TARGET_RSS_MB))
        if args.json:
            json.dump(full, sys.stdout, indent=2)
            print()
        else:
            report(full)
        return 0
    result["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
