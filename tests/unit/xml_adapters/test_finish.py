"""The generated end of a record's mapping: data texts in order, and the fast event constructor."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from xml_adapters.base import AccountEvent
from xml_adapters.finish import compile_data, new_event


def test_data_keeps_declared_order_drops_none_and_writes_typed_values_as_text() -> None:
    data_of = compile_data(("b", "a", "when", "amount", "missing"))
    values: dict[str, str | Decimal | date | None] = {
        "a": "x",
        "b": "y",
        "when": date(2026, 12, 7),
        "amount": Decimal("1.50"),
        "missing": None,
        "other": "not data",
    }
    data = data_of(values)
    assert list(data.items()) == [
        ("b", "y"),
        ("a", "x"),
        ("when", "2026-12-07"),
        ("amount", "1.50"),
    ]
    assert compile_data(())({"a": "x"}) == {}


def test_new_event_equals_the_dataclass_constructor_and_stays_frozen() -> None:
    fields = {
        "source": "camt054",
        "source_event_id": "NL01:REF",
        "event_type": "debit_posted",
        "account_id": "NL01",
        "amount": Decimal("-12.30"),
        "currency": "EUR",
        "credit_debit": "DBIT",
        "status": "BOOK",
        "booking_date": date(2026, 12, 7),
        "description": "Book Corner",
        "line": 12,
        "data": {"reference": "REF"},
        "record_id": "Ntry REF",
    }
    assert [f.name for f in dataclasses.fields(AccountEvent)] == list(fields)
    fast = new_event(*fields.values())
    assert type(fast) is AccountEvent
    assert fast == AccountEvent(**fields)  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.source = "other"  # type: ignore[misc]
