"""Provider rate limits: a send asks the shared bucket in Redis for its slot first (docs/pacing.md).

Not the voice pacer (``pace_voice``, callcentre.live_pacing), which holds calls that offer an
agent until the centre can take them: this is the provider's own ceiling (Twilio's messages per
second per sender, calls per second per account, an SMTP server's rate), enforced across every
worker process by one Lua script per ask (GCRA, Redis's own clock, one round trip).

A step that must wait comes back on its own arq job id (``WaitForSlot`` becomes ``Retry``): no
new job, no database row moved, so the sweep's re-enqueue of that job id is refused as a
duplicate. The ask happens before the attempt is marked "sending" and before anything is
committed: a refused slot leaves nothing half-done. Redis unreachable: nothing is sent (fail
closed), the step is tried again later.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from alerts.deps import SendGate
from channels.base import OutboundMessage
from channels.sms_segments import sms_length

logger = logging.getLogger(__name__)

# A wait this short is slept in the job (the slot is a fraction of a second away: a re-queue
# would cost more than it saves); longer ones go back to arq on the job's own id.
SLEEP_IN_JOB_S = 0.5
# Redis did not answer: nothing is sent, the step is asked again after this long.
UNREACHABLE_RETRY_S = 5.0
ASK_TIMEOUT_S = 5.0
# The wire check runs after the attempt is marked "sending": it must stay short (a re-run of
# the step after its lease lapsed would look the message up at the provider, and not find a
# send that is still waiting here).
WIRE_TIMEOUT_S = 2.0
MAX_DISTANCE_WAIT_S = 2.0  # the most a granted send waits at the wire (far below the job lease)
# How long a step's slot stays its own job's after the grant: longer than a send and its record
# take (herald.worker.STEP_TIMEOUT_S), so a second job of the same step cannot get a slot while
# the first may still be talking to the provider.
GRANT_HELD_MS = 300_000
RESERVATION_SLACK_MS = 120_000  # a reservation outlives its slot by this long, then lapses

# The arq job running this step (set by alerts.delivery.jobs): the owner of the step's slot.
current_job: contextvars.ContextVar[str] = contextvars.ContextVar("herald_rate_job", default="")


@dataclass(frozen=True, slots=True)
class Bucket:
    """One limit: ``per_second`` sends (SMS: segments) sustained, ``burst`` at once."""

    key: str  # herald:rate:{account}:{sender}:{kind}, or :{kind} for an account-wide one
    per_second: float
    burst: int = 1

    @property
    def interval_ms(self) -> float:
        return 1000.0 / self.per_second

    @property
    def tolerance_ms(self) -> float:
        return (max(self.burst, 1) - 1) * self.interval_ms


@dataclass(frozen=True, slots=True)
class Slot:
    """The bucket's answer: go now, wait ``wait_s``, or the step's slot belongs to another job."""

    go: bool
    wait_s: float
    reason: str
    held_elsewhere: bool = False


class WaitForSlot(Exception):
    """The send's slot is ``defer_seconds`` away (or Redis could not be asked): the job layer
    runs the same job again then (arq ``Retry``), without counting it as a try."""

    def __init__(self, reason: str, defer_seconds: float, *, counts_as_try: bool = False) -> None:
        super().__init__(reason)
        self.defer_seconds = defer_seconds
        self.counts_as_try = counts_as_try


class SlotHeldElsewhere(Exception):
    """Another job of the same step holds its slot (and may be sending): this job ends."""


def limits_for(
    *,
    account: str,
    sender: str,
    kind: str,
    account_per_second: float,
    sender_per_second: float,
    burst: int = 1,
) -> tuple[Bucket, ...]:
    """The buckets a send of ``kind`` from ``sender`` on ``account`` must all fit (0: no limit)."""
    buckets = []
    if account_per_second > 0:
        buckets.append(Bucket(f"herald:rate:{account}:{kind}", account_per_second, burst))
    if sender_per_second > 0:
        buckets.append(Bucket(f"herald:rate:{account}:{sender}:{kind}", sender_per_second, burst))
    return tuple(buckets)


def cost_of(kind: str, message: OutboundMessage) -> int:
    """What one send takes from its buckets: an SMS its segments (Twilio counts those), else 1."""
    if kind == "sms":
        return max(sms_length(message.text).segments, 1)
    return 1


def read_answer(answer: Sequence[Any], buckets: Sequence[Bucket]) -> Slot:
    """The script's reply (code, wait ms) as a decision with the reason the logs show."""
    code, wait_ms = int(answer[0]), max(float(answer[1]), 0.0)
    limits = ", ".join(f"{b.key} {b.per_second:g}/s" for b in buckets)
    if code == 1:
        return Slot(True, 0.0, f"slot granted ({limits})")
    if code == 2:
        return Slot(False, wait_ms / 1000, "another job of this step holds its slot", True)
    return Slot(False, wait_ms / 1000, f"rate limit ({limits}): next slot in {wait_ms:.0f} ms")


