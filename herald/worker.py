"""arq workers: one per queue (voice, SMS, email, default with the sweep), and burst draining."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypedDict

from arq import cron
from arq.worker import Worker, func
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from alerts.crm.deliver import dispatch_job
from alerts.delivery.batch import StepBatcher
from alerts.delivery.jobs import run_step_job, sweep_job
from alerts.reports.jobs import EVERY_MINUTES, refresh_reports_job
from herald.leases import LeasedWorker
from herald.runtime import DEFAULT_QUEUE, QUEUES, Runtime, redis_settings

logger = logging.getLogger(__name__)


# An alert type retries a transient provider error at most 10 times (max_provider_retries).
MAX_JOB_TRIES = 12
# The longest a step can take: two providers (failover) at their 15 s HTTP timeout, the database.
# A job's in-progress lock is a lease renewed while it runs (herald.leases), so a step of a worker
# killed mid-way runs again within LEASE_S (looked up at the provider first, never resent).
STEP_TIMEOUT_S = 40
SWEEP_TIMEOUT_S = 120  # the sweep runs on the default queue only
CRM_EVERY_S = 5  # how often the outbox is fanned out and due webhooks posted
# A cron tick's job id is the same in every worker process (unique=True), but arq only refuses
# a second enqueue while the job or its result exists: with no result kept, a worker that
# reaches the tick after another finished it ran the sweep (or the CRM dispatch) again. Kept
# this long, each tick runs once per deployment, however many workers there are.
CRON_RESULT_KEEP_S = 120
# The queues whose steps a worker batches (alerts.delivery.batch): their jobs run this many at
# once, so that the steps running together share their statements and commits. Voice stays at
# MAX_JOBS (its steps are paced by the call centre and Twilio's calls per second).
BATCHED_QUEUES = frozenset({QUEUES["sms"], QUEUES["email"]})
BATCHED_MAX_JOBS = 64
# They poll more often too: a batch's jobs end together, and the next batch starts at the next
# poll (an idle poll is one ZRANGEBYSCORE).
BATCHED_POLL_DELAY_S = 0.05
POLL_DELAY_S = 0.2
MAX_JOBS = 10


def build_workers(
    runtime: Runtime,
    *,
    queues: list[str] | None = None,
    burst: bool = False,
    handle_signals: bool = False,
    sweep_cron: bool = True,
) -> list[Worker]:
    """Workers sharing the runtime's deps; each only reads its own queue."""
    settings = runtime.settings
    names = queues or [*QUEUES.values(), DEFAULT_QUEUE]
    tries = MAX_JOB_TRIES
    workers: list[Worker] = []
    for name in names:
        crons = []
        if name == DEFAULT_QUEUE and sweep_cron and not burst:
            every = max(settings.sweep_interval_seconds, 1)
            crons = [
                cron(
                    sweep_job,
                    second=set(range(0, 60, every)) if every < 60 else {0},
                    run_at_startup=True,
                    unique=True,
                    timeout=SWEEP_TIMEOUT_S,
                    keep_result=CRON_RESULT_KEEP_S,
                ),
                cron(
                    refresh_reports_job,
                    minute=set(range(0, 60, EVERY_MINUTES)),
                    unique=True,
                    keep_result=CRON_RESULT_KEEP_S,
                ),
                cron(  # outbound webhooks to the CRM (alerts.crm)
                    dispatch_job,
                    second=set(range(0, 60, CRM_EVERY_S)),
                    unique=True,
                    timeout=SWEEP_TIMEOUT_S,
                    keep_result=CRON_RESULT_KEEP_S,
                ),
            ]
        functions = [func(run_step_job, name="run_step", max_tries=tries, timeout=STEP_TIMEOUT_S)]
        if name == DEFAULT_QUEUE:
            functions.append(func(sweep_job, name="sweep", timeout=SWEEP_TIMEOUT_S))
        ctx: dict[str, Any] = {
            "deps": runtime.deps,
            "stuck_after_s": settings.sweep_stuck_after_seconds,
        }
        batched = name in BATCHED_QUEUES
        if batched:
            ctx["step_batcher"] = StepBatcher(runtime.deps)
        workers.append(
            LeasedWorker(
                functions=functions,
                queue_name=name,
                cron_jobs=crons,
                redis_settings=redis_settings(settings),
                burst=burst,
                handle_signals=handle_signals,
                ctx=ctx,
                keep_result=0,
                max_jobs=BATCHED_MAX_JOBS if batched else MAX_JOBS,
                poll_delay=BATCHED_POLL_DELAY_S if batched else POLL_DELAY_S,
                job_timeout=STEP_TIMEOUT_S,
                max_burst_jobs=-1,
            )
        )
    return workers


