"""A discrete-event simulation of one day of agent-offering voice alerts, with and without pacing.

The simulation drives the real pacing code (``decide_release_rate``, ``Pacer``, ``OutcomeWindow``)
against a simulated centre, so the effect of pacing on the people who press 1 can be measured.

Model (every number is a ``Scenario`` field):

* ``recipients`` alerts are waiting at the start of the day; nothing is released after
  ``day_s``. Releases are spaced by a ``Pacer``: at the provider's calls-per-second limit with
  pacing off, at the rate ``decide_release_rate`` re-decides every ``decision_interval_s`` from
  the live centre state and the outcomes learned so far with pacing on.
* A call is answered by a person with probability ``p_human`` after a ring time uniform in
  ``answer_delay_s``; otherwise it ends (no answer, busy, voicemail) after ``no_answer_after_s``.
  A person hears ``message_s`` of message, then asks for an agent with probability ``p_agent``
  (a live transfer) or hangs up. Each outcome is learned when the call ends or transfers.
* Transfers wait in one FIFO queue for ``agents`` agents (all logged in all day). A waiting
  caller hangs up after an exponentially distributed patience with mean ``patience_mean_s``.
* Handle time is lognormal with mean ``aht_s`` and coefficient of variation ``handle_time_cv``
  (call-centre handle times are right-skewed), or exponential with mean ``aht_s`` (Erlang C's own
  assumption) when ``handle_time="exponential"``. Agents keep answering the queue after the
  day ends until it is empty; occupancy is measured over the working day only.
* Random streams are seeded from ``seed``: the fates of the i-th call and of the i-th transfer
  are the same in both modes (common random numbers), so the comparison is like for like.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import JsonValue

from callcentre.outcomes import CallOutcome, OutcomeWindow
from callcentre.pacing import CentreState, Pacer, PacingPolicy, decide_release_rate
from callcentre.simulation_report import DayReport, build_report

__all__ = ["DEFAULT_POLICY", "DayReport", "Scenario", "compare", "run_day"]

DAY_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # the simulated clock's origin (a Monday)

# Tuned on the default scenario (tests/unit/callcentre/test_simulation.py checks the outcome):
# plan on the full transfer rate Erlang C allows at the industry's "80/20" (80% of transfers
# answered within 20 s), and drain a queue within a minute. Erlang C ignores that waiting callers
# hang up (which shortens the wait of those who stay), so it already errs on the safe side: over
# seeds 0-4, lognormal or exponential handle times, this gives 1.6-2.3% abandoned transfers and
# 83-85% occupancy; a headroom of 0.95 buys ~0.9% abandoned for ~81% occupancy.
DEFAULT_POLICY = PacingPolicy(
    target_answer_s=20.0,
    service_level_target=0.8,
    calls_per_second=5.0,
    headroom=1.0,
    queue_drain_s=60.0,
)


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything a simulated day depends on. The defaults: demand far above capacity."""

    recipients: int = 40_000
    agents: int = 50
    day_s: float = 8 * 3600.0
    aht_s: float = 240.0
    handle_time: Literal["lognormal", "exponential"] = "lognormal"
    handle_time_cv: float = 0.6  # lognormal only: standard deviation / mean
    p_human: float = 0.6
    p_agent: float = 0.25
    answer_delay_s: tuple[float, float] = (5.0, 20.0)
    no_answer_after_s: float = 30.0
    message_s: float = 30.0
    patience_mean_s: float = 60.0
    decision_interval_s: float = 5.0
    outcome_window: int = 1000
    seed: int = 2026
    policy: PacingPolicy = field(default_factory=lambda: DEFAULT_POLICY)

    def __post_init__(self) -> None:
        if self.recipients < 0 or self.agents < 0:
            raise ValueError("recipients and agents must be >= 0")
        if not (self.day_s > 0 and self.aht_s > 0 and self.decision_interval_s > 0):
            raise ValueError("day_s, aht_s and decision_interval_s must be > 0")
        if not (0 <= self.p_human <= 1 and 0 <= self.p_agent <= 1):
            raise ValueError("p_human and p_agent must be probabilities")
        if self.handle_time not in ("lognormal", "exponential"):
            raise ValueError(f"handle_time must be lognormal or exponential: {self.handle_time!r}")
        low, high = self.answer_delay_s
        if not 0 <= low <= high:
            raise ValueError(
                f"answer_delay_s must be (low, high) with 0 <= low <= high: {low, high}"
            )
        if self.patience_mean_s <= 0 or self.handle_time_cv <= 0:
            raise ValueError("patience_mean_s and handle_time_cv must be > 0")

    def to_dict(self) -> dict[str, JsonValue]:
        data = asdict(self)
        data["answer_delay_s"] = list(self.answer_delay_s)
        return data


