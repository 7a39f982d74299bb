"""First steps are enqueued in batches on a real Redis (one script call per batch), with the same
arq job ids and job format as one ``enqueue_job`` per step: a step already queued is never queued
twice, however often the batch is sent again, and a real arq worker runs what a batch queued."""

from __future__ import annotations

from arq.constants import job_key_prefix
from arq.jobs import deserialize_job
from sqlmodel import col, select

from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from alerts.deps import StepJob
from alerts.models import Alert
from herald.runtime import QUEUES, ArqStepQueue, Runtime
from tests.factories import make_customer, make_event


async def _queued(runtime: Runtime) -> list[str]:
    ids: list[str] = []
    for name in QUEUES.values():
        ids += [i.decode() for i in await runtime.pool.zrange(name, 0, -1)]
    return sorted(ids)


async def test_a_batch_queues_each_step_once_and_as_enqueue_job_does(runtime: Runtime) -> None:
    queue = runtime.deps.queue
    assert isinstance(queue, ArqStepQueue)
    jobs = [StepJob(1, 0, "sms", 600.0), StepJob(2, 0, "email"), StepJob(3, 0, "voice", 5.5)]

    assert await queue.enqueue_steps(jobs) == 3
    assert await queue.enqueue_steps(jobs) == 0  # sent again: nothing queued twice
    assert not await queue.enqueue_step(alert_id=2, step_index=0, channel="email")
    assert await _queued(runtime) == ["step:1:0", "step:2:0", "step:3:0"]

    # The same step queued one by one (alert 4) is stored exactly like the batch's (alert 1).
    assert await queue.enqueue_step(alert_id=4, step_index=0, channel="sms", defer_seconds=600)
    pool = runtime.pool
    keys = {n: job_key_prefix + f"step:{n}:0" for n in (4, 1)}
    one, batch = [deserialize_job(await pool.get(keys[n])) for n in (4, 1)]
    assert (one.function, one.kwargs, one.job_try) == (batch.function, batch.kwargs, batch.job_try)
    assert (one.args, batch.args) == ((4, 0), (1, 0))
    ttl_one, ttl_batch = [await pool.pttl(keys[n]) for n in (4, 1)]
    assert abs(ttl_one - ttl_batch) < 5_000 and ttl_batch > 600_000
    score_one, score_batch = [await pool.zscore(QUEUES["sms"], f"step:{n}:0") for n in (4, 1)]
    assert score_one is not None and score_batch is not None
    assert abs(score_one - score_batch) < 5_000
    assert abs(score_batch - (batch.enqueue_time.timestamp() * 1000 + 600_000)) < 2


async def test_deciding_then_enqueueing_again_leaves_one_job_per_alert(runtime: Runtime) -> None:
    """A crash after the commit re-sends the batch's first steps (the sweep or a re-run does):
    each alert still has exactly one queued job, under its step's id."""
    deps = runtime.deps
    for n in range(3):
        await make_customer(
            deps, ref=f"C-{n}", account=f"NL91ABNA041716430{n}", phone=f"+1555000111{n}"
        )
        await make_event(deps, account=f"NL91ABNA041716430{n}", event_id=f"E-{n}")

    created = await evaluate_pending(deps=deps, now=utcnow())
    assert len(created) == 3
    assert await evaluate_pending(deps=deps, now=utcnow()) == []  # decided once
    async with deps.sessions() as session:
        alerts = (await session.exec(select(Alert).order_by(col(Alert.id)))).all()
    again = [StepJob(a.id or 0, 0, a.plan[0].channel) for a in alerts]
    queue = deps.queue
    assert isinstance(queue, ArqStepQueue)
    assert await queue.enqueue_steps(again) == 0
    assert await queue.enqueue_steps(again) == 0
    assert await _queued(runtime) == sorted(f"step:{a}:0" for a in created)
