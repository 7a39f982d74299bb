"""What recent voice alerts of one type led to: P(answered by a person), P(chose the agent)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["CallOutcome", "OutcomeStats", "OutcomeWindow"]

LAPLACE_PRIOR = 0.5
LAPLACE_WEIGHT = 2.0


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """One finished voice alert: was it answered by a person, and did they ask for an agent."""

    at: datetime
    answered_by_person: bool
    chose_agent: bool

    def __post_init__(self) -> None:
        if self.chose_agent and not self.answered_by_person:
            raise ValueError("a call can only choose the agent if a person answered it")


@dataclass(frozen=True, slots=True)
class OutcomeStats:
    """Counts of recent outcomes for one alert type, with a Beta prior so few data still work.

    ``p_human = (answered + prior_human * w) / (calls + w)`` and
    ``p_agent = (chose_agent + prior_agent * w) / (answered + w)``: the posterior means of a
    Beta(prior * w, (1 - prior) * w) prior. The defaults (prior 0.5, weight 2) are Laplace's rule
    of succession: with no data both estimates are 1/2, which paces cautiously until outcomes
    arrive; an administrator who knows the alert type can set a better prior.
    """

    calls: int = 0
    answered_by_person: int = 0
    chose_agent: int = 0
    prior_human: float = LAPLACE_PRIOR
    prior_agent: float = LAPLACE_PRIOR
    prior_weight: float = LAPLACE_WEIGHT

    def __post_init__(self) -> None:
        if not 0 <= self.chose_agent <= self.answered_by_person <= self.calls:
            raise ValueError(
                "outcome counts must satisfy 0 <= chose_agent <= answered_by_person <= calls, "
                f"got {self.chose_agent}, {self.answered_by_person}, {self.calls}"
            )
        for name, prior in (("prior_human", self.prior_human), ("prior_agent", self.prior_agent)):
            if not 0.0 < prior < 1.0:
                raise ValueError(f"{name} must be strictly between 0 and 1, got {prior!r}")
        if not self.prior_weight > 0:
            raise ValueError(f"prior_weight must be > 0, got {self.prior_weight!r}")

    @classmethod
    def from_outcomes(
        cls,
        outcomes: Iterable[CallOutcome],
        *,
        now: datetime,
        window: timedelta | None = None,
        prior_human: float = LAPLACE_PRIOR,
        prior_agent: float = LAPLACE_PRIOR,
        prior_weight: float = LAPLACE_WEIGHT,
    ) -> OutcomeStats:
        """Count the outcomes no older than ``window`` before ``now`` (all of them if None)."""
        since = None if window is None else now - window
        calls = answered = agent = 0
        for outcome in outcomes:
            if outcome.at > now or (since is not None and outcome.at < since):
                continue
            calls += 1
            answered += outcome.answered_by_person
            agent += outcome.chose_agent
        return cls(calls, answered, agent, prior_human, prior_agent, prior_weight)

    def p_human(self) -> float:
        """Estimated probability that a placed call is answered by a person."""
        weight = self.prior_weight
        return (self.answered_by_person + self.prior_human * weight) / (self.calls + weight)

    def p_agent(self) -> float:
        """Estimated probability that a person who answered asks for an agent."""
        weight = self.prior_weight
        return (self.chose_agent + self.prior_agent * weight) / (self.answered_by_person + weight)

    def transfer_probability(self) -> float:
        """Estimated transfers per placed call: P(human) x P(agent)."""
        return self.p_human() * self.p_agent()

    def describe(self) -> str:
        basis = "prior only" if self.calls == 0 else f"{self.calls} recent outcomes"
        return (
            f"P(person) {self.p_human():.3f} x P(agent) {self.p_agent():.3f} "
            f"= {self.transfer_probability():.3f} transfers per call ({basis})"
        )


class OutcomeWindow:
    """A sliding window of the latest outcomes, for a long-running process or the simulation.

    Keeps at most ``max_outcomes`` outcomes no older than ``max_age``; adding and taking a
    snapshot are O(1) amortised. This is bookkeeping, not a decision: ``stats(now)`` returns the
    immutable ``OutcomeStats`` that pacing decides on. A database-backed caller can use
    ``OutcomeStats.from_outcomes`` over a query of recent outcomes instead.
    """

    def __init__(
        self,
        *,
        max_outcomes: int = 1000,
        max_age: timedelta | None = timedelta(hours=1),
        prior_human: float = LAPLACE_PRIOR,
        prior_agent: float = LAPLACE_PRIOR,
        prior_weight: float = LAPLACE_WEIGHT,
    ) -> None:
        if max_outcomes < 1:
            raise ValueError(f"max_outcomes must be >= 1, got {max_outcomes}")
        self._max_outcomes = max_outcomes
        self._max_age = max_age
        self._priors = (prior_human, prior_agent, prior_weight)
        self._outcomes: deque[CallOutcome] = deque()
        self._answered = 0
        self._agent = 0
        OutcomeStats(0, 0, 0, *self._priors)  # validate the priors now, not at the first snapshot

    def __len__(self) -> int:
        return len(self._outcomes)

    def add(self, outcome: CallOutcome) -> None:
        """Record an outcome (in time order); the oldest drops out once the window is full."""
        self._outcomes.append(outcome)
        self._answered += outcome.answered_by_person
        self._agent += outcome.chose_agent
        if len(self._outcomes) > self._max_outcomes:
            self._drop_oldest()

    def stats(self, now: datetime) -> OutcomeStats:
        """The counts of the outcomes still in the window at ``now``."""
        if self._max_age is not None:
            since = now - self._max_age
            while self._outcomes and self._outcomes[0].at < since:
                self._drop_oldest()
        return OutcomeStats(len(self._outcomes), self._answered, self._agent, *self._priors)

    def _drop_oldest(self) -> None:
        oldest = self._outcomes.popleft()
        self._answered -= oldest.answered_by_person
        self._agent -= oldest.chose_agent
