"""Workers outlive Redis: a restart of the Redis server, or an outage of many seconds, is logged
and waited out; the same process then delivers what is raised afterwards, once."""

from __future__ import annotations

import asyncio
import gc
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from arq.worker import func
from sqlmodel import select

from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from alerts.models import Alert
from herald.config import Settings
from herald.embedded import PrivateRedis
from herald.leases import LEASE_S, LeasedWorker
from herald.runtime import QUEUES, redis_settings
from herald.worker import (
    build_workers,
    run_workers,
    supervise,
)
from tests.conftest import Stack
from tests.factories import make_customer, make_event

pytestmark = [
    pytest.mark.integration,
    # Sockets of the workers that lost Redis are collected here (gc in the fixture), not in a
    # later test; arq leaves some open when its pool dies under it.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


class OwnRedis:
    """A Redis server this test may stop and start again on the same socket."""

    def __init__(self) -> None:
        self.base = Path("/tmp") / f"herald-blink-{uuid.uuid4().hex[:8]}"  # short: a socket path
        self.settings = Settings(_env_file=None, data_dir=self.base, redis_url=None)
        self.server: PrivateRedis | None = None

    def start(self) -> Path:
        self.server = PrivateRedis.ensure(self.settings)
        assert self.server is not None and self.server.process is not None
        return self.server.socket_path

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    redis = OwnRedis()
    redis.start()
    yield redis
    redis.stop()
    shutil.rmtree(redis.base, ignore_errors=True)
    gc.collect()  # a socket left open by a worker rebuilt after a lost Redis shows up here


@pytest.fixture
def redis_url(own_redis: OwnRedis) -> str:  # the settings of this module use the own server
    assert own_redis.server is not None
    return f"unix://{own_redis.server.socket_path}"


async def _texts(stack: Stack, count: int, timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sent = sorted(m.to for m in stack.sim.state.messages.values())
        if len(sent) >= count:
            return sent
        await asyncio.sleep(0.2)
    return sorted(m.to for m in stack.sim.state.messages.values())


async def _raise(stack: Stack, n: int) -> None:
    """Customer n and a debit of theirs, evaluated (by this call or by the sweep, which the
    worker also runs: either way exactly one alert)."""
    deps = stack.runtime.deps
    account = f"NL00BANK000000000{n}"
    await make_customer(
        deps, ref=f"C-{n}", account=account, phone=f"+1555000000{n}", order=("sms",)
    )
    event = await make_event(deps, account=account, event_id=f"E-{n}")
    await evaluate_pending(deps=deps, now=utcnow())
    deadline = time.monotonic() + 30  # the sweep may hold the event a moment longer
    while True:
        async with deps.sessions() as session:
            alerts = (await session.exec(select(Alert).where(Alert.event_id == event.id))).all()
        if alerts or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert len(alerts) == 1


# A restart of the Redis server, and an outage of many seconds (arq's job bookkeeping is cut
# off mid-way then: its CancelledError must not end the supervisor).
@pytest.mark.parametrize("outage_s", [1.0, 12.0], ids=["restart", "outage"])
async def test_workers_carry_on_after_redis_comes_back(
    stack: Stack, own_redis: OwnRedis, outage_s: float, caplog: pytest.LogCaptureFixture
) -> None:
    workers = asyncio.create_task(run_workers(stack.runtime))
    try:
        await _raise(stack, 1)
        assert await _texts(stack, 1, 30) == ["+15550000001"]

        own_redis.stop()
        await asyncio.sleep(outage_s)
        assert not workers.done(), f"the workers ended: {workers.exception()!r}"
        own_redis.start()

        await _raise(stack, 2)
        assert await _texts(stack, 2, 45) == ["+15550000001", "+15550000002"]  # once each
        assert not workers.done()
        if outage_s > 5:  # a blink is ridden out by the commands' own retries, unlogged
            assert "lost Redis" in caplog.text and "reconnecting in" in caplog.text
    finally:
        workers.cancel()
        await asyncio.gather(workers, return_exceptions=True)


async def test_a_bug_still_ends_the_worker() -> None:
    """Only a lost Redis is waited out: any other error is not retried for ever."""
    made = 0

    class Broken:
        async def async_run(self) -> None:
            raise ValueError("a bug")

        async def close(self) -> None:
            pass

    def make() -> Broken:
        nonlocal made
        made += 1
        return Broken()

    with pytest.raises(ValueError, match="a bug"):
        await supervise(make, name="test")  # type: ignore[arg-type]
    assert made == 1


async def test_a_cancelled_bookkeeping_while_closing_does_not_end_the_supervisor() -> None:
    """arq's close() gathers job tasks whose shielded bookkeeping died with the connection:
    their CancelledError is not ours, so the supervisor builds the next worker."""
    made = 0

    class LostRedis:
        queue_name = "test"
        burst = True

        def __init__(self, first: bool) -> None:
            self.first = first

        async def async_run(self) -> None:
            if self.first:
                raise ConnectionError("Redis went away")

        async def close(self) -> None:
            if self.first:
                raise asyncio.CancelledError

    def make() -> LostRedis:
        nonlocal made
        made += 1
        return LostRedis(first=made == 1)

    await supervise(make, name="test", first_wait=0)  # type: ignore[arg-type]
    assert made == 2


async def test_a_watch_broken_by_a_lost_connection_is_an_outage_not_a_bug() -> None:
    """redis-py raises WatchError inside its handler of the ConnectionError; Redis may answer
    again by the time the supervisor asks, so the error's chain decides, not the ping."""
    from redis.exceptions import WatchError

    made = 0

    class WatchLost:
        queue_name = "test"
        burst = True

        def __init__(self, first: bool) -> None:
            self.first = first

        async def async_run(self) -> None:
            if self.first:
                try:
                    raise ConnectionError("Connection closed by server.")
                except ConnectionError:
                    raise WatchError("A ConnectionError occurred on while watching")  # noqa: B904

        async def close(self) -> None:
            return None

    def make() -> WatchLost:
        nonlocal made
        made += 1
        return WatchLost(first=made == 1)

    async def answers() -> bool:
        return True

    await supervise(make, name="test", first_wait=0, reachable=answers)  # type: ignore[arg-type]
    assert made == 2


async def test_a_plain_bug_still_ends_the_supervisor() -> None:
    class Broken:
        queue_name = "test"
        burst = True

        async def async_run(self) -> None:
            raise KeyError("a bug")

        async def close(self) -> None:
            return None

    async def answers() -> bool:
        return True

    with pytest.raises(KeyError):
        await supervise(Broken, name="test", first_wait=0, reachable=answers)  # type: ignore[arg-type]


async def test_a_killed_workers_steps_are_free_again_within_a_lease(stack: Stack) -> None:
    """Every queue's in-progress lock is a short lease (herald.leases), not arq's longest
    timeout + 10 s: a killed worker's steps run again within ~15 s, the sweep's too."""
    workers = build_workers(stack.runtime, sweep_cron=False)
    try:
        for w in workers:
            assert w.in_progress_timeout_s == LEASE_S <= 30, w.queue_name
    finally:
        for w in workers:
            await w.close()


async def test_a_lease_is_renewed_while_the_job_runs(stack: Stack) -> None:
    """A job longer than its lease keeps it: nobody else may start it while it runs."""
    seen: list[int] = []
    release = asyncio.Event()

    async def slow(ctx: dict[str, object]) -> str:
        await release.wait()
        return "done"

    worker = LeasedWorker(
        functions=[func(slow, name="slow", timeout=30)],
        queue_name="herald:lease-test",
        redis_settings=redis_settings(stack.settings),
        lease_s=1.5,
        poll_delay=0.1,
        handle_signals=False,
    )
    pool = stack.runtime.pool
    await pool.enqueue_job("slow", _job_id="lease-1", _queue_name="herald:lease-test")
    task = asyncio.create_task(worker.async_run())
    try:
        for _ in range(40):  # 4 s: more than twice the lease
            await asyncio.sleep(0.1)
            seen.append(int(await pool.pttl("arq:in-progress:lease-1")))
        assert min(seen[10:]) > 0, f"the lease lapsed while the job ran: {seen}"
        release.set()
        for _ in range(50):
            if not await pool.exists("arq:in-progress:lease-1"):
                break
            await asyncio.sleep(0.1)
        assert not await pool.exists("arq:in-progress:lease-1")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await worker.close()


async def test_a_closing_worker_lets_its_running_job_finish(stack: Stack) -> None:
    """Closing (as after a lost Redis) waits for a running job instead of cancelling it: a step
    cut off mid-way through an SMTP transaction would be sent again by its re-run."""
    started, release, finished = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def slow(ctx: dict[str, object]) -> str:
        started.set()
        await release.wait()
        finished.set()
        return "done"

    worker = LeasedWorker(
        functions=[func(slow, name="slow", timeout=30)],
        queue_name="herald:close-test",
        redis_settings=redis_settings(stack.settings),
        poll_delay=0.1,
        handle_signals=False,
    )
    await stack.runtime.pool.enqueue_job("slow", _job_id="close-1", _queue_name="herald:close-test")
    task = asyncio.create_task(worker.async_run())
    try:
        await asyncio.wait_for(started.wait(), 10)
        closing = asyncio.create_task(worker.close())
        await asyncio.sleep(0.5)
        assert not closing.done() and not finished.is_set()
        release.set()
        await asyncio.wait_for(closing, 10)
        assert finished.is_set(), "the job was cancelled instead of finishing"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_the_embedded_redis_keeps_queued_jobs_across_a_restart(
    stack: Stack, own_redis: OwnRedis
) -> None:
    """The embedded Redis writes an append-only file, so a deferred step is still queued after
    the server is stopped and started again."""
    queue = stack.runtime.deps.queue
    assert await queue.enqueue_step(alert_id=1, step_index=0, channel="sms", defer_seconds=600)
    await asyncio.sleep(1.5)  # appendfsync everysec
    own_redis.stop()
    own_redis.start()
    assert int(await stack.runtime.pool.zcard(QUEUES["sms"])) == 1