# Event kinds, in the order they are handled when they fall on the same instant.
_TICK, _SERVICE_END, _ABANDON, _OUTCOME, _TRANSFER, _RELEASE = range(6)
_WAITING, _SERVED, _ABANDONED = range(3)


class _Day:
    """The mutable state of one simulated day. ``run_day`` is its only user."""

    def __init__(self, scenario: Scenario, pacing: bool) -> None:
        self.sc = scenario
        self.pacing = pacing
        seed = scenario.seed
        self.fate_rng = random.Random(seed * 4 + 1)  # per call: person? agent? ring time
        self.patience_rng = random.Random(seed * 4 + 2)  # per transfer
        self.handle_rng = random.Random(seed * 4 + 3)  # per answered transfer
        sigma2 = math.log1p(scenario.handle_time_cv**2)
        self.ln_sigma = math.sqrt(sigma2)
        self.ln_mu = math.log(scenario.aht_s) - sigma2 / 2
        self.events: list[tuple[float, int, int, int]] = []
        self.seq = 0
        self.handled_events = 0
        # releasing
        self.pacer = Pacer()
        self.rate = 0.0 if pacing else scenario.policy.calls_per_second
        self.release_gen = 0
        self.placed = 0
        self.batch_done_at: float | None = None
        self.window = OutcomeWindow(max_outcomes=scenario.outcome_window)
        self.decisions = 0
        self.rate_samples: list[tuple[float, float]] = []
        # the centre
        self.idle = scenario.agents
        self.queue: deque[int] = deque()
        self.queued = 0
        self.arrival: list[float] = []
        self.status: list[int] = []
        self.waits: list[float] = []
        self.abandoned = 0
        self.answered_by_person = 0
        self.service_spans: list[tuple[float, float]] = []
        self.placed_at: list[float] = []

    # -- the event queue ---------------------------------------------------------------------
    def push(self, at: float, kind: int, arg: int = 0) -> None:
        self.seq += 1
        heapq.heappush(self.events, (at, kind, self.seq, arg))

    def clock(self, at: float) -> datetime:
        return DAY_START + timedelta(seconds=at)

    def run(self) -> None:
        if self.pacing:
            self.push(0.0, _TICK)
        else:  # one fixed rate all day: the provider's limit
            self.rate_samples.append((0.0, self.rate))
            self.push(0.0, _RELEASE, self.release_gen)
        handlers = {
            _TICK: self.on_tick,
            _SERVICE_END: self.on_service_end,
            _ABANDON: self.on_abandon,
            _OUTCOME: self.on_outcome,
            _TRANSFER: self.on_transfer,
            _RELEASE: self.on_release,
        }
        while self.events:
            at, kind, _seq, arg = heapq.heappop(self.events)
            self.handled_events += 1
            handlers[kind](at, arg)

    # -- releasing calls ---------------------------------------------------------------------
    def releasing(self, at: float) -> bool:
        return at < self.sc.day_s and self.placed < self.sc.recipients

    def on_tick(self, at: float, _arg: int) -> None:
        if not self.releasing(at):
            return
        decision = decide_release_rate(
            state=self.centre_state(at),
            stats=self.window.stats(self.clock(at)),
            policy=self.sc.policy,
            now=self.clock(at),
        )
        self.decisions += 1
        self.rate_samples.append((at, decision.rate_per_s))
        self.rate = decision.rate_per_s
        self.release_gen += 1  # supersede the pending release: it was timed for the old rate
        self.push(at, _RELEASE, self.release_gen)
        self.push(at + self.sc.decision_interval_s, _TICK)

    def centre_state(self, at: float) -> CentreState:
        while self.queue and self.status[self.queue[0]] != _WAITING:
            self.queue.popleft()
        longest = at - self.arrival[self.queue[0]] if self.queue else 0.0
        return CentreState(
            agents_available=self.idle,
            agents_logged_in=self.sc.agents,
            queue_length=self.queued,
            longest_wait_s=longest,
            aht_s=self.sc.aht_s,
            open=at < self.sc.day_s,
        )

    def on_release(self, at: float, gen: int) -> None:
        if gen != self.release_gen or not self.releasing(at):
            return
        step = self.pacer.allow(now=self.clock(at), rate_per_s=self.rate)
        self.pacer = step.pacer
        if step.allowed:
            self.place_call(at)
            if self.placed == self.sc.recipients:
                self.batch_done_at = at
                return
        if math.isfinite(step.wait_s):
            self.push(at + step.wait_s, _RELEASE, gen)

    def place_call(self, at: float) -> None:
        sc = self.sc
        self.placed += 1
        self.placed_at.append(at)
        # Always three draws per call, so call i has the same fate in both modes.
        person = self.fate_rng.random() < sc.p_human
        agent = self.fate_rng.random() < sc.p_agent
        ring = self.fate_rng.uniform(*sc.answer_delay_s)
        if not person:
            self.push(at + sc.no_answer_after_s, _OUTCOME, 0)
        elif not agent:
            self.push(at + ring + sc.message_s, _OUTCOME, 1)
        else:
            self.push(at + ring + sc.message_s, _TRANSFER)

    def on_outcome(self, at: float, answered: int) -> None:
        self.answered_by_person += answered
        self.window.add(CallOutcome(self.clock(at), bool(answered), False))

    # -- the centre --------------------------------------------------------------------------
    def on_transfer(self, at: float, _arg: int) -> None:
        self.answered_by_person += 1
        self.window.add(CallOutcome(self.clock(at), True, True))
        tid = len(self.arrival)
        self.arrival.append(at)
        self.status.append(_WAITING)
        patience = self.patience_rng.expovariate(1.0 / self.sc.patience_mean_s)
        if self.idle:
            self.idle -= 1
            self.start_service(tid, at)
            return
        self.queue.append(tid)
        self.queued += 1
        self.push(at + patience, _ABANDON, tid)

    def on_abandon(self, at: float, tid: int) -> None:
        if self.status[tid] == _WAITING:
            self.status[tid] = _ABANDONED
            self.abandoned += 1
            self.queued -= 1

    def on_service_end(self, at: float, _arg: int) -> None:
        while self.queue:
            tid = self.queue.popleft()
            if self.status[tid] == _WAITING:
                self.queued -= 1
                self.start_service(tid, at)
                return
        self.idle += 1

    def start_service(self, tid: int, at: float) -> None:
        self.status[tid] = _SERVED
        self.waits.append(at - self.arrival[tid])
        if self.sc.handle_time == "exponential":
            handle = self.handle_rng.expovariate(1.0 / self.sc.aht_s)
        else:
            handle = self.handle_rng.lognormvariate(self.ln_mu, self.ln_sigma)
        self.service_spans.append((at, at + handle))
        self.push(at + handle, _SERVICE_END)


