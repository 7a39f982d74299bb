"""Outcome statistics: the Laplace prior with few data, convergence, and the sliding window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callcentre.outcomes import CallOutcome, OutcomeStats, OutcomeWindow

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def outcome(seconds: float, kind: str) -> CallOutcome:
    """kind: "none" (nobody answered), "person" (answered, no agent), "agent" (pressed 1)."""
    return CallOutcome(T0 + timedelta(seconds=seconds), kind != "none", kind == "agent")


def test_no_data_gives_laplace_one_half() -> None:
    stats = OutcomeStats()
    assert stats.p_human() == 0.5
    assert stats.p_agent() == 0.5
    assert stats.transfer_probability() == 0.25


def test_one_observation_moves_the_estimate_but_not_to_certainty() -> None:
    stats = OutcomeStats(calls=1, answered_by_person=1, chose_agent=1)
    assert stats.p_human() == pytest.approx(2 / 3)
    assert stats.p_agent() == pytest.approx(2 / 3)
    nobody = OutcomeStats(calls=3)
    assert nobody.p_human() == pytest.approx(1 / 5)
    assert nobody.p_agent() == 0.5  # nobody answered: nothing learned about pressing 1


def test_many_observations_converge_to_the_observed_rates() -> None:
    stats = OutcomeStats(calls=100_000, answered_by_person=60_000, chose_agent=15_000)
    assert stats.p_human() == pytest.approx(0.6, abs=1e-4)
    assert stats.p_agent() == pytest.approx(0.25, abs=1e-4)


def test_an_informed_prior_is_used_until_data_outweigh_it() -> None:
    stats = OutcomeStats(prior_human=0.6, prior_agent=0.2, prior_weight=50)
    assert stats.transfer_probability() == pytest.approx(0.12)
    assert "prior only" in stats.describe()


@pytest.mark.parametrize("counts", [(1, 2, 0), (3, 2, 3), (-1, 0, 0), (5, 3, 4)])
def test_impossible_counts_are_rejected(counts: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError):
        OutcomeStats(*counts)


@pytest.mark.parametrize("prior", [0.0, 1.0, -0.5])
def test_degenerate_priors_are_rejected(prior: float) -> None:
    with pytest.raises(ValueError):
        OutcomeStats(prior_human=prior)
    with pytest.raises(ValueError):
        OutcomeWindow(prior_agent=prior)


def test_choosing_the_agent_needs_a_person() -> None:
    with pytest.raises(ValueError):
        CallOutcome(T0, answered_by_person=False, chose_agent=True)


def test_from_outcomes_counts_only_the_window() -> None:
    outcomes = [outcome(0, "agent"), outcome(100, "person"), outcome(200, "none")]
    now = T0 + timedelta(seconds=250)
    assert OutcomeStats.from_outcomes(outcomes, now=now) == OutcomeStats(3, 2, 1)
    recent = OutcomeStats.from_outcomes(outcomes, now=now, window=timedelta(seconds=200))
    assert recent == OutcomeStats(2, 1, 0)
    # An outcome stamped after `now` is not yet known.
    assert OutcomeStats.from_outcomes(outcomes, now=T0 + timedelta(seconds=150)).calls == 2


def test_window_keeps_the_latest_outcomes() -> None:
    window = OutcomeWindow(max_outcomes=3, max_age=None)
    for second, kind in enumerate(["agent", "agent", "agent", "none", "person"]):
        window.add(outcome(second, kind))
    assert len(window) == 3
    assert window.stats(T0) == OutcomeStats(3, 2, 1)


def test_window_forgets_old_outcomes() -> None:
    window = OutcomeWindow(max_outcomes=100, max_age=timedelta(minutes=10))
    window.add(outcome(0, "agent"))
    window.add(outcome(300, "none"))
    assert window.stats(T0 + timedelta(minutes=9)).calls == 2
    assert window.stats(T0 + timedelta(minutes=12)) == OutcomeStats(1, 0, 0)
    assert window.stats(T0 + timedelta(hours=1)) == OutcomeStats()


def test_window_follows_a_change_in_behaviour() -> None:
    # Morning: a quarter of people press 1; after lunch, half do. The window catches up.
    window = OutcomeWindow(max_outcomes=200, max_age=None)
    for i in range(400):
        window.add(outcome(i, "agent" if i % 4 == 0 else "person"))
    morning = window.stats(T0).p_agent()
    for i in range(400, 800):
        window.add(outcome(i, "agent" if i % 2 == 0 else "person"))
    assert morning == pytest.approx(0.25, abs=0.01)
    assert window.stats(T0).p_agent() == pytest.approx(0.5, abs=0.01)


@given(
    st.lists(st.sampled_from(["none", "person", "agent"]), max_size=300),
    st.integers(min_value=1, max_value=120),
)
def test_window_equals_counting_its_last_outcomes(kinds: list[str], size: int) -> None:
    window = OutcomeWindow(max_outcomes=size, max_age=None)
    outcomes = [outcome(i, kind) for i, kind in enumerate(kinds)]
    for item in outcomes:
        window.add(item)
    now = T0 + timedelta(days=1)
    assert window.stats(now) == OutcomeStats.from_outcomes(outcomes[-size:], now=now)
