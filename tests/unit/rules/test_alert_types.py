"""Alert types as data: validation messages, JSON round trip, the default catalogue."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from rules.alert_types import AlertTypeSpec, describe_error, parse_alert_type
from rules.catalogue import default_alert_type, default_catalogue
from rules.conditions import evaluate
from rules.facts import EventView
from tests.unit.rules.builders import T0, make_customer, make_event, spec


def test_a_spec_round_trips_through_json() -> None:
    original = spec()
    stored = json.loads(json.dumps(original.as_json()))
    assert parse_alert_type(stored) == original
    assert stored["version"] == 1


def test_defaults_are_sensible() -> None:
    s = spec()
    assert s.category == "service" and not s.mandatory
    assert s.delivery.policy("sms").attempts == 1
    assert s.delivery.policy("voice").attempts == 2
    assert s.centre.when_closed == "hold"
    assert s.offers_agent


INVALID: list[tuple[dict[str, Any], str]] = [
    (
        {"trigger": {"event_types": ["debit_posted"], "condition": "event.amount >="}},
        "trigger.condition: invalid condition at column 16 (at the end): syntax error",
    ),
    (
        {"trigger": {"event_types": ["debit_posted"], "condition": "event.amont > 1"}},
        "did you mean 'amount'",
    ),
    (
        {"trigger": {"event_types": ["debit_posted"], "condition": "event.amount >> 5"}},
        "trigger.condition: invalid condition at column 14 (in 'event.amount >> 5'): >> is a bit",
    ),
    ({"trigger": {"event_types": []}}, "trigger.event_types"),
    ({"key": "Large Debit"}, "key: String should match pattern"),
    ({"category": "marketing", "mandatory": True}, "marketing alert type cannot be mandatory"),
    ({"fallback_locale": "nl"}, "fallback_locale 'nl' has no content"),
    (
        {"content": {"en": {"sms": {"body": "x"}, "email": {"subject": "s", "text": "t"}}}},
        "channel_order names ['voice']",
    ),
    ({"content": {"en": {"sms": {"text": "x"}}}}, "content.en.sms lacks template(s) ['body']"),
    (
        {"content": {"en": {"sms": {"body": "Hi {{ name"}}}},
        "content.en.sms.body line 1",
    ),
    ({"content": {"EN_gb": {"sms": {"body": "x"}}}}, "is not a locale"),
    (
        {
            "options": [
                {"key": "1", "intent": "agent", "label": "a"},
                {"key": "1", "intent": "confirm", "label": "b"},
            ]
        },
        "keys must be unique",
    ),
    ({"options": [{"key": "1", "intent": "pizza", "label": "a"}]}, "options.0.intent"),
    ({"dedupe": {"key": "{event.iban}"}}, "unknown placeholder {event.iban}"),
    ({"delivery": {"channel_order": ["sms", "sms"]}}, "each channel may appear once"),
    ({"delivery": {"channels": {"voice": {"attempts": 0}}}}, "attempts"),
    ({"delivery": {"channels": {"voice": {"retry_on": ["tired"]}}}}, "retry_on"),
    ({"centre": {"when_closed": "panic"}}, "centre.when_closed"),
    ({"ttl_seconds": 5}, "ttl_seconds"),
    ({"surprise": 1}, "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("overrides", "words"), INVALID)
def test_invalid_specs_say_which_field_and_why(overrides: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError) as info:
        spec(**overrides)
    assert words in "\n".join(describe_error(info.value))


def test_content_locale_falls_back_to_base_language_then_fallback() -> None:
    s = spec(
        content={
            "en": {
                "voice": {"message": "m"},
                "sms": {"body": "b"},
                "email": {"subject": "s", "text": "t"},
            },
            "nl": {"sms": {"body": "nl"}},
        }
    )
    assert s.content_locale("nl-BE", "sms") == "nl"
    assert s.content_locale("nl", "email") == "en"
    assert s.content_locale("fr", "sms") == "en"


# ---------------------------------------------------------------------------------------------
# The default catalogue: each type fires on a realistic event and not on a near miss.


def _ev(event_type: str, **kw: Any) -> EventView:
    return make_event(event_type, **kw)


SCHEDULE = {
    "new_departure": "2026-12-01T10:05:00+01:00",
    "old_departure": "2026-12-01T08:30:00+01:00",
    "pnr": "K7Q2XP",
    "flight": "EA1234",
}
CATALOGUE_EXAMPLES: dict[str, tuple[EventView, EventView]] = {
    "large_debit": (
        _ev("debit_posted", amount=Decimal("750.00")),
        _ev("debit_posted", amount=Decimal("499.99")),
    ),
    "low_balance": (
        _ev("balance_closing_booked", amount=Decimal("42.10")),
        _ev("balance_closing_booked", amount=Decimal("1500.00")),
    ),
    "payment_received": (
        _ev("credit_posted", amount=Decimal("2500.00"), credit_debit="CRDT"),
        _ev("credit_posted", amount=Decimal("12.50"), credit_debit="CRDT"),
    ),
    "invoice_due": (
        _ev("invoice_issued", amount=Decimal("1250.00"), data={"due_date": "2026-12-15"}),
        _ev("invoice_issued", amount=Decimal("1250.00"), data={}),
    ),
    "shipment_delayed": (
        _ev("shipment_delayed", data={"tracking_number": "NP123456785NL"}),
        _ev("shipment_shipped", data={"tracking_number": "NP123456785NL"}),
    ),
    "out_for_delivery": (
        _ev("shipment_out_for_delivery", data={"tracking_number": "NP123456785NL"}),
        _ev("shipment_delivered", data={"tracking_number": "NP123456785NL"}),
    ),
    "itinerary_change": (
        _ev("itinerary_schedule_change", amount=None, data=SCHEDULE),
        _ev(
            "itinerary_schedule_change",
            amount=None,
            data={**SCHEDULE, "new_departure": "2026-12-01T08:45:00+01:00"},
        ),
    ),
    "flight_cancelled": (
        _ev("flight_cancelled", data={"pnr": "M3ZT8B", "flight": "EA0417"}),
        _ev("itinerary_gate_change", data={"pnr": "M3ZT8B", "gate": "D7"}),
    ),
    "savings_offer": (
        _ev("credit_posted", amount=Decimal("3200.00"), credit_debit="CRDT"),
        _ev("credit_posted", amount=Decimal("150.00"), credit_debit="CRDT"),
    ),
}


def _triggers(alert: AlertTypeSpec, event: EventView, **customer: Any) -> bool:
    if event.event_type not in alert.trigger.event_types:
        return False
    cust = make_customer(**customer)
    return evaluate(alert.trigger.condition, event=event, customer=cust, now=T0).matched


def test_the_catalogue_validates_and_has_every_documented_type() -> None:
    keys = [s.key for s in default_catalogue()]
    assert set(CATALOGUE_EXAMPLES) == set(keys)
    assert len(keys) == len(set(keys))
    marketing = [s.key for s in default_catalogue() if s.category == "marketing"]
    assert marketing == ["savings_offer"]
    assert not default_alert_type("savings_offer").enabled


@pytest.mark.parametrize("key", sorted(CATALOGUE_EXAMPLES))
def test_each_default_type_triggers_on_its_example_and_not_on_a_near_miss(key: str) -> None:
    alert = default_alert_type(key)
    hit, miss = CATALOGUE_EXAMPLES[key]
    assert _triggers(alert, hit)
    assert not _triggers(alert, miss)


def test_large_debit_spares_staff_and_calls_twice_then_texts_then_emails() -> None:
    alert = default_alert_type("large_debit")
    assert not _triggers(alert, CATALOGUE_EXAMPLES["large_debit"][0], segment="staff")
    voice = alert.delivery.policy("voice")
    assert alert.delivery.channel_order == ["voice", "sms", "email"]
    assert (voice.attempts, voice.interval_seconds) == (2, 900)


def test_gate_changes_always_trigger_itinerary_change() -> None:
    gate = _ev("itinerary_gate_change", data={"gate": "D7", "old_gate": "D4"})
    assert _triggers(default_alert_type("itinerary_change"), gate)


def test_low_balance_is_once_per_account_per_day() -> None:
    alert = default_alert_type("low_balance")
    assert alert.dedupe.key == "{alert_type}:{event.account}:{local_date}"
    assert alert.dedupe.window_seconds == 86400


def test_unknown_default_type() -> None:
    with pytest.raises(KeyError, match="known"):
        default_alert_type("nope")


def test_savings_offer_is_for_retail_customers_only() -> None:
    hit = CATALOGUE_EXAMPLES["savings_offer"][0]
    assert not _triggers(default_alert_type("savings_offer"), hit, segment="private")


def test_a_missing_amount_does_not_trigger_large_debit() -> None:
    event = _ev("debit_posted", amount=None, booking_date=date(2024, 6, 12))
    assert not _triggers(default_alert_type("large_debit"), event)


def test_a_stored_spec_reads_back_a_condition_saved_before_the_type_checks() -> None:
    """Saving type-checks the condition; reading a stored spec back (validation context
    ``{"stored": True}``) only compiles it, so an alert type saved earlier is not lost."""
    data: dict[str, Any] = spec().as_json()
    data["trigger"]["condition"] = "event.amount > 5 and event.description"
    with pytest.raises(ValidationError) as info:
        AlertTypeSpec.model_validate(data)
    assert "and needs true or false" in "\n".join(describe_error(info.value))
    stored = AlertTypeSpec.model_validate(data, context={"stored": True})
    assert stored.trigger.condition == "event.amount > 5 and event.description"
    data["trigger"]["condition"] = "event.amount >="  # broken either way
    with pytest.raises(ValidationError):
        AlertTypeSpec.model_validate(data, context={"stored": True})