# What a Redis restart or outage raises out of arq's poll loop, job bookkeeping or start-up.
REDIS_LOST = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)
RECONNECT_FIRST_S = 0.5
RECONNECT_MAX_S = 15.0
STABLE_AFTER_S = 60.0  # a worker that ran this long before losing Redis starts backing off anew


async def supervise(
    make: Callable[[], Worker],
    *,
    name: str,
    first_wait: float = RECONNECT_FIRST_S,
    max_wait: float = RECONNECT_MAX_S,
    reachable: Callable[[], Awaitable[bool]] | None = None,
) -> None:
    """Run the worker ``make`` builds; when Redis goes away (a restart, an outage of minutes),
    log it, wait (doubling up to ``max_wait``), build a fresh worker and carry on. Any other
    error is a bug and ends the process as before. A job cut off mid-way is run again when its
    in-progress lock expires; every step is idempotent, so nothing is sent twice."""
    wait = first_wait
    while True:
        worker = make()
        started = time.monotonic()
        try:
            await worker.async_run()
            if worker.burst:
                return
            # A long-running worker only returns when its poll loop gave up: start it again.
            raise RedisConnectionError("the worker's poll loop stopped")
        except (Exception, asyncio.CancelledError) as exc:
            task = asyncio.current_task()
            if isinstance(exc, asyncio.CancelledError) and (task is None or task.cancelling()):
                raise  # we are being stopped
            # arq may surface a lost Redis as another error (a job's bookkeeping, a cancelled
            # shield): an error while Redis does not answer is the outage; any other is a bug.
            lost = _redis_lost(exc) or (reachable is not None and not await reachable())
            if not lost:
                raise
            if time.monotonic() - started >= STABLE_AFTER_S:
                wait = first_wait
            logger.warning(
                "worker %s lost Redis (%s: %s); reconnecting in %.1fs",
                name,
                type(exc).__name__,
                exc,
                wait,
            )
        finally:
            await _close_quietly(worker)
        await asyncio.sleep(wait)
        wait = min(wait * 2, max_wait)


