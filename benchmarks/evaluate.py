"""Decisions throughput: events decided per second, Herald's evaluation vs the pure engine alone.

Generates customers (account, phone, email, consent) and booked debits/credits in a fresh
database (SQLite, or a fresh PostgreSQL database beside the one ``--database`` names), then
measures in one run:

  baseline   rules.engine.decide for every (event, triggered alert type), all in memory
  herald     alerts.decisions.evaluate.evaluate_pending end to end: the same decisions with
             their database work (customers, preferences, recent alerts read; decisions and
             alerts committed) and every first step enqueued on a real private Redis through
             herald.runtime.ArqStepQueue (``--no-redis``: a queue that only counts)
  processes  with ``--processes N``: N fresh OS processes deciding the same pending events at
             once (PostgreSQL only); the events decided twice are counted (must be 0)

.venv/bin/python -m benchmarks.evaluate [--customers 2000] [--events 20000]
    [--database postgresql://...] [--processes 2] [--no-redis] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from arq import create_pool
from arq.connections import RedisSettings
from sqlmodel import col, select

from alerts.alert_types.store import load_specs
from alerts.customers.preferences import build_preferences
from alerts.decisions.evaluate import customer_view, evaluate_pending, event_view
from alerts.deps import AlertDeps, StepQueue
from alerts.links import LinkSigner
from alerts.models import Account, ContactPoint, Customer, Decision, Event, Preference
from callcentre.state import StoredCentre
from herald.config import Settings
from herald.db import make_engine, make_sessionmaker
from herald.embedded import PrivateRedis
from herald.migrate import upgrade
from herald.runtime import QUEUES, ArqStepQueue
from rules.centre import CentreView
from rules.engine import decide

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday morning: the centre is open
CHUNK = 5_000


class CountingQueue:
    def __init__(self) -> None:
        self.enqueued = 0

    async def enqueue_step(self, **_: object) -> bool:
        self.enqueued += 1
        return True


def _deps(engine: Any, queue: StepQueue) -> AlertDeps:
    return AlertDeps(
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


async def _bulk(engine: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    async with engine.begin() as conn:
        for start in range(0, len(rows), CHUNK):
            await conn.execute(sa.insert(table), rows[start : start + CHUNK])


async def add_accounts_and_contacts(
    engine: Any, customers: int, *, account: str, phone: str, email: str, consent: datetime
) -> None:
    """For customers 1..n: account ``{account}{i:010d}``, phone ``{phone}{i:07d}`` and email
    ``{email}{i}@example.com``, both consented at ``consent`` (bulk inserts)."""
    await _bulk(
        engine,
        Account.__table__,  # type: ignore[attr-defined]
        [{"customer_id": i + 1, "account_id": f"{account}{i:010d}"} for i in range(customers)],
    )
    await _bulk(
        engine,
        ContactPoint.__table__,  # type: ignore[attr-defined]
        [
            {
                "customer_id": i + 1,
                "kind": kind,
                "address": address,
                "consent_source": "import",
                "consent_at": consent,
                "created_at": consent,
            }
            for i in range(customers)
            for kind, address in (
                ("phone", f"{phone}{i:07d}"),
                ("email", f"{email}{i}@example.com"),
            )
        ],
    )


async def populate(engine: Any, customers: int, events: int, seed: int) -> None:
    """The customers, their accounts and contact points, and the events (bulk inserts)."""
    rng = random.Random(seed)
    consent = datetime(2020, 1, 1, tzinfo=UTC)
    await _bulk(
        engine,
        Customer.__table__,  # type: ignore[attr-defined]
        [
            {
                "id": i + 1,
                "external_ref": f"B-{i:06d}",
                "name": f"Customer {i}",
                "locale": "en",
                "timezone": rng.choice(["Europe/Amsterdam", "Europe/London", "UTC"]),
                "channel_order": ["voice", "sms", "email"],
                "segment": rng.choice(["retail", "retail", "private", "business"]),
                "attributes": {},
                "created_at": consent,
            }
            for i in range(customers)
        ],
    )
    await add_accounts_and_contacts(
        engine, customers, account="NL00BENCH", phone="+3161", email="c", consent=consent
    )
    rows: list[dict[str, Any]] = []
    for n in range(events):
        debit = rng.random() < 0.7
        rows.append(
            {
                "source": "bench",
                "source_event_id": f"E{n:08d}",
                "event_type": "debit_posted" if debit else "credit_posted",
                "account_id": f"NL00BENCH{rng.randrange(customers):010d}",
                "amount": Decimal(f"{rng.uniform(1, 3000):.2f}"),
                "currency": "EUR",
                "credit_debit": "DBIT" if debit else "CRDT",
                "status": "BOOK",
                "description": f"Shop {rng.randrange(500)}",
                "data": {},
                "evaluated": False,
                "created_at": NOW,
            }
        )
    await _bulk(engine, Event.__table__, rows)  # type: ignore[attr-defined]


async def baseline(deps: AlertDeps) -> dict[str, Any]:
    """The pure engine over the same inputs, loaded into memory first (loading not timed)."""
    async with deps.sessions() as session:
        specs = await load_specs(session)
        owners = {a.account_id: a.customer_id for a in (await session.exec(select(Account)))}
        customers = {c.id: c for c in (await session.exec(select(Customer))).all()}
        contacts: dict[int, list[ContactPoint]] = defaultdict(list)
        for contact in (await session.exec(select(ContactPoint))).all():
            contacts[contact.customer_id].append(contact)
        stored: dict[int, list[Preference]] = defaultdict(list)
        for row in (await session.exec(select(Preference))).all():
            stored[row.customer_id].append(row)
        prefs = {
            cid: build_preferences(c, contacts[cid or 0], stored[cid or 0])
            for cid, c in customers.items()
        }
        events = (await session.exec(select(Event))).all()
    views = {cid: customer_view(c) for cid, c in customers.items()}
    centre = CentreView(open=True, agents_available=10, queue_length=0)
    started = time.perf_counter()
    cpu = time.process_time()
    decisions = plans = 0
    for event in events:
        cid = owners[event.account_id]
        facts = event_view(event)
        for spec in specs:
            if event.event_type not in spec.trigger.event_types:
                continue
            result = decide(
                event=facts,
                customer=views[cid],
                preferences=prefs[cid],
                alert_type=spec,
                centre=centre,
                recent_alerts=(),
                now=NOW,
            )
            decisions += 1
            plans += result.kind == "plan"
    seconds = time.perf_counter() - started
    return {
        "cpu_seconds": time.process_time() - cpu,
        "decisions": decisions,
        "plans": plans,
        "seconds": seconds,
        "events_per_s": len(events) / seconds,
        "decisions_per_s": decisions / seconds,
    }


@contextmanager
def private_redis(enabled: bool) -> Iterator[str | None]:
    """A private redis-server on a unix socket for the run (None when disabled)."""
    if not enabled:
        yield None
        return
    base = Path("/tmp") / f"herald-bench-{uuid.uuid4().hex[:8]}"
    server = PrivateRedis.ensure(Settings(_env_file=None, data_dir=base, redis_url=None))
    assert server is not None
    try:
        yield f"unix://{server.socket_path}"
    finally:
        server.stop()


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A fresh SQLite file, or a fresh PostgreSQL database beside ``url`` (dropped after)."""
    if not url.startswith("postgres"):
        with tempfile.TemporaryDirectory(prefix="herald-bench-") as tmp:
            yield f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        return
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    name = f"herald_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{plain.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _ticks(pid: int) -> float:
    """CPU seconds (user + system) of a local process so far; 0 when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _server_cpu(engine: Any, since: datetime) -> float:
    """CPU seconds of the PostgreSQL backends this engine opened (those started ``since``; the
    pool keeps them open), local server only. The backend of the populating engine, open since
    before, is not one of them (it used to be counted instead of the deciding ones)."""
    if engine.dialect.name != "postgresql":
        return 0.0
    async with engine.connect() as conn:
        pids = (
            await conn.execute(
                sa.text(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = current_database() AND backend_start >= :since"
                ),
                {"since": since},
            )
        ).all()
    return sum(_ticks(int(pid)) for (pid,) in pids)


CPU: dict[str, float] = {}  # of the last _decide_all: client and server CPU seconds


async def _decide_all(db_url: str, redis_url: str | None) -> tuple[int, float, int]:
    """evaluate_pending in this process: (alerts created, seconds, steps enqueued)."""
    since = datetime.now(UTC)
    engine = make_engine(db_url)
    pool = await create_pool(RedisSettings.from_dsn(redis_url)) if redis_url else None
    queue: StepQueue = ArqStepQueue(pool) if pool is not None else CountingQueue()
    started = time.perf_counter()
    cpu = time.process_time()
    created = await evaluate_pending(deps=_deps(engine, queue), now=NOW)
    seconds = time.perf_counter() - started
    CPU["client"] = time.process_time() - cpu
    CPU["server"] = await _server_cpu(engine, since)
    enqueued = 0
    if pool is not None:
        for name in QUEUES.values():
            enqueued += await pool.zcard(name)
        await pool.aclose()
    else:
        assert isinstance(queue, CountingQueue)
        enqueued = queue.enqueued
    await engine.dispose()
    return len(created), seconds, enqueued


async def _flush(redis_url: str) -> None:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    await pool.flushall()
    await pool.aclose()


def _process_main(db_url: str, redis_url: str | None, out: Any) -> None:
    out.put(asyncio.run(_decide_all(db_url, redis_url))[:2])


async def _doubles(engine: Any) -> int:
    """Events with more decisions than the alert types they trigger (a double decision)."""
    async with engine.connect() as conn:
        per_event = (
            await conn.execute(
                sa.select(col(Decision.event_id), col(Decision.alert_type), sa.func.count())
                .group_by(col(Decision.event_id), col(Decision.alert_type))
                .having(sa.func.count() > 1)
            )
        ).all()
    return len(per_event)


def _in_processes(db_url: str, redis_url: str | None, n: int) -> tuple[int, float, float]:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_process_main, args=(db_url, redis_url, out)) for _ in range(n)]
    started = time.perf_counter()
    for proc in procs:
        proc.start()
    results = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    return sum(r[0] for r in results), time.perf_counter() - started, max(r[1] for r in results)


async def run(
    customers: int, events: int, seed: int, *, database: str, redis: bool, processes: int
) -> dict[str, Any]:
    result: dict[str, Any] = {"customers": customers, "events": events}
    with fresh_database(database) as db_url, private_redis(redis) as redis_url:
        engine = make_engine(db_url)
        result["database"] = engine.dialect.name
        result["queue"] = "redis (arq)" if redis_url else "counting (no Redis)"
        await upgrade(engine)
        await populate(engine, customers, events, seed)
        base = await baseline(_deps(engine, CountingQueue()))
        alerts, seconds, enqueued = await _decide_all(db_url, redis_url)
        result["baseline"] = base
        result["herald"] = {
            "alerts": alerts,
            "enqueued": enqueued,
            "seconds": seconds,
            "events_per_s": events / seconds,
            "decisions_per_s": base["decisions"] / seconds,
            "client_cpu_seconds": CPU["client"],
            "server_cpu_seconds": CPU["server"],
        }
        result["ratio_to_baseline"] = base["seconds"] / seconds
        if processes > 1 and result["database"] == "postgresql":
            async with engine.begin() as conn:  # the same events, pending again
                await conn.execute(sa.text("DELETE FROM alerts"))
                await conn.execute(sa.text("DELETE FROM decisions"))
                await conn.execute(sa.update(Event).values(evaluated=False))
            if redis_url:
                await _flush(redis_url)
            many, many_s, busy_s = _in_processes(db_url, redis_url, processes)
            result["processes"] = {
                "n": processes,
                "alerts": many,
                "seconds": many_s,
                "events_per_s": events / many_s,
                "busy_seconds": busy_s,  # the longest evaluate_pending of the N (no start-up)
                "busy_events_per_s": events / busy_s,
                "double_decisions": await _doubles(engine),
            }
        await engine.dispose()
    return result


def report(result: dict[str, Any]) -> None:
    base, herald = result["baseline"], result["herald"]
    print(
        f"decisions: {result['events']:,} events for {result['customers']:,} customers"
        f" ({result['database']}, queue: {result['queue']})"
    )
    print(
        f"  pure engine (baseline)  {base['decisions']:,} decisions in {base['seconds']:.2f} s"
        f" = {base['events_per_s']:,.0f} events/s, {base['decisions_per_s']:,.0f} decisions/s"
    )
    print(
        f"  herald evaluate_pending {herald['seconds']:.2f} s = {herald['events_per_s']:,.0f}"
        f" events/s, {herald['decisions_per_s']:,.0f} decisions/s, {herald['alerts']:,} alerts,"
        f" {herald['enqueued']:,} steps enqueued"
    )
    print(f"  ratio to the baseline   {result['ratio_to_baseline']:.2f}x")
    per = 1e6 / result["events"]
    client, server = herald["client_cpu_seconds"], herald["server_cpu_seconds"]
    print(
        f"  CPU per event           engine {base['cpu_seconds'] * per:.0f} us; herald"
        f" {client * per:.0f} us here + {server * per:.0f} us in PostgreSQL"
        f" (engine / herald CPU {base['cpu_seconds'] / (client + server):.2f}x)"
    )
    if "processes" in result:
        many = result["processes"]
        print(
            f"  {many['n']} processes at once  {many['seconds']:.2f} s ="
            f" {many['events_per_s']:,.0f} events/s"
            f" with start-up; {many['busy_events_per_s']:,.0f} events/s deciding"
            f" ({many['busy_events_per_s'] / herald['events_per_s']:.2f}x one process),"
            f" {many['alerts']:,} alerts, {many['double_decisions']} double decisions"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--database", default="", help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--no-redis", action="store_true", help="count enqueues, no Redis")
    parser.add_argument("--processes", type=int, default=1, help="also N processes (PostgreSQL)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = asyncio.run(
        run(
            args.customers,
            args.events,
            args.seed,
            database=args.database,
            redis=not args.no_redis,
            processes=args.processes,
        )
    )
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
    else:
        report(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
