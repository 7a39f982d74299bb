"""The outbox sweep against a backlog: one sweep's time with 10k, 50k and 200k paced voice
alerts waiting (due, their attempt queued behind the pacer), bounded (Herald's sweep: at most
5,000 alerts a sweep, a cursor for the next) against a full walk of the same backlog in the
same run. The bounded sweep should stay flat; the full walk grows with the backlog.

Beside the backlog lie as many finished alerts (delivered, their attempts too: the history)
and 200 alerts being delivered (their text with the provider): the sweep's convergence pass
(alerts.delivery.reconcile) reads only those in flight, so its time stays flat too. A sweep is
timed warm (after one sweep that is not counted), best of three.

.venv/bin/python -m benchmarks.sweep [--sizes 10000,50000,200000] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from alerts.delivery.reconcile import InFlightCursor, converge
from alerts.delivery.sweep import LIMIT, SweepCursor, sweep
from alerts.deps import AlertDeps
from alerts.links import LinkSigner
from alerts.models import Alert, Customer, DeliveryAttempt
from alerts.plans import PlannedStep
from benchmarks import summary
from callcentre.state import StoredCentre
from herald.db import make_engine, make_sessionmaker
from herald.migrate import upgrade

SweepFn = Callable[..., Awaitable[int]]
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
BATCH = 5_000
IN_FLIGHT = 200


class CountingQueue:
    def __init__(self) -> None:
        self.enqueued = 0

    async def enqueue_step(self, **_: object) -> bool:
        self.enqueued += 1  # each stranded-looking alert looked at is offered to the queue
        return False  # the job is already queued (paced): nothing new


async def populate(deps: AlertDeps, engine: Any, n: int) -> None:
    step = PlannedStep(
        channel="voice",
        contact_point_id="1",
        address="+15550001111",
        not_before=NOW - timedelta(hours=2),
        deadline=NOW + timedelta(hours=6),
    )
    async with deps.sessions() as session:
        session.add(Customer(id=1, external_ref="B-1", name="Backlog", timezone="UTC"))
        await session.commit()
    due = NOW - timedelta(hours=1)
    for start in range(0, n, BATCH):
        ids = range(start + 1, min(start + BATCH, n) + 1)
        alerts = [
            {
                "id": i,
                "dedupe_key": f"backlog:{i}",
                "alert_type": "large_debit",
                "customer_id": 1,
                "status": "pending",
                "plan": [step],
                "options": [],
                "windows": {},
                "context": {},
                "current_step": 0,
                "next_step_at": due,
                "created_at": due,
                "updated_at": due,
            }
            for i in ids
        ]
        attempts = [
            {
                "alert_id": i,
                "step_index": 0,
                "channel": "voice",
                "address": "+15550001111",
                "status": "queued",
                "created_at": due,
            }
            for i in ids
        ]
        async with engine.begin() as conn:
            await conn.execute(sa.insert(Alert), alerts)
            await conn.execute(sa.insert(DeliveryAttempt), attempts)
    await _history(engine, step, n)


async def _history(engine: Any, step: PlannedStep, n: int) -> None:
    """``n`` finished alerts (the history) and IN_FLIGHT alerts being delivered."""
    done = NOW - timedelta(days=1)
    first = n + 1
    for start in range(first, first + n + IN_FLIGHT, BATCH):
        ids = range(start, min(start + BATCH, first + n + IN_FLIGHT))
        flying = [i >= first + n for i in ids]
        alerts: list[dict[str, Any]] = [
            {
                "id": i,
                "dedupe_key": f"history:{i}",
                "alert_type": "large_debit",
                "customer_id": 1,
                "status": "delivering" if fly else "delivered",
                "plan": [step],
                "options": [],
                "windows": {},
                "context": {},
                "current_step": 0,
                "next_step_at": None,
                "created_at": done,
                "updated_at": done,
            }
            for i, fly in zip(ids, flying, strict=True)
        ]
        attempts: list[dict[str, Any]] = [
            {
                "alert_id": i,
                "step_index": 0,
                "channel": "voice",
                "address": "+15550001111",
                "status": "sent" if fly else "completed",
                "provider_sid": f"CA{i:032d}",
                "created_at": done,
                "updated_at": NOW if fly else done,  # in flight: its callback is not late yet
            }
            for i, fly in zip(ids, flying, strict=True)
        ]
        async with engine.begin() as conn:
            await conn.execute(sa.insert(Alert), alerts)
            await conn.execute(sa.insert(DeliveryAttempt), attempts)


async def one_size(n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'sweep.db'}")
        await upgrade(engine)
        queue = CountingQueue()
        deps = AlertDeps(
            sessions=make_sessionmaker(engine),
            channels={},
            queue=queue,
            links=LinkSigner("bench-secret"),
            public_url="http://127.0.0.1:8000",
            callcentre_number="+15550009999",
            centre=StoredCentre(),
            brand="Bench Bank",
            transaction_secret="bench-transaction-secret",
        )
        try:
            await populate(deps, engine, n)
            await sweep(deps=deps, now=NOW, cursor=SweepCursor())  # warm-up, not counted
            cursor = SweepCursor()
            times = []
            for _ in range(3):
                queue.enqueued = 0
                started = time.perf_counter()
                await sweep(deps=deps, now=NOW, cursor=cursor)
                times.append(time.perf_counter() - started)
            bounded, looked_bounded = min(times), queue.enqueued
            started = time.perf_counter()
            converged = await converge(deps=deps, now=NOW, cursor=InFlightCursor())
            converge_s = time.perf_counter() - started
            queue.enqueued = 0
            started = time.perf_counter()
            await sweep(deps=deps, now=NOW, limit=sys.maxsize)
            full = time.perf_counter() - started
        finally:
            await engine.dispose()
    return {
        "backlog": n,
        "bounded_s": bounded,
        "bounded_looked_at": looked_bounded,
        "converge_s": converge_s,
        "converge_looked_at": converged.looked_at,
        "full_walk_s": full,
        "full_walk_looked_at": queue.enqueued,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000,50000,200000")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    results = [asyncio.run(one_size(n)) for n in sizes]
    summary.record("sweep", summary.sweep_rows(results))
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    first = results[0]
    print(f"sweep: one sweep over a backlog of paced voice alerts (SQLite; {LIMIT:,} a sweep)")
    print(f"(and as many finished alerts beside them, and {IN_FLIGHT} being delivered)")
    print(
        f"{'backlog':>10} {'bounded ms':>11} {'x smallest':>11} {'converge ms':>12} "
        f"{'x smallest':>11} {'full walk ms':>13} {'x smallest':>11}"
    )
    for r in results:
        print(
            f"{r['backlog']:>10,} {r['bounded_s'] * 1000:>11.1f} "
            f"{r['bounded_s'] / first['bounded_s']:>10.2f}x "
            f"{r['converge_s'] * 1000:>12.1f} {r['converge_s'] / first['converge_s']:>10.2f}x "
            f"{r['full_walk_s'] * 1000:>13.1f} {r['full_walk_s'] / first['full_walk_s']:>10.2f}x"
        )
    print(
        "target: the bounded sweep and its convergence pass flat (about 1x) from the smallest "
        "backlog to the largest."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
