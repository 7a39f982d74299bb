"""Rules throughput: events decided per second, Herald's evaluation vs the pure engine alone.

Generates customers (account, phone, email, consent) and booked debits/credits in a fresh SQLite
database, then measures in one run:

  baseline   rules.engine.decide for every (event, triggered alert type), all in memory
  herald     alerts.decisions.evaluate.evaluate_pending: the same decisions with their database work
             (preferences, recent alerts, decisions and alerts stored, steps enqueued)

.venv/bin/python -m benchmarks.evaluate [--customers 2000] [--events 20000] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from alerts.alert_types.store import load_specs
from alerts.customers.preferences import load_preferences
from alerts.decisions.evaluate import customer_view, evaluate_pending, event_view
from alerts.deps import AlertDeps
from alerts.links import LinkSigner
from alerts.models import Account, ContactPoint, Customer, Event
from callcentre.state import StoredCentre
from herald.db import make_engine, make_sessionmaker
from herald.migrate import upgrade
from rules.centre import CentreView
from rules.engine import decide

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday morning: the centre is open


class CountingQueue:
    def __init__(self) -> None:
        self.enqueued = 0

    async def enqueue_step(self, **_: object) -> bool:
        self.enqueued += 1
        return True


async def populate(deps: AlertDeps, customers: int, events: int, seed: int) -> None:
    rng = random.Random(seed)
    async with deps.sessions() as session:
        for i in range(customers):
            session.add(
                Customer(
                    id=i + 1,
                    external_ref=f"B-{i:06d}",
                    name=f"Customer {i}",
                    timezone=rng.choice(["Europe/Amsterdam", "Europe/London", "UTC"]),
                    channel_order=["voice", "sms", "email"],
                    segment=rng.choice(["retail", "retail", "private", "business"]),
                )
            )
        await session.flush()
        for i in range(customers):
            session.add(Account(customer_id=i + 1, account_id=f"NL00BENCH{i:010d}"))
            for kind, address in (("phone", f"+3161{i:07d}"), ("email", f"c{i}@example.com")):
                session.add(
                    ContactPoint(
                        customer_id=i + 1,
                        kind=kind,
                        address=address,
                        consent_source="import",
                        consent_at=datetime(2020, 1, 1, tzinfo=UTC),
                    )
                )
        for n in range(events):
            debit = rng.random() < 0.7
            session.add(
                Event(
                    source="bench",
                    source_event_id=f"E{n:08d}",
                    event_type="debit_posted" if debit else "credit_posted",
                    account_id=f"NL00BENCH{rng.randrange(customers):010d}",
                    amount=Decimal(f"{rng.uniform(1, 3000):.2f}"),
                    currency="EUR",
                    credit_debit="DBIT" if debit else "CRDT",
                    status="BOOK",
                    description=f"Shop {rng.randrange(500)}",
                )
            )
        await session.commit()


async def baseline(deps: AlertDeps) -> dict[str, Any]:
    """The pure engine over the same inputs, loaded into memory first (loading not timed)."""
    async with deps.sessions() as session:
        specs = await load_specs(session)
        from sqlmodel import select

        owners = {a.account_id: a.customer_id for a in (await session.exec(select(Account)))}
        customers = {c.id: c for c in (await session.exec(select(Customer))).all()}
        prefs = {cid: await load_preferences(session, c) for cid, c in customers.items()}
        events = (await session.exec(select(Event))).all()
    views = {cid: customer_view(c) for cid, c in customers.items()}
    centre = CentreView(open=True, agents_available=10, queue_length=0)
    started = time.perf_counter()
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
    return {"decisions": decisions, "plans": plans, "seconds": time.perf_counter() - started}


async def run(customers: int, events: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="herald-bench-") as tmp:
        engine = make_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
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
        await populate(deps, customers, events, seed)
        base = await baseline(deps)
        started = time.perf_counter()
        created = await evaluate_pending(deps=deps, now=NOW)
        seconds = time.perf_counter() - started
        await engine.dispose()
    return {
        "customers": customers,
        "events": events,
        "baseline": {**base, "decisions_per_s": base["decisions"] / base["seconds"]},
        "herald": {
            "alerts": len(created),
            "enqueued": queue.enqueued,
            "seconds": seconds,
            "events_per_s": events / seconds,
            "decisions_per_s": base["decisions"] / seconds,
        },
        "ratio_to_baseline": base["seconds"] / seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.customers, args.events, args.seed))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    base, herald = result["baseline"], result["herald"]
    print(f"rules: {result['events']} events for {result['customers']} customers (SQLite)")
    print(
        f"  pure engine (baseline)  {base['decisions']} decisions in {base['seconds']:.2f} s"
        f" = {base['decisions_per_s']:,.0f}/s ({base['plans']} plans)"
    )
    print(
        f"  herald evaluate_pending {herald['seconds']:.2f} s = {herald['events_per_s']:,.0f}"
        f" events/s, {herald['decisions_per_s']:,.0f} decisions/s, {herald['alerts']} alerts,"
        f" {herald['enqueued']} steps enqueued"
    )
    print(f"  ratio to the baseline   {result['ratio_to_baseline']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
