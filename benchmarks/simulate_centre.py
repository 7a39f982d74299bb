"""Simulate a day of agent-offering voice alerts with pacing off and on, and print the comparison.

.venv/bin/python benchmarks/simulate_centre.py          # readable table
.venv/bin/python benchmarks/simulate_centre.py --json   # the data, as `compare` returns it
"""

from __future__ import annotations

import argparse
import json

from callcentre.simulation import Scenario, compare
from callcentre.simulation_table import render_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.add_argument("--seed", type=int, default=Scenario().seed, help="random seed")
    args = parser.parse_args(argv)
    result = compare(Scenario(seed=args.seed))
    print(json.dumps(result, indent=2) if args.json else render_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
