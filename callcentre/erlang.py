"""Erlang C queueing formulas: probability of waiting, service level, ASA, occupancy, capacity.

The model is M/M/N: transfers arrive as a Poisson stream at ``arrival_rate_per_s``, each holds one
of ``agents`` for an exponentially distributed time with mean ``aht_s``, and callers wait in one
FIFO queue without hanging up. The offered traffic is ``A = arrival_rate_per_s * aht_s`` Erlangs.

    P(wait)   C(N, A) = N B(N, A) / (N - A (1 - B(N, A)))          for A < N, else 1
    SL(t)     1 - C(N, A) exp(-(N - A) t / AHT)                     share answered within t
    ASA       C(N, A) AHT / (N - A)                                 mean wait over all calls
    occupancy A / N

``B(N, A)`` is Erlang B, computed by the recursion ``B(0) = 1, B(k) = A B(k-1) / (k + A B(k-1))``
so no factorial or power of ``A`` is ever formed: every intermediate value stays in [0, 1] and the
result is stable for thousands of agents, where the textbook sum of ``A**k / k!`` overflows.

Because callers in a real centre do hang up, Erlang C over-states waiting a little: it is the
conservative side to plan transfers on. All functions are pure and cheap (O(N)).
"""

from __future__ import annotations

import math
from functools import lru_cache

__all__ = [
    "average_speed_of_answer",
    "erlang_b",
    "erlang_c",
    "max_arrival_rate",
    "occupancy",
    "service_level",
    "traffic",
]

_BISECTION_STEPS = 64


def _check_agents(agents: int) -> None:
    if isinstance(agents, bool) or not isinstance(agents, int) or agents < 0:
        raise ValueError(f"agents must be a whole number >= 0, got {agents!r}")


def _check_non_negative(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def traffic(arrival_rate_per_s: float, aht_s: float) -> float:
    """Offered load in Erlangs: arrivals per second times average handle time in seconds."""
    _check_non_negative("arrival_rate_per_s", arrival_rate_per_s)
    _check_non_negative("aht_s", aht_s)
    return arrival_rate_per_s * aht_s


def erlang_b(agents: int, traffic_erlangs: float) -> float:
    """Blocking probability of a loss system with ``agents`` servers (Erlang B), by recursion."""
    _check_agents(agents)
    _check_non_negative("traffic_erlangs", traffic_erlangs)
    blocking = 1.0
    for k in range(1, agents + 1):
        blocking = traffic_erlangs * blocking / (k + traffic_erlangs * blocking)
    return blocking


def erlang_c(agents: int, traffic_erlangs: float) -> float:
    """Probability that a transfer has to wait for an agent (Erlang C), in [0, 1].

    An unstable centre (traffic >= agents: the queue grows without bound) returns 1.0.
    """
    _check_agents(agents)
    _check_non_negative("traffic_erlangs", traffic_erlangs)
    if traffic_erlangs >= agents:
        return 1.0
    if traffic_erlangs == 0:
        return 0.0
    blocking = erlang_b(agents, traffic_erlangs)
    waiting = agents * blocking / (agents - traffic_erlangs * (1.0 - blocking))
    return min(1.0, max(0.0, waiting))


def service_level(
    agents: int, arrival_rate_per_s: float, aht_s: float, target_answer_s: float
) -> float:
    """Share of transfers answered within ``target_answer_s`` (e.g. 0.8 for "80/20"), in [0, 1]."""
    _check_non_negative("target_answer_s", target_answer_s)
    load = traffic(arrival_rate_per_s, aht_s)
    waiting = erlang_c(agents, load)
    if load >= agents:
        return 0.0
    if waiting == 0.0:
        return 1.0
    if aht_s == 0:  # handled in no time: any wait is zero
        return 1.0
    return max(0.0, 1.0 - waiting * math.exp(-(agents - load) * target_answer_s / aht_s))


def average_speed_of_answer(agents: int, arrival_rate_per_s: float, aht_s: float) -> float:
    """Mean wait in seconds over all transfers (answered at once counts as 0); inf if unstable."""
    load = traffic(arrival_rate_per_s, aht_s)
    if load >= agents:
        return math.inf
    return erlang_c(agents, load) * aht_s / (agents - load)


def occupancy(agents: int, arrival_rate_per_s: float, aht_s: float) -> float:
    """Share of logged-in agent time spent handling transfers, capped at 1 (0 with no agents)."""
    _check_agents(agents)
    load = traffic(arrival_rate_per_s, aht_s)
    if agents == 0:
        return 0.0
    return min(1.0, load / agents)


@lru_cache(maxsize=4096)
def max_arrival_rate(
    agents: int, aht_s: float, target_answer_s: float, service_level_target: float
) -> float:
    """The highest transfer arrival rate (per second) at which ``agents`` still answer
    ``service_level_target`` of transfers within ``target_answer_s`` seconds.

    Found by bisection on the arrival rate over [0, agents / aht_s): the service level falls
    monotonically as the rate rises. The returned rate always meets the target (the lower end of
    the final bracket). The target must be below 1: every positive rate makes someone wait.
    """
    _check_agents(agents)
    _check_non_negative("target_answer_s", target_answer_s)
    if not (isinstance(aht_s, int | float) and math.isfinite(aht_s) and aht_s > 0):
        raise ValueError(f"aht_s must be a finite number > 0, got {aht_s!r}")
    if not (0.0 < service_level_target < 1.0):
        raise ValueError(f"service_level_target must be in (0, 1), got {service_level_target!r}")
    if agents == 0:
        return 0.0
    low, high = 0.0, agents / aht_s  # at `high` the centre is unstable: SL = 0
    for _ in range(_BISECTION_STEPS):
        middle = (low + high) / 2
        if service_level(agents, middle, aht_s, target_answer_s) >= service_level_target:
            low = middle
        else:
            high = middle
    return low
