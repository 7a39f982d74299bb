"""Builders for the rules tests: events, customers, preferences, centres, alert types."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from rules.alert_types import AlertTypeSpec
from rules.centre import CentreView
from rules.facts import CustomerView, EventView
from rules.preferences import (
    AlertPreference,
    Consent,
    ContactPoint,
    CustomerPreferences,
    FrequencyCap,
    QuietHours,
)

T0 = datetime(2024, 6, 12, 10, 0, tzinfo=UTC)  # a Wednesday, 12:00 in Amsterdam
EVER = datetime(2020, 1, 1, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc, arg-type]


def make_event(event_type: str = "debit_posted", **kw: Any) -> EventView:
    values: dict[str, Any] = {
        "account": "NL91ABNA0417164300",
        "source": "camt054",
        "source_event_id": "E-1",
        "amount": Decimal("750.00"),
        "currency": "EUR",
        "credit_debit": "DBIT",
        "status": "BOOK",
        "booking_date": date(2024, 6, 12),
        "description": "Electro World",
    }
    values.update(kw)
    return EventView(event_type=event_type, **values)


def make_customer(**kw: Any) -> CustomerView:
    values: dict[str, Any] = {
        "ref": "C-1001",
        "name": "Alice Martin",
        "segment": "retail",
        "locale": "en",
        "tz": "Europe/Amsterdam",
    }
    values.update(kw)
    return CustomerView(**values)


def consent(**kw: Any) -> Consent:
    values: dict[str, Any] = {"source": "web_form", "given_at": EVER}
    values.update(kw)
    return Consent(**values)


def phone(id: str = "p1", address: str = "+31612345678", **kw: Any) -> ContactPoint:
    kw.setdefault("consent", consent())
    return ContactPoint(id=id, kind="phone", address=address, **kw)


def email(id: str = "e1", address: str = "alice@example.com", **kw: Any) -> ContactPoint:
    kw.setdefault("consent", consent())
    return ContactPoint(id=id, kind="email", address=address, **kw)


def make_prefs(
    *,
    contacts: tuple[ContactPoint, ...] | None = None,
    default: AlertPreference | None = None,
    per_type: dict[str, AlertPreference] | None = None,
    caps: tuple[FrequencyCap, ...] = (),
    quiet: str | None = None,
) -> CustomerPreferences:
    if default is None:
        default = AlertPreference(quiet_hours=(QuietHours.parse(quiet),) if quiet else None)
    return CustomerPreferences(
        contact_points=contacts if contacts is not None else (phone(), email()),
        default=default,
        per_alert_type=per_type or {},
        caps=caps,
    )


def open_centre(**kw: Any) -> CentreView:
    values: dict[str, Any] = {"open": True, "agents_available": 5, "queue_length": 0}
    values.update(kw)
    return CentreView(**values)


def closed_centre(next_opening: datetime | None = None) -> CentreView:
    return CentreView(open=False, agents_available=0, queue_length=0, next_opening=next_opening)


def spec(**overrides: Any) -> AlertTypeSpec:
    """A small valid alert type; ``overrides`` replace top-level fields (dicts as JSON)."""
    data: dict[str, Any] = {
        "key": "test_alert",
        "name": "Test alert",
        "trigger": {"event_types": ["debit_posted"], "condition": "event.amount >= 500"},
        "options": [
            {"key": "1", "intent": "agent", "label": "Speak to an agent"},
            {"key": "2", "intent": "confirm", "label": "It was me"},
        ],
        "content": {
            "en": {
                "voice": {"message": "Hello {{ customer_name }}"},
                "sms": {"body": "Payment of {{ amount }}"},
                "email": {"subject": "Payment", "text": "Payment of {{ amount }}"},
            }
        },
        "delivery": {
            "channel_order": ["voice", "sms", "email"],
            "channels": {"voice": {"attempts": 2, "interval_seconds": 900}},
            "fallback_wait_seconds": 300,
        },
    }
    data.update(overrides)
    return AlertTypeSpec.model_validate(data)