def run_day(scenario: Scenario, pacing: bool) -> DayReport:
    """Simulate one day of ``scenario`` with pacing on or off; deterministic for a seed."""
    day = _Day(scenario, pacing)
    day.run()
    return build_report(
        scenario_day_s=scenario.day_s,
        agents=scenario.agents,
        recipients=scenario.recipients,
        target_answer_s=scenario.policy.target_answer_s,
        pacing=pacing,
        placed_at=day.placed_at,
        answered_by_person=day.answered_by_person,
        arrivals=day.arrival,
        waits=day.waits,
        abandoned=day.abandoned,
        service_spans=day.service_spans,
        batch_done_at=day.batch_done_at,
        decisions=day.decisions,
        rate_samples=day.rate_samples,
        events=day.handled_events,
    )


def compare(scenario: Scenario | None = None) -> dict[str, dict[str, JsonValue]]:
    """Run the day with pacing off and on; a JSON-able summary of both and of the scenario."""
    scenario = scenario if scenario is not None else Scenario()
    result = {"scenario": scenario.to_dict()}
    for pacing, key in ((False, "pacing_off"), (True, "pacing_on")):
        started = time.perf_counter()
        report = run_day(scenario, pacing)
        summary = report.to_dict()
        summary["wall_time_s"] = round(time.perf_counter() - started, 3)
        result[key] = summary
    return result
