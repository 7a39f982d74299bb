"""Pacing of voice alerts that offer an agent: how fast to release them, and when each one goes.

Every released call becomes a live transfer with probability P(person answers) x P(asks for an
agent). ``decide_release_rate`` picks the release rate whose expected transfers fit inside the
transfer rate Erlang C says the logged-in agents can answer at the service-level target, less
what the queue already waiting needs, and never above the provider's calls-per-second limit.
``Pacer`` turns that rate into evenly spaced release instants. Both are pure: the clock, the
centre's live state and the learned outcome statistics are passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from callcentre.erlang import max_arrival_rate
from callcentre.outcomes import CallOutcome, OutcomeStats, OutcomeWindow

__all__ = [
    "CallOutcome",
    "CentreState",
    "OutcomeStats",
    "OutcomeWindow",
    "Pacer",
    "PacerStep",
    "PacingDecision",
    "PacingPolicy",
    "decide_release_rate",
]

# Limits named in PacingDecision.limited_by (stable keys for the admin timeline).
LIMIT_CLOSED = "closed"
LIMIT_NO_AGENTS = "no_agents"
LIMIT_QUEUE = "queue"
LIMIT_CAPACITY = "capacity"
LIMIT_CALLS_PER_SECOND = "calls_per_second"

_TOKEN_SLACK = 1e-6  # absorbs datetime's microsecond rounding when a release lands on time


@dataclass(frozen=True, slots=True)
class CentreState:
    """A snapshot of the call centre as pacing sees it."""

    agents_available: int  # logged in and idle right now
    agents_logged_in: int  # logged in: idle, talking or in wrap-up
    queue_length: int  # transfers waiting for an agent
    longest_wait_s: float  # how long the oldest waiting transfer has waited
    aht_s: float  # average handle time of a transfer, wrap-up included
    open: bool
    other_arrivals_per_s: float = 0.0  # transfers the agents also take (inbound, other alerts)

    def __post_init__(self) -> None:
        if not 0 <= self.agents_available <= self.agents_logged_in:
            raise ValueError(
                f"need 0 <= agents_available ({self.agents_available}) "
                f"<= agents_logged_in ({self.agents_logged_in})"
            )
        if self.queue_length < 0 or self.longest_wait_s < 0 or self.other_arrivals_per_s < 0:
            raise ValueError("queue_length, longest_wait_s and other_arrivals_per_s must be >= 0")
        if not (math.isfinite(self.aht_s) and self.aht_s > 0):
            raise ValueError(f"aht_s must be a finite number > 0, got {self.aht_s!r}")


@dataclass(frozen=True, slots=True)
class PacingPolicy:
    """How cautiously to pace: the service the agents must give, and the provider's limit.

    ``headroom`` is the share of the Erlang C transfer capacity to plan on (below 1 absorbs the
    randomness of who answers and the delay between releasing a call and its transfer);
    ``queue_drain_s`` is how soon the transfers already queued should be answered: their load,
    ``queue_length / queue_drain_s`` transfers per second, is taken off the capacity first.
    """

    target_answer_s: float = 20.0
    service_level_target: float = 0.8
    calls_per_second: float = 1.0  # Twilio's default outbound limit per account
    headroom: float = 0.9
    queue_drain_s: float = 60.0

    def __post_init__(self) -> None:
        if self.target_answer_s < 0:
            raise ValueError(f"target_answer_s must be >= 0, got {self.target_answer_s!r}")
        if not 0.0 < self.service_level_target < 1.0:
            raise ValueError(
                f"service_level_target must be in (0, 1), got {self.service_level_target!r}"
            )
        if not self.calls_per_second > 0:
            raise ValueError(f"calls_per_second must be > 0, got {self.calls_per_second!r}")
        if not 0.0 < self.headroom <= 1.0:
            raise ValueError(f"headroom must be in (0, 1], got {self.headroom!r}")
        if not self.queue_drain_s > 0:
            raise ValueError(f"queue_drain_s must be > 0, got {self.queue_drain_s!r}")


@dataclass(frozen=True, slots=True)
class PacingDecision:
    """The release rate for one alert type, what limited it, and why (shown in the timeline)."""

    rate_per_s: float
    reason: str
    limited_by: str
    decided_at: datetime
    transfer_capacity_per_s: float = 0.0  # transfers/s left for these alerts after the queue
    transfer_probability: float = 0.0  # expected transfers per released call
    expected_transfers_per_s: float = 0.0  # rate_per_s x transfer_probability


def decide_release_rate(
    *, state: CentreState, stats: OutcomeStats, policy: PacingPolicy, now: datetime
) -> PacingDecision:
    """The highest release rate whose expected transfers the agents can absorb at the target."""
    if not state.open:
        return PacingDecision(
            0.0,
            "paused: the call centre is closed, so no alert offering an agent is released",
            LIMIT_CLOSED,
            now,
        )
    agents = state.agents_logged_in
    if agents == 0:
        return PacingDecision(
            0.0, "paused: no agents are logged in to take transfers", LIMIT_NO_AGENTS, now
        )

    sl_text = f"{policy.service_level_target:.0%} answered in {policy.target_answer_s:g} s"
    erlang_rate = max_arrival_rate(
        agents, state.aht_s, policy.target_answer_s, policy.service_level_target
    )
    planned = erlang_rate * policy.headroom
    queue_need = state.queue_length / policy.queue_drain_s
    capacity = planned - queue_need - state.other_arrivals_per_s
    capacity_text = (
        f"{agents} agents ({state.agents_available} free), AHT {state.aht_s:g} s: "
        f"Erlang C allows {erlang_rate:.3f} transfers/s at {sl_text}, "
        f"x headroom {policy.headroom:g} = {planned:.3f}/s"
    )
    if state.queue_length:
        capacity_text += (
            f", less {queue_need:.3f}/s for the {state.queue_length} queued "
            f"(longest wait {state.longest_wait_s:.0f} s, drained over {policy.queue_drain_s:g} s)"
        )
    if state.other_arrivals_per_s:
        capacity_text += f", less {state.other_arrivals_per_s:.3f}/s of other transfers"
    p_transfer = stats.transfer_probability()
    if capacity <= 0:
        return PacingDecision(
            0.0,
            f"paused: no transfer capacity left - {capacity_text} = {capacity:.3f}/s",
            LIMIT_QUEUE,
            now,
            transfer_capacity_per_s=0.0,
            transfer_probability=p_transfer,
        )

    rate = capacity / p_transfer
    limited_by = LIMIT_CAPACITY
    if rate > policy.calls_per_second:
        rate = policy.calls_per_second
        limited_by = LIMIT_CALLS_PER_SECOND
    expected = rate * p_transfer
    if limited_by == LIMIT_CALLS_PER_SECOND:
        verdict = (
            f"capped at the provider limit of {policy.calls_per_second:g} calls/s "
            f"(capacity would allow {capacity / p_transfer:.2f}/s)"
        )
    else:
        verdict = f"{capacity:.3f} / {p_transfer:.3f} = {rate:.2f} calls/s"
    reason = (
        f"releasing {rate:.2f} calls/s, expecting {expected:.3f} transfers/s: "
        f"{capacity_text}; {stats.describe()}; {verdict}"
    )
    return PacingDecision(
        rate,
        reason,
        limited_by,
        now,
        transfer_capacity_per_s=capacity,
        transfer_probability=p_transfer,
        expected_transfers_per_s=expected,
    )


@dataclass(frozen=True, slots=True)
class PacerStep:
    """The answer to "may one call go now?": the pacer's next state, and the wait otherwise."""

    allowed: bool
    pacer: Pacer
    wait_s: float  # until the next release may go (0 if one may go at once; inf if paused)
    reason: str


