"""The worked-example feeds: a carrier's shipment statuses and an airline's itinerary changes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.unit.xml_adapters.support import BESPOKE_FEEDS, EXAMPLE_MAPPINGS
from xml_adapters.base import AccountEvent, RecordProblem
from xml_adapters.registry import load_adapters, read_file


def test_shipment_statuses() -> None:
    adapter, records = read_file(BESPOKE_FEEDS / "shipment-status.xml")
    found = list(records)
    assert adapter.key == "shipment_status"
    events = [r for r in found if isinstance(r, AccountEvent)]
    assert [(e.source_event_id, e.event_type, e.account_id) for e in events] == [
        ("NP123456785NL-1", "shipment_shipped", "C-1001"),
        ("NP123456785NL-2", "shipment_delayed", "C-1001"),
        ("NP123456785NL-3", "shipment_out_for_delivery", "C-1001"),
        ("NP123456785NL-4", "shipment_delivered", "C-1001"),
        ("NP876543210NL-1", "shipment_shipped", "C-1002"),
        ("NP876543210NL-3", "shipment_exception", "C-1002"),
    ]
    delayed = events[1]
    assert delayed.data["new_eta"] == "2026-11-24T18:00:00+01:00"
    assert delayed.booking_date == date(2026, 11, 22)
    assert (delayed.amount, delayed.currency) == (Decimal("49.95"), "EUR")  # cash on delivery
    assert delayed.description == (
        "Your parcel NP123456785NL from Electro World Online is delayed; "
        "new delivery estimate 2026-11-24 at 18:00."
    )
    assert events[4].amount is None
    [problem] = [r for r in found if isinstance(r, RecordProblem)]
    assert problem == RecordProblem(
        line=64,
        record_id="NP876543210NL-2",
        field="NEW_ETA",
        value="25-11-2026 morning",
        reason="not a date-time with a zone like 2024-01-31T13:15:00+01:00",
    )


def test_itinerary_changes() -> None:
    adapter, records = read_file(BESPOKE_FEEDS / "itinerary-changes.xml")
    found = list(records)
    assert adapter.key == "itinerary_change"
    events = [r for r in found if isinstance(r, AccountEvent)]
    assert [(e.source_event_id, e.event_type, e.account_id) for e in events] == [
        ("K7Q2XP-1", "itinerary_schedule_change", "EA12345678"),  # the frequent-flyer number
        ("K7Q2XP-2", "itinerary_gate_change", "EA12345678"),
        ("M3ZT8B-1", "flight_cancelled", "C-1005"),  # no loyalty number: the customer ref
    ]
    schedule, gate, cancelled = events
    assert {k: schedule.data[k] for k in ("flight", "old_departure", "new_departure")} == {
        "flight": "EA1234",
        "old_departure": "2026-12-01T08:30:00+01:00",
        "new_departure": "2026-12-01T10:05:00+01:00",
    }
    assert schedule.description == (
        "Flight EA1234 AMS-LIS on 2026-12-01 now departs at 10:05 instead of 08:30."
    )
    assert (gate.data["old_gate"], gate.data["gate"]) == ("D4", "D7")
    assert cancelled.data["new_flight"] == "EA0419"
    assert (cancelled.amount, cancelled.currency) == (Decimal("35.00"), "EUR")
    assert cancelled.booking_date == date(2026, 11, 30)
    [problem] = [r for r in found if isinstance(r, RecordProblem)]
    assert problem == RecordProblem(
        line=32,
        record_id="K7Q2XP-3",
        field="Revised/@departure",
        value="2026-12-08T25:10:00+00:00",
        reason="not a date-time with a zone like 2024-01-31T13:15:00+01:00",
    )


def test_the_documented_example_reads_its_sample() -> None:
    adapters = load_adapters(EXAMPLE_MAPPINGS)
    adapter, records = read_file(EXAMPLE_MAPPINGS / "README-example.xml", adapters=adapters)
    found = list(records)
    assert adapter.key == "example_waterworks"
    assert [getattr(r, "event_type", None) for r in found] == [
        "bill_issued",
        None,
        "usage_leak_suspected",
        "bill_credited",
    ]
    problem = found[1]
    assert isinstance(problem, RecordProblem)
    assert (problem.record_id, problem.field, problem.value) == ("B-2026-11-0418", "Total", "12,50")
    credited = found[3]
    assert isinstance(credited, AccountEvent)
    assert credited.amount == Decimal("-20.00")


def test_the_demo_does_not_ingest_the_bespoke_examples() -> None:
    """`herald demo` ingests examples/feeds/*.xml; the worked examples live one level down."""
    assert BESPOKE_FEEDS.parent.name == "feeds"
    assert not list(BESPOKE_FEEDS.parent.glob("*shipment*")) and not list(
        BESPOKE_FEEDS.parent.glob("*itinerary*")
    )
