"""Two evaluators deciding the same pending events at the same moment (each with its own engine
and connections, as two `herald` processes would) decide each event once: batches are claimed
with the rows locked (SKIP LOCKED on PostgreSQL), so no decision, alert or job is made twice."""

from __future__ import annotations

import asyncio
import dataclasses

from sqlmodel import col, func, select

from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from alerts.models import Alert, Decision, Event
from herald.db import make_engine, make_sessionmaker
from herald.runtime import QUEUES, Runtime
from tests.factories import make_customer, make_event

EVENTS = 24


async def test_two_evaluators_at_once_decide_each_event_once(runtime: Runtime) -> None:
    deps = runtime.deps
    for n in range(EVENTS):
        account = f"NL00BANK{n:010d}"
        await make_customer(deps, ref=f"C-{n}", account=account, phone=f"+3161{n:07d}")
        await make_event(deps, account=account, event_id=f"E-{n}", amount="900.00")
    engines = [make_engine(runtime.settings.resolved_database_url) for _ in range(2)]
    try:
        both = [dataclasses.replace(deps, sessions=make_sessionmaker(e)) for e in engines]
        now = utcnow()
        first, second = await asyncio.gather(
            *(evaluate_pending(deps=d, now=now, batch=3) for d in both)
        )
    finally:
        for engine in engines:
            await engine.dispose()

    assert not set(first) & set(second)  # no alert is reported by both
    async with deps.sessions() as session:
        pending = await session.exec(select(func.count()).where(col(Event.evaluated).is_(False)))
        assert pending.one() == 0
        per_event = (
            await session.exec(
                select(Decision.event_id, Decision.alert_type, func.count()).group_by(
                    col(Decision.event_id), col(Decision.alert_type)
                )
            )
        ).all()
        alerts = (await session.exec(select(Alert.id, Alert.event_id))).all()
    assert {count for _, _, count in per_event} == {1}
    assert {event_id for event_id, _, _ in per_event} == set(range(1, EVENTS + 1))
    assert len({event_id for _, event_id in alerts}) == len(alerts) >= EVENTS  # one per event
    assert sorted(first + second) == sorted(alert_id or 0 for alert_id, _ in alerts)
    queued = sum([await runtime.pool.zcard(name) for name in QUEUES.values()])
    assert queued == len(alerts)  # one first step each
