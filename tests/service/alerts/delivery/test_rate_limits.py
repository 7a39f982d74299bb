"""The provider rate-limit bucket against a real private Redis: the rate held, bursts, the waits
it hands out, separate senders, one slot per step, and no send while Redis cannot be asked."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from alerts.delivery.rate_limits import (
    Bucket,
    RedisSendGate,
    SlotHeldElsewhere,
    WaitForSlot,
    job_scope,
    limits_for,
    wait_for_slot,
)
from channels.base import OutboundMessage


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


def _gate(
    redis: Redis, per_second: float, burst: int = 1, sender: str = "+15550001"
) -> RedisSendGate:
    buckets = limits_for(
        account="AC1",
        sender=sender,
        kind="sms",
        account_per_second=0,
        sender_per_second=per_second,
        burst=burst,
    )
    return RedisSendGate(redis, {"sms": buckets})


def _sms(n: int, text: str = "Your balance is low") -> OutboundMessage:
    return OutboundMessage(attempt_id=n, alert_id=n, to="+15559990000", text=text)


async def _send_when_allowed(gate: RedisSendGate, step: int, granted: list[float]) -> None:
    """What a worker does: ask, wait what it is told (here: sleep), ask again, then send."""
    while True:
        slot = await gate.ask(kind="sms", step=f"{step}:0", owner=f"job{step}")
        if slot.go:
            granted.append(time.monotonic())
            return
        assert not slot.held_elsewhere
        await asyncio.sleep(slot.wait_s)


def _most_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + window) for i, start in enumerate(times))


async def test_the_rate_is_held_by_many_askers_at_once(redis: Redis) -> None:
    gate = _gate(redis, per_second=10)
    granted: list[float] = []
    started = time.monotonic()
    await asyncio.gather(*(_send_when_allowed(gate, n, granted) for n in range(25)))
    took = max(granted) - started
    assert len(granted) == 25
    # 25 sends at 10/s: the first at once, the last 2.4 s later at the earliest (never sooner).
    assert took >= 2.4 * 0.97, took
    assert took < 2.4 * 3, took  # and not held back for nothing (generous: a loaded machine)
    assert _most_in_window(granted, 1.0) <= 10 + 1  # at most the rate in any second (+1 edge)


async def test_a_burst_goes_at_once_then_the_rate(redis: Redis) -> None:
    gate = _gate(redis, per_second=1, burst=5)
    answers = [await gate.ask(kind="sms", step=f"{n}:0", owner=f"j{n}") for n in range(7)]
    assert [a.go for a in answers] == [True] * 5 + [False, False]
    # The 6th slot is one interval after the burst, the 7th one more.
    assert 0.8 <= answers[5].wait_s <= 1.0, answers[5]
    assert 1.8 <= answers[6].wait_s <= 2.0, answers[6]
    assert "rate limit" in answers[5].reason and "1/s" in answers[5].reason


async def test_waiting_steps_get_spread_slots_and_each_wakes_to_go(redis: Redis) -> None:
    gate = _gate(redis, per_second=4)
    first = [await gate.ask(kind="sms", step=f"{n}:0", owner=f"j{n}") for n in range(4)]
    assert first[0].go and not any(a.go for a in first[1:])
    waits = [a.wait_s for a in first[1:]]
    assert waits == sorted(waits)  # one slot each, spaced by the rate
    assert [round(w * 4) for w in waits] == [1, 2, 3]
    # Asking again early: still the same slot, not a new one further out.
    again = await gate.ask(kind="sms", step="3:0", owner="j3")
    assert not again.go and again.wait_s <= waits[2]
    await asyncio.sleep(waits[0] + 0.02)
    assert (await gate.ask(kind="sms", step="1:0", owner="j1")).go


async def test_senders_have_their_own_buckets_and_share_the_account(redis: Redis) -> None:
    one, two = _gate(redis, 1, sender="+15550001"), _gate(redis, 1, sender="+15550002")
    assert (await one.ask(kind="sms", step="1:0", owner="a")).go
    assert (await two.ask(kind="sms", step="2:0", owner="b")).go  # another number: its own
    assert not (await one.ask(kind="sms", step="3:0", owner="c")).go
    shared = limits_for(
        account="AC2", sender="+15550001", kind="sms", account_per_second=1, sender_per_second=5
    )
    other = limits_for(
        account="AC2", sender="+15550002", kind="sms", account_per_second=1, sender_per_second=5
    )
    a, b = RedisSendGate(redis, {"sms": shared}), RedisSendGate(redis, {"sms": other})
    assert (await a.ask(kind="sms", step="4:0", owner="d")).go
    waited = await b.ask(kind="sms", step="5:0", owner="e")  # the account's 1/s holds both
    assert not waited.go and 0.8 <= waited.wait_s <= 1.0


async def test_a_step_slot_belongs_to_the_job_that_asked(redis: Redis) -> None:
    gate = _gate(redis, per_second=1)
    assert (await gate.ask(kind="sms", step="1:0", owner="job-a")).go
    # A second job of the same step (e.g. queued again under another id) gets no slot while
    # the first may still be sending: it ends instead of sending the same text again.
    other = await gate.ask(kind="sms", step="1:0", owner="job-b")
    assert not other.go and other.held_elsewhere
    with job_scope("job-b"), pytest.raises(SlotHeldElsewhere):
        await wait_for_slot(gate, kind="sms", alert_id=1, step_index=0, message=_sms(1))
    # The job itself asking again (a retry after a provider's transient error) gets a new slot.
    again = await gate.ask(kind="sms", step="1:0", owner="job-a")
    assert not again.go and not again.held_elsewhere and again.wait_s > 0.5


async def test_a_long_sms_takes_its_segments(redis: Redis) -> None:
    gate = _gate(redis, per_second=2)
    with job_scope("j1"):
        await wait_for_slot(gate, kind="sms", alert_id=1, step_index=0, message=_sms(1, "x" * 400))
    slot = await gate.ask(kind="sms", step="2:0", owner="j2")
    assert not slot.go and 1.3 <= slot.wait_s <= 1.5, slot  # 3 segments at 2/s: 1.5 s


async def test_wait_for_slot_sends_back_on_the_job_or_sleeps_a_short_wait(redis: Redis) -> None:
    gate = _gate(redis, per_second=1)
    with job_scope("a"):
        await wait_for_slot(gate, kind="sms", alert_id=1, step_index=0, message=_sms(1))
    with job_scope("b"), pytest.raises(WaitForSlot) as waited:
        await wait_for_slot(gate, kind="sms", alert_id=2, step_index=0, message=_sms(2))
    assert 0.8 <= waited.value.defer_seconds <= 1.0 and not waited.value.counts_as_try
    fast = _gate(redis, per_second=5, sender="+15550003")
    started = time.monotonic()
    for n in range(3):  # 0.2 s apart: slept in the job, never re-queued
        with job_scope(f"f{n}"):
            await wait_for_slot(fast, kind="sms", alert_id=10 + n, step_index=0, message=_sms(n))
    assert time.monotonic() - started >= 0.38
    # A kind with no limit is never asked about.
    await wait_for_slot(gate, kind="email", alert_id=3, step_index=0, message=_sms(3))


async def test_no_send_while_redis_cannot_be_asked(caplog: pytest.LogCaptureFixture) -> None:
    dead = Redis(unix_socket_path="/tmp/herald-no-such-redis.sock")
    gate = RedisSendGate(dead, {"sms": (Bucket("herald:rate:AC1:+1:sms", 1.0),)})
    with caplog.at_level(logging.WARNING), pytest.raises(WaitForSlot) as waited:
        await wait_for_slot(gate, kind="sms", alert_id=7, step_index=0, message=_sms(7))
    assert waited.value.counts_as_try and waited.value.defer_seconds > 0
    assert "not sending alert_id=7" in caplog.text and "cannot ask Redis" in caplog.text
    await dead.aclose()


def test_the_runtime_wires_twilio_defaults_only_for_real_credentials(redis: Redis) -> None:
    from herald.config import Settings
    from herald.runtime import send_gate

    simulated = Settings(_env_file=None)
    assert send_gate(simulated, redis) is None  # the simulator has no limit of its own
    real = Settings(
        _env_file=None,
        twilio={"account_sid": "AC123", "auth_token": "t" * 32, "from_number": "+15550001"},
        smtp={"messages_per_second": 10},
    )
    gate = send_gate(real, redis)
    assert gate is not None
    assert [(b.key, b.per_second) for b in gate.limits["sms"]] == [
        ("herald:rate:AC123:+15550001:sms", 1.0)
    ]
    assert [(b.key, b.per_second) for b in gate.limits["voice"]] == [
        ("herald:rate:AC123:voice", 1.0)
    ]
    assert gate.limits["email"][0].per_second == 10
    off = Settings(
        _env_file=None,
        twilio={
            "account_sid": "AC123",
            "auth_token": "t" * 32,
            "sender_messages_per_second": 0,
            "calls_per_second": 0,
        },
    )
    assert send_gate(off, redis) is None  # 0 switches a limit off


async def test_a_wait_for_a_slot_gives_arq_its_try_back(redis: Redis) -> None:
    from alerts.delivery.jobs import _give_back_try

    await redis.set("arq:retry:step:1:0", 3)
    await _give_back_try({"redis": redis, "job_id": "step:1:0"})
    assert int(await redis.get("arq:retry:step:1:0")) == 2  # the next run is try 3 again
    await _give_back_try({"redis": redis, "job_id": "step:2:0"})  # no count (a lost key)
    assert await redis.get("arq:retry:step:2:0") is None  # not made negative
