"""Agents needed for a service level (Erlang C), for the reports: the smallest number of agents
that answers ``level`` of transfers within ``target_answer_s`` at a given arrival rate."""

from __future__ import annotations

import math

from callcentre.erlang import service_level, traffic

MAX_AGENTS = 10_000


def agents_needed(
    arrival_rate_per_s: float, aht_s: float, target_answer_s: float, level: float
) -> int | None:
    """The fewest agents for ``level`` (e.g. 0.8) answered within ``target_answer_s``; 0 with no
    traffic; None above ``MAX_AGENTS``."""
    load = traffic(arrival_rate_per_s, aht_s)
    if load == 0:
        return 0
    for agents in range(max(1, math.floor(load) + 1), MAX_AGENTS + 1):
        if service_level(agents, arrival_rate_per_s, aht_s, target_answer_s) >= level:
            return agents
    return None
