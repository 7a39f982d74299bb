"""`make chaos`: every fault on a larger batch, a 30 s Redis outage, several kills; the table.

.venv/bin/python -m benchmarks.chaos [--alerts 300] [--kills 5] [--redis-outage 30]
    [--settle 300] [--seed 17] [--only "redis outage"] [--keep]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.chaos.faults import FAULTS, Knobs, run_all, table
from benchmarks.chaos.services import InfrastructureMissing
from benchmarks.chaos.stack import ChaosStack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--alerts", type=int, default=300, help="alerts per fault")
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--redis-outage", type=float, default=30.0, help="seconds")
    parser.add_argument("--settle", type=float, default=300.0, help="seconds")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--only", action="append", help="a fault's name (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the logs and data")
    args = parser.parse_args(argv)
    knobs = Knobs(
        alerts=args.alerts,
        kills=args.kills,
        redis_outage_s=args.redis_outage,
        settle_s=args.settle,
        seed=args.seed,
    )
    faults = [f for f in FAULTS if not args.only or f.name in args.only]
    base = Path(tempfile.mkdtemp(prefix="herald-chaos-"))
    stack = ChaosStack(base)
    try:
        rows = run_all(stack, knobs, faults)
    except InfrastructureMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        stack.stop()
        if args.keep:
            print(f"logs and data kept in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    print(table(rows))
    for row in rows:
        for note in row.notes:
            print(f"{row.fault}: {note}")
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