# KEYS[1] the step's slot (hash: owner job, at ms, state), KEYS[2..] the buckets (hash: s = the
# schedule's theoretical arrival time, g = the grants'). ARGV: owner, cost, held ms, slack ms,
# then per bucket interval ms and tolerance ms. Returns {1, 0} go, {0, ms} wait, {2, ms} not
# yours. The schedule hands out future slots spaced by the rate (each waiting job wakes once, at
# its slot); the grants check the real time of every send against the same rate, so a job that
# woke late does not crowd the one after it.
_ASK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local owner, cost = ARGV[1], tonumber(ARGV[2])
local held_ms, slack_ms = tonumber(ARGV[3]), tonumber(ARGV[4])
local n = #KEYS - 1
local function bucket(i)
  local s = tonumber(redis.call('HGET', KEYS[i + 1], 's') or '0')
  local g = tonumber(redis.call('HGET', KEYS[i + 1], 'g') or '0')
  return s, g, tonumber(ARGV[3 + 2 * i]), tonumber(ARGV[4 + 2 * i])
end
local function keep(i, s, g)
  redis.call('HSET', KEYS[i + 1], 's', s, 'g', g)
  redis.call('PEXPIRE', KEYS[i + 1], math.ceil(math.max(s, g) - now) + slack_ms)
end
local slot_owner = redis.call('HGET', KEYS[1], 'owner')
local state = redis.call('HGET', KEYS[1], 'state')
if slot_owner and slot_owner ~= owner then
  return {2, redis.call('PTTL', KEYS[1])}
end
if state == 'reserved' then
  local wait = tonumber(redis.call('HGET', KEYS[1], 'at')) - now
  for i = 1, n do
    local s, g, interval, tol = bucket(i)
    wait = math.max(wait, g - tol - now)
  end
  if wait > 0 then
    return {0, wait}
  end
  for i = 1, n do
    local s, g, interval = bucket(i)
    keep(i, s, math.max(g, now) + cost * interval)
  end
  redis.call('HSET', KEYS[1], 'owner', owner, 'state', 'granted', 'at', now)
  redis.call('PEXPIRE', KEYS[1], held_ms)
  return {1, 0}
end
local at = now
for i = 1, n do
  local s, g, interval, tol = bucket(i)
  at = math.max(at, math.max(s, g) - tol)
end
for i = 1, n do
  local s, g, interval = bucket(i)
  if at <= now then g = math.max(g, now) + cost * interval end
  keep(i, math.max(s, at) + cost * interval, g)
end
if at <= now then
  redis.call('HSET', KEYS[1], 'owner', owner, 'state', 'granted', 'at', now)
  redis.call('PEXPIRE', KEYS[1], held_ms)
  return {1, 0}
end
redis.call('HSET', KEYS[1], 'owner', owner, 'state', 'reserved', 'at', at)
redis.call('PEXPIRE', KEYS[1], math.ceil(at - now) + slack_ms)
return {0, at - now}
"""


# The same buckets at the wire (field w): right before the request goes out, the send is spaced
# from the last ones actually sent. The slot was granted before the attempt was marked
# "sending"; that commit takes a varying time, so two granted sends could otherwise reach the
# provider closer together than the rate. ARGV: cost, slack ms, then per bucket interval ms and
# tolerance ms. Returns 0 (go, counted) or the ms to wait.
_SPACE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cost, slack_ms = tonumber(ARGV[1]), tonumber(ARGV[2])
local wait = 0
for i = 1, #KEYS do
  local w = tonumber(redis.call('HGET', KEYS[i], 'w') or '0')
  wait = math.max(wait, w - tonumber(ARGV[2 + 2 * i]) - now)
end
if wait > 0 then
  return wait
end
for i = 1, #KEYS do
  local w = tonumber(redis.call('HGET', KEYS[i], 'w') or '0')
  local next_w = math.max(w, now) + cost * tonumber(ARGV[1 + 2 * i])
  redis.call('HSET', KEYS[i], 'w', next_w)
  local ttl = math.ceil(next_w - now) + slack_ms
  if redis.call('PTTL', KEYS[i]) < ttl then
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
end
return 0
"""


