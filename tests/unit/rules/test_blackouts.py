"""Blackout dates: on a centre's blackout date the chosen alert types send nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from rules.centre import CentreHours, CentreView, Opening
from tests.unit.rules.builders import T0, spec
from tests.unit.rules.test_engine import planned, run, skipped


def _hours(types: set[str]) -> CentreHours:
    weekly = {d: (Opening(time(0), time(0)),) for d in range(7)}
    return CentreHours(tz="UTC", weekly=weekly, blackouts={T0.date(): frozenset(types)})


def test_a_blackout_date_skips_the_chosen_alert_types_only() -> None:
    alert = spec()
    blacked = CentreView.at(_hours({alert.key}), T0, agents_available=1, queue_length=0)
    assert "blackout date" in skipped(run(alert=alert, centre=blacked))
    other = CentreView.at(_hours({"something_else"}), T0, agents_available=1, queue_length=0)
    assert planned(run(alert=alert, centre=other))


def test_blackouts_are_dates_in_the_centres_zone() -> None:
    hours = CentreHours(
        tz="Pacific/Auckland", weekly={}, blackouts={date(2030, 1, 2): frozenset({"x"})}
    )
    assert hours.blacked_out(datetime(2030, 1, 1, 12, tzinfo=UTC)) == {"x"}  # 01:00 on the 2nd
    assert hours.blacked_out(datetime(2030, 1, 1, 10, tzinfo=UTC)) == frozenset()
