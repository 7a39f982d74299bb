"""Release-rate decisions: capacity from Erlang C, learned outcome rates, queue, provider cap."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callcentre.erlang import max_arrival_rate
from callcentre.pacing import (
    CentreState,
    OutcomeStats,
    PacingPolicy,
    decide_release_rate,
)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
POLICY = PacingPolicy(
    target_answer_s=20, service_level_target=0.8, calls_per_second=50, headroom=0.9
)
OPEN = CentreState(
    agents_available=10, agents_logged_in=50, queue_length=0, longest_wait_s=0, aht_s=240, open=True
)
# 1,000 recent calls: 600 answered by a person, 150 of them asked for an agent.
LEARNED = OutcomeStats(calls=1000, answered_by_person=600, chose_agent=150)


def decide(
    state: CentreState = OPEN, stats: OutcomeStats = LEARNED, policy: PacingPolicy = POLICY
) -> float:
    return decide_release_rate(state=state, stats=stats, policy=policy, now=NOW).rate_per_s


def test_closed_centre_releases_nothing_and_says_so() -> None:
    decision = decide_release_rate(
        state=replace(OPEN, open=False), stats=LEARNED, policy=POLICY, now=NOW
    )
    assert decision.rate_per_s == 0.0
    assert decision.limited_by == "closed"
    assert "closed" in decision.reason
    assert decision.decided_at == NOW


def test_no_agents_releases_nothing_and_says_so() -> None:
    state = replace(OPEN, agents_logged_in=0, agents_available=0)
    decision = decide_release_rate(state=state, stats=LEARNED, policy=POLICY, now=NOW)
    assert decision.rate_per_s == 0.0
    assert decision.limited_by == "no_agents"
    assert "no agents" in decision.reason


def test_rate_is_erlang_capacity_over_transfer_probability() -> None:
    decision = decide_release_rate(state=OPEN, stats=LEARNED, policy=POLICY, now=NOW)
    capacity = max_arrival_rate(50, 240, 20, 0.8) * 0.9
    p_transfer = LEARNED.p_human() * LEARNED.p_agent()
    assert p_transfer == pytest.approx(0.15, abs=0.002)
    assert decision.rate_per_s == pytest.approx(capacity / p_transfer)
    assert decision.expected_transfers_per_s == pytest.approx(capacity)
    assert decision.limited_by == "capacity"


def test_reason_shows_the_numbers_behind_the_rate() -> None:
    decision = decide_release_rate(state=OPEN, stats=LEARNED, policy=POLICY, now=NOW)
    reason = decision.reason
    assert f"releasing {decision.rate_per_s:.2f} calls/s" in reason
    assert "50 agents (10 free)" in reason
    assert "AHT 240 s" in reason
    assert "80% answered in 20 s" in reason
    assert "P(person) 0.600" in reason and "P(agent) 0.251" in reason  # (150 + 1) / (600 + 2)
    assert "1000 recent outcomes" in reason


@pytest.mark.parametrize("agents", [5, 10, 20, 50, 100, 300])
def test_more_agents_release_faster(agents: int) -> None:
    fewer = replace(OPEN, agents_logged_in=agents, agents_available=0)
    more = replace(OPEN, agents_logged_in=agents + 1, agents_available=0)
    assert decide(more) > decide(fewer) > 0


def test_never_above_the_providers_calls_per_second() -> None:
    policy = replace(POLICY, calls_per_second=1.0)
    decision = decide_release_rate(
        state=replace(OPEN, agents_logged_in=300), stats=LEARNED, policy=policy, now=NOW
    )
    assert decision.rate_per_s == 1.0
    assert decision.limited_by == "calls_per_second"
    assert "provider limit of 1 calls/s" in decision.reason


@given(
    logged_in=st.integers(min_value=0, max_value=500),
    free_share=st.floats(min_value=0, max_value=1),
    queue=st.integers(min_value=0, max_value=500),
    aht=st.floats(min_value=10, max_value=2000),
    calls=st.integers(min_value=0, max_value=10_000),
    human_share=st.floats(min_value=0, max_value=1),
    agent_share=st.floats(min_value=0, max_value=1),
    cps=st.floats(min_value=0.1, max_value=100),
    is_open=st.booleans(),
)
def test_any_decision_respects_the_cap_and_the_capacity(
    logged_in: int,
    free_share: float,
    queue: int,
    aht: float,
    calls: int,
    human_share: float,
    agent_share: float,
    cps: float,
    is_open: bool,
) -> None:
    answered = round(calls * human_share)
    stats = OutcomeStats(calls, answered, round(answered * agent_share))
    state = CentreState(
        agents_available=round(logged_in * free_share),
        agents_logged_in=logged_in,
        queue_length=queue,
        longest_wait_s=0,
        aht_s=aht,
        open=is_open,
    )
    policy = replace(POLICY, calls_per_second=cps)
    decision = decide_release_rate(state=state, stats=stats, policy=policy, now=NOW)
    assert 0.0 <= decision.rate_per_s <= cps
    assert decision.reason
    if decision.rate_per_s > 0:
        capacity = max_arrival_rate(logged_in, aht, 20, 0.8) * 0.9
        assert decision.expected_transfers_per_s <= capacity * (1 + 1e-9)
    if not is_open or logged_in == 0:
        assert decision.rate_per_s == 0.0


def test_learned_p_agent_changes_the_rate() -> None:
    keen = OutcomeStats(calls=1000, answered_by_person=600, chose_agent=300)  # half press 1
    shy = OutcomeStats(calls=1000, answered_by_person=600, chose_agent=60)  # a tenth press 1
    assert decide(stats=shy) > decide(stats=LEARNED) > decide(stats=keen)
    # Rate scales with 1 / P(agent): 5x fewer people pressing 1 allows ~5x the calls.
    assert decide(stats=shy) / decide(stats=keen) == pytest.approx(keen.p_agent() / shy.p_agent())


def test_learned_p_human_changes_the_rate() -> None:
    evening = OutcomeStats(calls=1000, answered_by_person=900, chose_agent=225)
    assert decide(stats=evening) < decide(stats=LEARNED)


def test_without_data_the_laplace_prior_paces_cautiously() -> None:
    # No outcomes yet: P(person) = P(agent) = 1/2, i.e. a quarter of calls become transfers,
    # more than the 15% the learned stats show, so the first release is slower.
    assert decide(stats=OutcomeStats()) < decide(stats=LEARNED)
    assert (
        "prior only"
        in decide_release_rate(state=OPEN, stats=OutcomeStats(), policy=POLICY, now=NOW).reason
    )


def test_a_queue_takes_capacity_first() -> None:
    short = replace(OPEN, agents_available=0, queue_length=2, longest_wait_s=15)
    long = replace(OPEN, agents_available=0, queue_length=6, longest_wait_s=50)
    assert decide(long) < decide(short) < decide(OPEN)
    reason = decide_release_rate(state=long, stats=LEARNED, policy=POLICY, now=NOW).reason
    assert "6 queued" in reason and "longest wait 50 s" in reason


def test_a_long_queue_pauses_release() -> None:
    state = replace(OPEN, agents_available=0, queue_length=40, longest_wait_s=90)
    decision = decide_release_rate(state=state, stats=LEARNED, policy=POLICY, now=NOW)
    assert decision.rate_per_s == 0.0
    assert decision.limited_by == "queue"
    assert decision.reason.startswith("paused: no transfer capacity left")


def test_other_transfers_share_the_agents() -> None:
    busy = replace(OPEN, other_arrivals_per_s=0.05)
    assert decide(busy) < decide(OPEN)
    assert (
        "0.050/s of other transfers"
        in decide_release_rate(state=busy, stats=LEARNED, policy=POLICY, now=NOW).reason
    )


def test_headroom_and_a_stricter_target_slow_release() -> None:
    assert decide(policy=replace(POLICY, headroom=0.5)) == pytest.approx(decide() * 0.5 / 0.9)
    assert decide(policy=replace(POLICY, service_level_target=0.95)) < decide()
    assert decide(policy=replace(POLICY, target_answer_s=5)) < decide()


def test_longer_calls_release_slower() -> None:
    assert decide(replace(OPEN, aht_s=480)) < decide(OPEN)


def test_the_clock_only_stamps_the_decision() -> None:
    later = datetime(2027, 1, 1, tzinfo=UTC)
    first = decide_release_rate(state=OPEN, stats=LEARNED, policy=POLICY, now=NOW)
    second = decide_release_rate(state=OPEN, stats=LEARNED, policy=POLICY, now=later)
    assert replace(second, decided_at=NOW) == first


@pytest.mark.parametrize(
    "changes",
    [
        {"service_level_target": 1.0},
        {"service_level_target": 0.0},
        {"calls_per_second": 0.0},
        {"headroom": 0.0},
        {"headroom": 1.5},
        {"queue_drain_s": 0.0},
        {"target_answer_s": -1.0},
    ],
)
def test_policy_rejects_nonsense(changes: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        replace(POLICY, **changes)


@pytest.mark.parametrize(
    "changes",
    [
        {"agents_available": 51},
        {"agents_available": -1},
        {"queue_length": -1},
        {"aht_s": 0.0},
        {"other_arrivals_per_s": -0.1},
    ],
)
def test_state_rejects_nonsense(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        replace(OPEN, **changes)
