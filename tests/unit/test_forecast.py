"""The board's forecast runs the simulation `herald simulate-centre` runs: for the same
recipients, agents and seed, the same day, pacing off and on; its completion time follows the
start time and its chart has one point per simulated hour."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from callcentre.forecast import SEED, ForecastIn, forecast, simulate
from herald.cli import app


def _without_wall_time(result: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    return {k: {f: v for f, v in side.items() if f != "wall_time_s"} for k, side in result.items()}


def test_the_forecast_matches_herald_simulate_centre_for_the_same_inputs() -> None:
    done = CliRunner().invoke(
        app,
        ["simulate-centre", "--json", "--recipients", "1500", "--agents", "4", "--seed", str(SEED)],
    )
    assert done.exit_code == 0, done.output
    assert _without_wall_time(json.loads(done.output)) == _without_wall_time(
        json.loads(json.dumps(simulate(1500, 4)))
    )


def test_the_forecast_says_when_the_campaign_is_done_and_how_many_abandon() -> None:
    day = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
    result = forecast(
        ForecastIn(alert_type="large_debit", recipients=1500, agents=4, start="09:30"), day
    )
    off, on = result.sides
    raw = simulate(1500, 4)
    assert (off.label, on.label) == ("Pacing off", "Pacing on")
    assert off.abandoned_share == raw["pacing_off"]["abandoned_share"]
    assert on.abandoned_share < off.abandoned_share  # pacing protects the 3 % ceiling
    assert on.finished_at > datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
    assert len(on.points.split()) == len(raw["pacing_on"]["transfers_per_hour"])


@pytest.mark.parametrize(
    ("field", "value"), [("recipients", "0"), ("agents", "-1"), ("start", "25:00")]
)
def test_bad_forecast_input_is_refused_by_field(field: str, value: str) -> None:
    data = {"alert_type": "large_debit", "recipients": "10", "agents": "2", "start": "09:00"}
    with pytest.raises(ValidationError) as refused:
        ForecastIn.model_validate(data | {field: value})
    assert refused.value.errors()[0]["loc"] == (field,)
