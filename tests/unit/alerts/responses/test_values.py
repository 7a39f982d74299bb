"""The typed values of answers: options and hand-off context validated on read and write,
stored in the shape the other readers of the JSON already know."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import JsonValue, ValidationError
from sqlalchemy.dialects import sqlite

from alerts.models import Alert, HandOff
from alerts.plans import AlertOption
from alerts.responses.values import (
    context_of,
    option_for,
    options_of,
    store_options,
    update_context,
)

STORED: dict[str, JsonValue] = {
    "answer": {
        "channel": "voice",
        "key": "1",
        "intent": "agent",
        "text": None,
        "at": "2026-06-10T10:00:00+00:00",
    },
    "customer": {"ref": "C-1", "name": "Ann Smith", "locale": "en", "timezone": "UTC"},
    "alert": {
        "id": 7,
        "type": "large_debit",
        "status": "delivered",
        "raised_at": "2026-06-10T09:59:00+00:00",
        "amount": "750.00",
        "currency": "EUR",
        "account_ending": "4300",
        "data": {"EndToEndId": "E2E-1"},
    },
}


def handoff(context: dict[str, JsonValue]) -> HandOff:
    return HandOff(response_id=1, kind="live_transfer", context=context)


def test_options_are_read_as_typed_values() -> None:
    alert = Alert(
        dedupe_key="k",
        alert_type="large_debit",
        customer_id=1,
        options=[
            AlertOption(key="1", intent="agent", label="Speak to an agent", endpoint=None),
            AlertOption(key="3", intent="transaction", label="Block", endpoint="https://b/x"),
        ],
    )
    options = options_of(alert)
    assert [o.intent for o in options] == ["agent", "transaction"]
    chosen = option_for(options, "transaction")
    assert chosen is not None and chosen.endpoint == "https://b/x"
    assert option_for(options, "confirm") is None and options_of(None) == []


def test_an_option_that_does_not_fit_is_refused_on_read_and_write() -> None:
    column = Alert.__table__.c.options.type  # type: ignore[attr-defined]
    dialect = sqlite.dialect()
    with pytest.raises(ValidationError, match="intent"):
        column.process_bind_param([{"key": "1"}], dialect)
    with pytest.raises(ValidationError, match="intent"):
        column.process_result_value([{"key": "1", "intent": "teleport", "label": "x"}], dialect)
    # A row stored before options had an endpoint still reads, and keeps its shape.
    old = [{"key": "2", "intent": "confirm", "label": "Yes"}]
    [option] = column.process_result_value(old, dialect)
    assert option == AlertOption(key="2", intent="confirm", label="Yes") and option.dump() == old[0]
    alert = Alert(dedupe_key="k", alert_type="t", customer_id=1)
    store_options(alert, [option])
    assert options_of(alert) == [option]


def test_the_context_reads_typed_and_keeps_what_it_does_not_model() -> None:
    row = handoff(STORED)
    context = context_of(row)
    assert context.customer is not None and context.customer.name == "Ann Smith"
    assert context.alert is not None and context.alert.amount == "750.00"
    assert context.answer.at == datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
    # The alert's own template context rides along untyped, as it was rendered.
    assert context.alert.model_extra == {"account_ending": "4300", "data": {"EndToEndId": "E2E-1"}}


def test_updating_the_context_validates_and_stores_only_what_was_set() -> None:
    row = handoff(STORED)
    at = datetime(2026, 6, 11, 14, 30, tzinfo=UTC)
    update_context(row, callback_at=at, callback_keyed="1430")
    assert set(row.context) == {"answer", "customer", "alert", "callback_at", "callback_keyed"}
    assert context_of(row).callback_at == at
    stored_alert = row.context["alert"]
    assert isinstance(stored_alert, dict) and stored_alert["data"] == {"EndToEndId": "E2E-1"}
    with pytest.raises(ValidationError, match="callback_at"):
        update_context(row, callback_at="tomorrow-ish")
    with pytest.raises(ValidationError, match="colour"):
        update_context(row, colour="blue")
    assert row.context["callback_keyed"] == "1430"  # a refused change leaves the row as it was


def test_a_context_without_the_answer_is_refused() -> None:
    with pytest.raises(ValidationError, match="answer"):
        context_of(handoff({"customer": STORED["customer"]}))
