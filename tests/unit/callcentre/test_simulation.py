"""The simulated day: pacing keeps transfers answerable; releasing flat out drowns the agents."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import pytest

from callcentre.erlang import max_arrival_rate
from callcentre.simulation import DEFAULT_POLICY, DayReport, Scenario, compare, run_day

DEFAULT = Scenario()
# A quick day with the default ratios of demand to capacity (a tenth of the people, 1 hour).
SMALL = Scenario(recipients=1_000, agents=5, day_s=3600.0, seed=7)


@pytest.fixture(scope="module")
def default_day() -> dict[str, DayReport]:
    return {"off": run_day(DEFAULT, pacing=False), "on": run_day(DEFAULT, pacing=True)}


def test_default_scenario_pacing_on_keeps_transfers_answerable(
    default_day: dict[str, DayReport],
) -> None:
    on = default_day["on"]
    assert on.abandoned_share <= 0.03
    assert on.occupancy >= 0.80
    assert on.average_speed_of_answer_s < 20.0
    assert on.answered_within_target_share >= DEFAULT_POLICY.service_level_target


def test_default_scenario_pacing_off_abandons_far_more(default_day: dict[str, DayReport]) -> None:
    off, on = default_day["off"], default_day["on"]
    assert off.abandoned_share >= 0.5
    assert off.abandoned_share > 10 * on.abandoned_share
    assert off.transfers_answered < on.transfers_answered  # flat out even answers fewer people
    assert off.occupancy < on.occupancy  # busy for two hours, idle for six


def test_default_scenario_demand_exceeds_the_day(default_day: dict[str, DayReport]) -> None:
    off, on = default_day["off"], default_day["on"]
    # Flat out, 40,000 calls at 5/s take 8,000 s; paced, the day ends before everyone is called.
    assert off.not_delivered == 0
    assert off.batch_delivered_after_s == pytest.approx(40_000 / 5.0, abs=1.0)
    assert on.batch_delivered_after_s is None
    assert on.not_delivered == DEFAULT.recipients - on.calls_placed > 0


def test_paced_transfers_are_level_and_within_capacity(default_day: dict[str, DayReport]) -> None:
    on = default_day["on"]
    capacity_per_hour = max_arrival_rate(50, 240.0, 20.0, 0.8) * 3600
    assert len(on.transfers_per_hour) == 8
    assert all(
        0.9 * capacity_per_hour <= n <= 1.05 * capacity_per_hour for n in on.transfers_per_hour
    )
    assert sum(on.transfers_per_hour) == on.transfers


def test_the_provider_cap_is_never_exceeded(default_day: dict[str, DayReport]) -> None:
    for report in default_day.values():
        # A token bucket of one allows rate x T + 1 releases in any window of T seconds.
        assert max(report.calls_placed_per_hour) <= 5.0 * 3600 + 1


def test_simulated_callers_behave_as_configured(default_day: dict[str, DayReport]) -> None:
    off = default_day["off"]
    assert off.answered_by_person / off.calls_placed == pytest.approx(0.6, abs=0.01)
    assert off.transfers / off.answered_by_person == pytest.approx(0.25, abs=0.01)


def test_deterministic_for_a_seed() -> None:
    assert run_day(SMALL, pacing=True) == run_day(SMALL, pacing=True)
    assert run_day(SMALL, pacing=False) == run_day(SMALL, pacing=False)
    assert run_day(SMALL, pacing=True) != run_day(replace(SMALL, seed=8), pacing=True)


def test_small_centre_with_the_same_ratios() -> None:
    off, on = run_day(SMALL, pacing=False), run_day(SMALL, pacing=True)
    assert on.abandoned_share <= 0.05
    assert off.abandoned_share >= 0.5


def test_exponential_handle_times_are_paced_as_well() -> None:
    report = run_day(replace(DEFAULT, handle_time="exponential"), pacing=True)
    assert report.abandoned_share <= 0.03
    assert report.occupancy >= 0.80


def test_small_batch_is_delivered_in_full_but_more_slowly() -> None:
    scenario = replace(DEFAULT, recipients=2_000)
    off, on = run_day(scenario, pacing=False), run_day(scenario, pacing=True)
    assert off.not_delivered == on.not_delivered == 0
    assert off.batch_delivered_after_s is not None and on.batch_delivered_after_s is not None
    assert on.batch_delivered_after_s > off.batch_delivered_after_s
    assert on.abandoned_share < off.abandoned_share


def test_no_agents_means_no_paced_calls() -> None:
    scenario = replace(SMALL, agents=0)
    on, off = run_day(scenario, pacing=True), run_day(scenario, pacing=False)
    assert on.calls_placed == 0 and on.not_delivered == scenario.recipients
    assert off.transfers > 0 and off.transfers_abandoned == off.transfers


def test_compare_is_json_and_fast() -> None:
    started = time.perf_counter()
    result = compare()
    assert time.perf_counter() - started < 20.0
    decoded = json.loads(json.dumps(result))
    assert set(decoded) == {"scenario", "pacing_off", "pacing_on"}
    assert decoded["scenario"]["policy"]["calls_per_second"] == 5.0
    for key in ("pacing_off", "pacing_on"):
        assert {
            "transfers_per_hour",
            "transfers_total",
            "average_speed_of_answer_s",
            "abandoned_share",
            "occupancy",
            "batch_delivered_after_s",
            "not_delivered",
            "calls_placed",
            "wall_time_s",
        } <= set(decoded[key])
    assert decoded["pacing_on"]["abandoned_share"] <= 0.03


@pytest.mark.parametrize(
    "changes",
    [{"p_human": 1.5}, {"agents": -1}, {"answer_delay_s": (20.0, 5.0)}, {"handle_time": "normal"}],
)
def test_scenario_rejects_nonsense(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        replace(DEFAULT, **changes)


def test_benchmark_prints_the_comparison(capsys: pytest.CaptureFixture[str]) -> None:
    from callcentre.simulation_table import render_table

    result = compare(SMALL)
    table = render_table(result)
    for label in ("pacing OFF", "pacing ON", "abandoned transfers", "agent occupancy", "wall time"):
        assert label in table
