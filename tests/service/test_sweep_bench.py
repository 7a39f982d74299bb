"""The sweep benchmark in its short form (`make bench` runs 10k to 200k): with a backlog larger
than one sweep's limit, the bounded sweep looks at exactly the limit and the full walk at all."""

from __future__ import annotations

import pytest

from alerts.delivery.sweep import sweep
from benchmarks import sweep as bench


async def test_the_short_benchmark_bounds_the_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "sweep", _limited(sweep, 300))
    result = await bench.one_size(1000)
    assert result["bounded_looked_at"] == 300  # one sweep: its limit, however long the backlog
    assert result["full_walk_looked_at"] == 1000
    assert result["bounded_s"] >= 0 and result["full_walk_s"] >= 0


def _limited(sweep: bench.SweepFn, limit: int) -> bench.SweepFn:
    async def run(**kwargs: object) -> int:
        if "cursor" in kwargs:
            kwargs["limit"] = limit
        return await sweep(**kwargs)

    return run
