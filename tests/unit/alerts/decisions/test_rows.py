"""The plain rows a batch of decisions writes are exactly what the typed models store (a field
added to PlannedStep, AlertOption or StoredWindows and not to alerts/decisions/rows.py fails)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

from pydantic import TypeAdapter

from alerts.decisions.rows import stored_option, stored_step, stored_windows
from alerts.plans import AlertOption, PlannedStep, StoredWindows
from rules.alert_types import ResponseOption
from rules.engine import PlanStep
from rules.timewindows import Block, DailyWindow, SendWindows

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
