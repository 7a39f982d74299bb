"""Value conversions a mapping can name."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from xml_adapters.convert import CodeMap, ConversionError, Value, converter, format_value


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("strip", "  a b ", "a b"),
        ("upper", "nl91 abna", "NL91 ABNA"),
        ("lower", "EUR", "eur"),
        ("no_spaces", " nl91 abna\t0417 ", "nl91abna0417"),
        ("amount", "1234.56789", Decimal("1234.56789")),
        ("decimal", "-12.5", Decimal("-12.5")),
        ("decimal", "+3", Decimal(3)),
        ("integer", "007", "7"),
        ("currency", "CHF", "CHF"),
        ("date", "2024-02-29", date(2024, 2, 29)),
        ("date", "2024-03-31T23:59:59.5-11:00", date(2024, 3, 31)),
        ("datetime", "2024-01-31T13:15:00+01:00", "2024-01-31T13:15:00+01:00"),
        ("datetime", "2024-01-31T13:15Z", "2024-01-31T13:15Z"),
        ("time", "2024-01-31T13:15:00+01:00", "13:15"),
        ("time", "07:05", "07:05"),
        ("time", "23:59:59", "23:59"),
    ],
)
def test_conversions(name: str, text: str, expected: Value) -> None:
    assert converter(name)(text) == expected


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("amount", "-1"),
        ("amount", "1.123456"),
        ("amount", "1,5"),
        ("decimal", "1e3"),
        ("decimal", "NaN"),
        ("decimal", "1 000"),
        ("integer", "1.0"),
        ("currency", "eur"),
        ("currency", "EURO"),
        ("date", "2023-02-29"),
        ("date", "31.01.2024"),
        ("datetime", "2024-01-31T13:15:00"),  # no zone
        ("datetime", "2024-01-31T25:15:00Z"),
        ("time", "24:00"),
        ("time", "7:05"),
        ("time", "2024-01-31"),
    ],
)
def test_refusals_say_why(name: str, text: str) -> None:
    with pytest.raises(ConversionError) as caught:
        converter(name)(text)
    assert caught.value.reason


def test_date_formats() -> None:
    convert = converter("date", date_formats=["%d.%m.%Y", "%Y%m%d"])
    assert convert("31.01.2024") == convert("20240131") == date(2024, 1, 31)
    with pytest.raises(ConversionError, match=r"like 31\.01\.2024 or 20240131"):
        convert("2024-01-31")


def test_typed_values_pass_through_conversions_of_their_kind() -> None:
    assert converter("decimal")(Decimal("1.5")) == Decimal("1.5")
    assert converter("date")(date(2024, 1, 1)) == date(2024, 1, 1)
    assert converter("upper")(date(2024, 1, 1)) == "2024-01-01"


def test_code_maps() -> None:
    strict = CodeMap({"DBIT": "debit", "CRDT": "credit"}, None)
    assert strict("DBIT") == "debit"
    assert strict(None) is None
    with pytest.raises(ConversionError, match="must be DBIT or CRDT"):
        strict("DEBIT")
    lenient = CodeMap({"BOOK": "posted"}, "info")
    assert (lenient("BOOK"), lenient("INFO"), lenient(None)) == ("posted", "info", "info")
    with pytest.raises(ConversionError, match="must be A, B or C"):
        CodeMap({"A": "a", "B": "b", "C": "c"}, None)("D")


def test_format_value() -> None:
    assert format_value(Decimal("200000")) == "200000"
    assert format_value(date(2024, 1, 31)) == "2024-01-31"