class RedisSendGate:
    """The shared buckets in Redis: per channel kind, the limits its sends must all fit."""

    def __init__(self, redis: Redis, limits: Mapping[str, Sequence[Bucket]]) -> None:
        self.redis = redis
        self.limits = {kind: tuple(b) for kind, b in limits.items() if b}
        self._ask = redis.register_script(_ASK)
        self._space = redis.register_script(_SPACE)

    def limited(self, kind: str) -> bool:
        return kind in self.limits

    async def ask(self, *, kind: str, step: str, owner: str, cost: int = 1) -> Slot:
        """Ask for the slot of one send of ``kind`` (``step`` names it: alert and step index)."""
        buckets = self.limits.get(kind, ())
        if not buckets:
            return Slot(True, 0.0, f"no rate limit for {kind}")
        args: list[str] = [owner, str(cost), str(GRANT_HELD_MS), str(RESERVATION_SLACK_MS)]
        for b in buckets:
            args += [repr(b.interval_ms), repr(b.tolerance_ms)]
        keys = [f"herald:rate:slot:{step}", *(b.key for b in buckets)]
        answer = await self._ask(keys=keys, args=args)
        return read_answer(answer, buckets)

    async def space(self, *, kind: str, cost: int = 1) -> float:
        """Seconds this granted send must still wait to keep its distance at the wire (0: go)."""
        buckets = self.limits.get(kind, ())
        if not buckets:
            return 0.0
        args = [str(cost), str(RESERVATION_SLACK_MS)]
        for b in buckets:
            args += [repr(b.interval_ms), repr(b.tolerance_ms)]
        wait_ms = await self._space(keys=[b.key for b in buckets], args=args)
        return max(float(wait_ms), 0.0) / 1000


@contextlib.contextmanager
def job_scope(job_id: str) -> Iterator[None]:
    """Name the arq job that runs the step inside: its slot's owner."""
    token = current_job.set(job_id)
    try:
        yield
    finally:
        current_job.reset(token)


async def wait_for_slot(
    gate: SendGate | None, *, kind: str, alert_id: int, step_index: int, message: OutboundMessage
) -> None:
    """Return when this send may go now; else raise ``WaitForSlot`` (ask again later, on the
    same job) or ``SlotHeldElsewhere`` (another job of this step has its slot)."""
    if gate is None or not gate.limited(kind):
        return
    step, owner = f"{alert_id}:{step_index}", current_job.get()
    for _ in range(4):
        try:
            slot = await asyncio.wait_for(
                gate.ask(kind=kind, step=step, owner=owner, cost=cost_of(kind, message)),
                timeout=ASK_TIMEOUT_S,
            )
        except (RedisError, OSError, TimeoutError) as exc:
            logger.warning(
                "not sending alert_id=%s step=%s: cannot ask Redis for its %s slot (%s: %s); "
                "again in %.0fs",
                alert_id,
                step_index,
                kind,
                type(exc).__name__,
                exc,
                UNREACHABLE_RETRY_S,
            )
            raise WaitForSlot(
                f"Redis unreachable, {kind} not sent", UNREACHABLE_RETRY_S, counts_as_try=True
            ) from exc
        if slot.go:
            return
        if slot.held_elsewhere:
            logger.info("alert_id=%s step=%s: %s; this job ends", alert_id, step_index, slot.reason)
            raise SlotHeldElsewhere(slot.reason)
        if slot.wait_s > SLEEP_IN_JOB_S:
            logger.debug("alert_id=%s step=%s waits: %s", alert_id, step_index, slot.reason)
            raise WaitForSlot(slot.reason, slot.wait_s)
        await asyncio.sleep(slot.wait_s)
    raise WaitForSlot(slot.reason, max(slot.wait_s, 0.05))


async def keep_distance(gate: SendGate | None, *, kind: str, message: OutboundMessage) -> None:
    """Right before a granted send goes out: wait (a fraction of a second, in the job) until it
    is the rate's distance from the sends actually made. Never refuses: the slot was granted;
    if Redis cannot be asked now, the send goes (the grant already held the rate)."""
    if gate is None or not gate.limited(kind):
        return
    cost = cost_of(kind, message)
    deadline = asyncio.get_running_loop().time() + MAX_DISTANCE_WAIT_S
    try:
        while (
            wait := await asyncio.wait_for(gate.space(kind=kind, cost=cost), WIRE_TIMEOUT_S)
        ) > 0:
            if asyncio.get_running_loop().time() + wait > deadline:
                logger.warning(
                    "attempt_id=%s: sent %.2fs early at the wire", message.attempt_id, wait
                )
                return
            await asyncio.sleep(wait)
    except (RedisError, OSError, TimeoutError) as exc:
        logger.warning(
            "attempt_id=%s: slot granted, Redis gone before the wire check (%s); sending",
            message.attempt_id,
            type(exc).__name__,
        )
