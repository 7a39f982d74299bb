"""Thin arq entry points: jobs carry ids, never payloads; one place maps outcomes to arq retries."""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

from arq import Retry
from arq.constants import retry_key_prefix

from alerts.columns import utcnow
from alerts.delivery.batch import StepBatcher
from alerts.delivery.rate_limits import SlotHeldElsewhere, WaitForSlot, job_scope
from alerts.delivery.reconcile import STUCK_AFTER_S
from alerts.delivery.steps import RetryLater, run_step
from alerts.delivery.sweep import SweepCursor, sweep
from alerts.deps import AlertDeps

logger = logging.getLogger(__name__)


# The runs of a job in this process, one at a time: when Redis comes back from an outage, a job
# whose lease lapsed meanwhile can be handed to the same worker again while its first run still
# goes on (found by the rate-limit outage test: one SMS sent twice from one worker).
_RUNNING: dict[str, tuple[asyncio.Lock, list[int]]] = {}


async def run_step_job(ctx: dict[str, Any], alert_id: int, step_index: int) -> str:
    job_id = str(ctx.get("job_id", ""))
    lock, users = _RUNNING.setdefault(job_id, (asyncio.Lock(), [0]))
    users[0] += 1
    try:
        async with lock:
            return await _run_step_job(ctx, alert_id, step_index)
    finally:
        users[0] -= 1
        if not users[0]:
            _RUNNING.pop(job_id, None)


async def _run_step_job(ctx: dict[str, Any], alert_id: int, step_index: int) -> str:
    deps: AlertDeps = ctx["deps"]
    # Which run of which job (the fault-injection runs time a killed worker's job's re-run).
    logger.debug("running job_id=%s try=%s", ctx.get("job_id"), ctx.get("job_try", 1))
    try:
        with job_scope(str(ctx.get("job_id", ""))):
            # A worker of a queue whose steps are batched (SMS, email) shares its database
            # work with the other steps running now (alerts.delivery.batch).
            batcher: StepBatcher | None = ctx.get("step_batcher")
            run = batcher.run if batcher is not None else partial(run_step, deps=deps)
            result = await run(
                alert_id=alert_id,
                step_index=step_index,
                now=utcnow(),
                try_no=int(ctx.get("job_try", 1)),
            )
    except WaitForSlot as exc:
        # Back on this job's own id (the sweep's enqueue of it is refused while it waits); a
        # wait for the provider's rate is not a try: arq's count of tries is given back.
        if not exc.counts_as_try:
            await _give_back_try(ctx)
        raise Retry(defer=exc.defer_seconds) from exc
    except SlotHeldElsewhere as exc:
        return f"skipped: {exc}"
    except RetryLater as exc:
        logger.warning(
            "transient failure alert_id=%s step=%s, retry in %.0fs: %s",
            alert_id,
            step_index,
            exc.defer_seconds,
            exc,
        )
        raise Retry(defer=exc.defer_seconds) from exc
    return f"{result.action}: {result.detail}"


# Only a count arq keeps (a key lost with a Redis restart is not made negative).
_GIVE_BACK = (
    "if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end"
)


async def _give_back_try(ctx: dict[str, Any]) -> None:
    """Undo arq's count of this run (it counts every run towards max_tries and job_try)."""
    redis, job_id = ctx.get("redis"), ctx.get("job_id")
    if redis is None or not job_id:
        return
    try:
        await redis.eval(_GIVE_BACK, 1, retry_key_prefix + str(job_id))
    except Exception as exc:  # the wait still holds; only the count of tries is off by one
        logger.warning("job_id=%s: could not give back its try (%s)", job_id, exc)


async def sweep_job(ctx: dict[str, Any]) -> str:
    deps: AlertDeps = ctx["deps"]
    # The worker's context lives as long as the worker: each sweep goes on where the last stopped.
    cursor = ctx.setdefault("sweep_cursor", SweepCursor())
    stuck_after_s = float(ctx.get("stuck_after_s", STUCK_AFTER_S))
    found = await sweep(deps=deps, now=utcnow(), cursor=cursor, stuck_after_s=stuck_after_s)
    return f"re-enqueued {found}"