def _redis_lost(exc: BaseException) -> bool:
    """Whether ``exc`` is, or was raised while handling, a lost connection: redis-py turns a
    connection dropped under a WATCH into a WatchError raised inside its except clause, and by
    the time we ask, Redis may answer again."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, REDIS_LOST):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


async def _close_quietly(worker: Worker) -> None:
    """Close a worker that lost Redis. Closing over a dead connection may fail too, and arq's
    close() gathers its job tasks, whose shielded bookkeeping ends in CancelledError when the
    connection died under it: neither may end the supervisor (only our own cancellation may).
    Then drop the sockets of its pool, which arq leaves open."""
    for close in (
        worker.close,
        lambda: _disconnect(getattr(worker, "_pool", None)),
    ):
        try:
            await close()
        except (Exception, asyncio.CancelledError) as exc:
            task = asyncio.current_task()
            if isinstance(exc, asyncio.CancelledError) and task is not None and task.cancelling():
                raise
            logger.debug("closing worker %s: %s: %s", worker.queue_name, type(exc).__name__, exc)


async def _disconnect(pool: object) -> None:
    if pool is not None:
        await pool.connection_pool.disconnect(inuse_connections=True)  # type: ignore[attr-defined]


async def run_workers(runtime: Runtime, *, queues: list[str] | None = None) -> None:
    """One supervised worker per queue until cancelled; a Redis blink never ends the process."""
    names = queues or [*QUEUES.values(), DEFAULT_QUEUE]
    # Everything start-up made (modules, mappers, the compiled alert types) lives as long as the
    # process: the cyclic collector need not walk it again on every full collection.
    gc.freeze()

    def maker(queue: str) -> Callable[[], Worker]:
        return lambda: build_workers(runtime, queues=[queue])[0]

    async def reachable() -> bool:
        try:
            return bool(await asyncio.wait_for(runtime.pool.ping(), timeout=5))
        except Exception:
            return False

    await asyncio.gather(*(supervise(maker(q), name=q, reachable=reachable) for q in names))


async def _due_jobs(runtime: Runtime) -> int:
    now_ms = int(time.time() * 1000)
    total = 0
    for name in [*QUEUES.values(), DEFAULT_QUEUE]:
        total += int(await runtime.pool.zcount(name, "-inf", now_ms))
    in_progress = await runtime.pool.keys("arq:in-progress:*")
    return total + len(in_progress)


async def _pending_jobs(runtime: Runtime) -> int:
    total = 0
    for name in [*QUEUES.values(), DEFAULT_QUEUE]:
        total += int(await runtime.pool.zcard(name))
    return total


class DrainTimeoutError(RuntimeError):
    """`drain` ran out of time with work left; the message says what was left."""


def _listed(items: list[str], limit: int = 10) -> str:
    more = f", and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


async def _work_left(runtime: Runtime, *, wait_deferred: bool, idle: bool) -> str:
    """What a drain that timed out leaves: queued jobs per queue, jobs in progress, alerts with
    a step due (or, with ``wait_deferred``, any step still to come), an idle check that failed."""
    from sqlmodel import col, select

    from alerts.columns import utcnow
    from alerts.lifecycle import ALERT_OPEN
    from alerts.models import Alert

    now_ms = int(time.time() * 1000)
    queued = []
    for name in [*QUEUES.values(), DEFAULT_QUEUE]:
        due = int(await runtime.pool.zcount(name, "-inf", now_ms))
        deferred = int(await runtime.pool.zcard(name)) - due
        if due or deferred:
            queued.append(f"{name} {due} due, {deferred} deferred")
    running = sorted(
        (k.decode() if isinstance(k, bytes) else str(k)).removeprefix("arq:in-progress:")
        for k in await runtime.pool.keys("arq:in-progress:*")
    )
    now = utcnow()
    async with runtime.deps.sessions() as session:
        query = select(Alert).where(
            col(Alert.status).in_(ALERT_OPEN), col(Alert.next_step_at).is_not(None)
        )
        if not wait_deferred:
            query = query.where(col(Alert.next_step_at) <= now)
        alerts = (await session.exec(query.order_by(col(Alert.next_step_at)))).all()
    steps = [
        f"alert {a.id} step {a.current_step} "
        f"({a.plan[a.current_step].channel if a.current_step < len(a.plan) else '?'}, "
        f"{'due' if a.next_step_at and a.next_step_at <= now else 'next'} "
        f"{a.next_step_at:%H:%M:%S} UTC)"
        for a in alerts
    ]
    when = "to come" if wait_deferred else "due"
    left = [
        f"jobs queued: {'; '.join(queued)}" if queued else "no job queued",
        f"jobs in progress: {_listed(running)}" if running else "no job in progress",
        f"{len(steps)} alert(s) with a step {when}: {_listed(steps)}"
        if steps
        else f"no alert with a step {when}",
    ]
    if not idle:
        left.append("the idle check (e.g. calls still in progress in the simulator) did not hold")
    return "; ".join(left)


class Drained(TypedDict):
    """What ``drain`` reports: how long it took, and the jobs still deferred."""

    seconds: float
    jobs_left: int


async def drain(
    runtime: Runtime,
    *,
    wait_deferred: bool = False,
    timeout: float = 300.0,
    quiet_for: float = 1.0,
    idle_check: Callable[[], Awaitable[bool]] | None = None,
) -> Drained:
    """Run the sweep, then all workers until no job is due (or none at all, with wait_deferred)
    and `idle_check` (e.g. the simulator has no call in progress) has held for `quiet_for` s.

    DrainTimeoutError after `timeout` seconds with work left, saying what was left: the jobs
    queued and in progress, the alerts with a step due, whether the idle check held.
    """
    from alerts.columns import utcnow
    from alerts.delivery.sweep import sweep

    started = time.monotonic()
    # One walk over every due alert (a drain must not leave stranded work for a later sweep).
    await sweep(deps=runtime.deps, now=utcnow(), grace_seconds=0, limit=sys.maxsize)
    workers = build_workers(runtime, sweep_cron=False)
    tasks = [asyncio.create_task(w.async_run()) for w in workers]
    quiet_since: float | None = None
    left: str | None = None
    try:
        while time.monotonic() - started < timeout:
            await asyncio.sleep(0.2)
            busy = await (_pending_jobs(runtime) if wait_deferred else _due_jobs(runtime))
            if wait_deferred:
                busy += len(await runtime.pool.keys("arq:in-progress:*"))
            idle = busy == 0 and (idle_check is None or await idle_check())
            if not idle:
                quiet_since = None
                continue
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= quiet_for:
                break
        else:
            if quiet_since is None:  # (idle at the deadline, only not yet for quiet_for: done)
                checked = idle_check is None or await idle_check()
                left = await _work_left(runtime, wait_deferred=wait_deferred, idle=checked)
    finally:
        for w in workers:
            await w.close()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if left is not None:
        wanted = "all work, deferred steps too," if wait_deferred else "the work due"
        raise DrainTimeoutError(f"{wanted} did not finish within {timeout:g}s (--timeout): {left}")
    return {
        "seconds": round(time.monotonic() - started, 2),
        "jobs_left": await _pending_jobs(runtime),
    }