@dataclass(frozen=True, slots=True)
class Pacer:
    """A token bucket that turns a release rate into evenly spaced release instants.

    Tokens accrue continuously at the current rate up to ``burst``; each release spends one. With
    the default ``burst`` of 1 releases are spaced exactly ``1 / rate`` apart, so a rate of
    5 calls/s is one call every 200 ms, not 300 calls at the top of each minute. The bucket is a
    value: every method returns the next state instead of changing this one. A change of rate
    applies from the last update onward.
    """

    tokens: float = 1.0
    updated_at: datetime | None = None
    burst: float = 1.0

    def __post_init__(self) -> None:
        if not self.burst >= 1.0:
            raise ValueError(f"burst must be >= 1, got {self.burst!r}")

    def _refill(self, now: datetime, rate_per_s: float) -> float:
        if self.updated_at is None:
            return min(self.burst, self.tokens)
        elapsed = max(0.0, (now - self.updated_at).total_seconds())
        return min(self.burst, self.tokens + elapsed * max(0.0, rate_per_s))

    def allow(self, *, now: datetime, rate_per_s: float) -> PacerStep:
        """Whether one call may be released at ``now``; the returned pacer has spent the token."""
        if not rate_per_s > 0:
            paused = replace(self, tokens=self._refill(now, 0.0), updated_at=now)
            return PacerStep(False, paused, math.inf, "paused: the release rate is 0")
        tokens = self._refill(now, rate_per_s)
        if tokens + _TOKEN_SLACK >= 1.0:
            left = max(0.0, tokens - 1.0)
            wait = 0.0 if left >= 1.0 else (1.0 - left) / rate_per_s
            return PacerStep(
                True,
                replace(self, tokens=left, updated_at=now),
                wait,
                f"released at {rate_per_s:.2f} calls/s; next in {wait:.3f} s",
            )
        wait = (1.0 - tokens) / rate_per_s
        return PacerStep(
            False,
            replace(self, tokens=tokens, updated_at=now),
            wait,
            f"held: at {rate_per_s:.2f} calls/s the next release is due in {wait:.3f} s",
        )

    def next_release_times(
        self, *, count: int, rate_per_s: float, now: datetime
    ) -> tuple[tuple[datetime, ...], Pacer]:
        """The instants at which the next ``count`` calls may go, and the pacer after them.

        Empty (and the pacer unchanged but for the refill) when the rate is 0.
        """
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        if not rate_per_s > 0 or count == 0:
            return (), replace(self, tokens=self._refill(now, rate_per_s), updated_at=now)
        tokens = self._refill(now, rate_per_s)
        spacing = 1.0 / rate_per_s
        instants: list[datetime] = []
        at_s = 0.0  # seconds after `now` of the next release
        for _ in range(count):
            if tokens + _TOKEN_SLACK < 1.0:
                at_s += (1.0 - tokens) * spacing
                tokens = 1.0
            tokens = max(0.0, tokens - 1.0)
            instants.append(now + timedelta(seconds=at_s))
        return tuple(instants), replace(self, tokens=tokens, updated_at=instants[-1])
