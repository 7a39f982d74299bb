"""Short in-progress locks for arq jobs, renewed while a job runs: a lease.

arq marks a job in progress with a key that expires after the longest job timeout plus 10 s,
and nobody else runs the job before it expires. When the worker holding it is killed, its job
therefore waited that long (50 s for a step) before another worker ran it. Here the key lasts
``lease_s`` and the worker renews it every third of that for every job it still runs, so a job
of a killed worker runs again within ``lease_s`` (plus a poll), while a live worker's job is
never taken from it however long it may take (up to its timeout). The re-run of a step looks the
message up at the provider first (alerts.delivery.steps), so it is never sent twice.

A worker that cannot reach Redis cannot renew: arq's poll loop fails the same way and the
worker is closed and rebuilt by herald.worker.supervise. Closing first lets the jobs it runs
finish (up to ``finish_within_s``) instead of cancelling them at once: a step cut off in the
middle of an SMTP transaction would be sent again by its re-run, as an SMTP server cannot be
asked what it took (found by the fault-injection run: emails sent twice after a Redis restart).
Jobs that do not finish in time are cancelled and run again once their leases lapse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms
from arq.worker import Worker

logger = logging.getLogger(__name__)

LEASE_S = 15.0  # a killed worker's steps run again within this (plus a poll)
RENEW_RETRY_S = 0.5  # a renewal Redis refused is tried again this soon
FINISH_WITHIN_S = 45.0  # a closing worker's running jobs may finish (a step's timeout is 40 s)


# arq's start of a job, for all the jobs of one poll in one round trip (arq asks Redis four
# times per job, one job after the other): a job not in progress elsewhere and due now is
# marked in progress for the lease, up to ``limit`` jobs (the worker's free slots; the ids
# polled begin with the jobs running now, which stay queued until they end); returns the ids
# and scores of those marked.
# KEYS: the jobs' in-progress keys; ARGV: queue, now (ms), lease (ms), limit, then the job ids.
_START = """
local started, count = {}, 0
local limit = tonumber(ARGV[4])
for i, key in ipairs(KEYS) do
  if count >= limit then break end
  local id = ARGV[i + 4]
  if redis.call('EXISTS', key) == 0 then
    local score = redis.call('ZSCORE', ARGV[1], id)
    if score and tonumber(score) <= tonumber(ARGV[2]) then
      redis.call('PSETEX', key, ARGV[3], '1')
      table.insert(started, id)
      table.insert(started, score)
      count = count + 1
    end
  end
end
return started
"""


class LeasedWorker(Worker):
    """An arq Worker whose in-progress locks are leases of ``lease_s``, renewed while the job
    runs (see the module's docstring)."""

    def __init__(
        self,
        *args: Any,
        lease_s: float = LEASE_S,
        finish_within_s: float = FINISH_WITHIN_S,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lease_s = lease_s
        self.finish_within_s = finish_within_s
        self.in_progress_timeout_s = lease_s  # arq: the longest timeout + 10 s

    async def main(self) -> None:
        self._renewing = asyncio.create_task(self._renew_leases())
        try:
            await super().main()
        finally:
            # Jobs still running (the poll loop lost Redis; close() lets them finish) keep their
            # leases renewed: else, Redis back, another worker would run them a second time.
            if not [task for task in self.tasks.values() if not task.done()]:
                await self._stop_renewing()

    async def _stop_renewing(self) -> None:
        renewing: asyncio.Task[None] | None = getattr(self, "_renewing", None)
        if renewing is not None:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    async def close(self) -> None:
        """Let the running jobs finish (bounded), then close as arq does (cancelling the rest)."""
        running = [task for task in self.tasks.values() if not task.done()]  # job + bookkeeping
        if running:
            logger.info("worker %s: letting %s job(s) finish", self.queue_name, len(running))
            await asyncio.wait(running, timeout=self.finish_within_s)
        await self._stop_renewing()
        await super().close()

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """arq's ``start_jobs`` (the same checks, the same in-progress key) for every job of the
        poll at once, in one script: the jobs start together (a worker batching its steps,
        alerts.delivery.batch, gets them in one batch) and the start costs one round trip."""
        free = min(self.max_jobs - self.job_counter, len(job_ids))
        if free <= 0:
            return
        polled = [job_id.decode() for job_id in job_ids]
        for _ in range(free):
            await self.sem.acquire()
        self.job_counter += free
        try:
            found = await self.pool.eval(  # type: ignore[misc]
                _START,
                len(polled),
                *(in_progress_key_prefix + job_id for job_id in polled),
                self.queue_name,
                str(timestamp_ms()),
                str(int(self.in_progress_timeout_s * 1000)),
                str(free),
                *polled,
            )
        except BaseException:
            self.job_counter -= free
            for _ in range(free):
                self.sem.release()
            raise
        started = {
            _text(found[i]): int(float(_text(found[i + 1]))) for i in range(0, len(found), 2)
        }
        for _ in range(free - len(started)):  # slots not used: running elsewhere, or none due
            self.job_counter -= 1
            self.sem.release()
        batcher = self.ctx.get("step_batcher") if self.ctx else None
        if batcher is not None and started:
            batcher.expect(len(started))
        for job_id, score in started.items():
            task = self.loop.create_task(self.run_job(job_id, score))
            task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
            self.tasks[job_id] = task

    async def _renew_leases(self) -> None:
        every = wait = self.lease_s / 3
        while True:
            await asyncio.sleep(wait)
            wait = every
            jobs = list(self.job_tasks)
            if not jobs or self._pool is None:
                continue
            try:
                async with self._pool.pipeline(transaction=False) as pipe:
                    for job_id in jobs:  # a key already gone (the job ended) stays gone
                        pipe.pexpire(in_progress_key_prefix + job_id, int(self.lease_s * 1000))
                    await pipe.execute()
            except Exception as exc:  # Redis away: the poll loop notices it as well
                # Tried again soon: the moment Redis answers again (a restart), the leases are
                # renewed, before their time (counted while Redis was down) runs out.
                wait = RENEW_RETRY_S
                logger.debug("cannot renew %s lease(s): %s: %s", len(jobs), type(exc).__name__, exc)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
