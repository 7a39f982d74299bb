"""An alert raised by another evaluation after this one looked for its key, but before this one
wrote it (PostgreSQL: the batch's alerts are copied, ``alerts.decisions.copy_rows``): the copy
meets the key, the batch falls back to the insert that skips it, and the decision says so."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from alerts.decisions.evaluate import evaluate_pending
from alerts.models import Alert, Decision
from herald.runtime import QUEUES, Runtime
from tests.factories import make_customer, make_event

ACCOUNT = "NL00BANK0000000001"


async def test_a_key_raised_meanwhile_by_another_evaluation_is_a_skip(runtime: Runtime) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: no other evaluation can raise a key meanwhile")
    deps = runtime.deps
    customer = await make_customer(deps, ref="C-1", account=ACCOUNT, phone="+31610000001")
    mine = await make_event(deps, account=ACCOUNT, event_id="E-1", amount="900.00")
    beside = await make_event(deps, account=ACCOUNT, event_id="E-2", amount="800.00")
    other = await make_event(deps, account=ACCOUNT, event_id="E-0", amount="700.00")
    key = "large_debit:camt054:E-1"  # the key the evaluation of E-1 will raise

    async with deps.sessions() as holder:  # another evaluation, not committed yet
        holder.add(
            Alert(
                dedupe_key=key,
                alert_type="large_debit",
                customer_id=customer.id or 0,
                event_id=other.id,
            )
        )
        await holder.flush()
        evaluation: asyncio.Future[list[int]] = asyncio.ensure_future(
            evaluate_pending(deps=deps, now=mine.created_at)
        )
        async with runtime.engine.connect() as probe:
            for _ in range(200):  # until the evaluation's copy waits for the holder's key
                waiting = await probe.execute(
                    sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")
                )
                if evaluation.done() or waiting.scalar_one():
                    break
                await probe.rollback()
                await asyncio.sleep(0.05)
        assert not evaluation.done()
        await holder.commit()
    created = await evaluation

    async with deps.sessions() as session:
        alerts = (await session.exec(select(Alert))).all()
        decision = (
            await session.exec(
                select(Decision).where(
                    col(Decision.event_id) == mine.id, col(Decision.alert_type) == "large_debit"
                )
            )
        ).one()
    assert [a.dedupe_key for a in alerts].count(key) == 1  # the other evaluation's
    assert not [a for a in alerts if a.event_id == mine.id]
    assert decision.outcome == "skip"
    assert "raised at the same moment by another evaluation" in decision.reason
    # E-2, in the same batch as E-1, was written by the fallback; E-0 (its row locked by the
    # other evaluation's alert meanwhile) was left for a later claim of the same run
    assert sorted(a.event_id or 0 for a in alerts if a.id in created) == [beside.id, other.id]
    queued = sum([await runtime.pool.zcard(name) for name in QUEUES.values()])
    assert queued == len(created) == 2
