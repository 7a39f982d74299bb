"""The plain rows a batch of decisions writes are exactly what the typed models store (a field
added to PlannedStep, AlertOption or StoredWindows and not to alerts/decisions/rows.py fails)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter

from alerts.columns import utc_iso
from alerts.customers.history.words import decision_notes, decision_steps
from alerts.decisions.rows import stored_detail, stored_option, stored_step, stored_windows
from alerts.plans import AlertOption, PlannedStep, StoredWindows
from rules.alert_types import ResponseOption
from rules.engine import Decision, Plan, PlanStep, Skip, decide, decision_as_dict
from rules.timewindows import Block, DailyWindow, SendWindows
from tests.unit.rules.builders import T0, make_customer, make_event, make_prefs, open_centre, spec

STEP = PlanStep(
    channel="sms",
    contact_point_id="7",
    address="+31612345678",
    attempt=2,
    # an offset other than UTC: stored as UTC, as PlannedStep stores it
    not_before=datetime(2026, 6, 10, 21, 0, tzinfo=timezone(timedelta(hours=2))),
    deadline=datetime(2026, 6, 10, 21, 0, tzinfo=UTC),
    locale="nl",
    reason="second try by SMS",
)


def test_a_stored_step_is_what_planned_step_dumps() -> None:
    expected = PlannedStep.from_engine(STEP).model_dump(mode="json", by_alias=True)
    assert stored_step(STEP) == expected
    assert stored_step(STEP)["not_before"] == "2026-06-10T19:00:00+00:00"


def test_stored_options_are_what_alert_option_dumps_with_and_without_a_queue() -> None:
    adapter = TypeAdapter(list[AlertOption])
    options = [
        ResponseOption(key="1", intent="agent", label="Speak to us", queue="fraud"),
        ResponseOption(key="2", intent="transaction", label="Pay", endpoint="https://x.test/p"),
    ]
    models = [
        AlertOption(
            key=o.key,
            intent=o.intent,
            label=o.label,
            endpoint=o.endpoint,
            **({"queue": o.queue} if o.queue else {}),
        )
        for o in options
    ]
    expected = adapter.dump_python(models, mode="json", by_alias=True)
    assert [stored_option(o) for o in options] == expected


def test_stored_windows_are_what_stored_windows_dumps() -> None:
    windows = SendWindows(
        tz="Europe/Amsterdam",
        blocks=(
            Block(DailyWindow(time(21, 30), time(7, 30)), frozenset({"voice", "sms"}), "quiet"),
            Block(DailyWindow(time(20), time(8)), frozenset({"voice"}), "law"),
        ),
    )
    expected = StoredWindows.from_rules(windows).model_dump(mode="json", by_alias=True)
    assert stored_windows(windows) == expected
    blocks = stored_windows(windows)["blocks"]
    assert isinstance(blocks, list) and isinstance(blocks[0], dict)
    assert blocks[0]["channels"] == ["voice", "sms"]


def _decided(amount: str) -> Decision:
    return decide(
        event=make_event(amount=Decimal(amount)),
        customer=make_customer(),
        preferences=make_prefs(quiet="21:30-07:30"),
        alert_type=spec(),
        centre=open_centre(),
        recent_alerts=[],
        now=T0,
    )


def test_a_stored_plan_keeps_what_the_history_shows_and_not_what_its_alert_holds() -> None:
    plan = _decided("750")
    assert isinstance(plan, Plan)
    full, stored = decision_as_dict(plan), json.loads(json.dumps(stored_detail(plan)))
    assert "options" not in stored and "windows" not in stored  # alerts.options / .windows
    assert {k: v for k, v in full.items() if k not in ("options", "windows", "steps")} == {
        k: v for k, v in stored.items() if k != "steps"
    }
    shown = ("channel", "address", "not_before", "deadline", "reason")
    steps: Any = full["steps"]
    assert stored["steps"] == [{k: s[k] for k in shown} for s in steps]
    assert decision_steps(stored) == decision_steps(full) and decision_notes(stored)
    assert len(json.dumps(stored)) < 0.75 * len(json.dumps(full))


def test_a_stored_skip_is_the_whole_decision() -> None:
    skip = _decided("1")
    assert isinstance(skip, Skip)
    assert stored_detail(skip) == decision_as_dict(skip)


def test_utc_iso_depends_on_the_instant_only() -> None:
    amsterdam = datetime(2026, 6, 10, 21, 0, tzinfo=timezone(timedelta(hours=2)))
    utc = datetime(2026, 6, 10, 19, 0, tzinfo=UTC)
    assert utc_iso(amsterdam) == utc_iso(utc) == "2026-06-10T19:00:00+00:00"
    assert utc_iso(utc + timedelta(microseconds=5)) == "2026-06-10T19:00:00.000005+00:00"
