"""ISO 20022 helpers: message type from the namespace, amounts, dates, account ids."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from xml_adapters.iso20022 import (
    MessageType,
    message_type,
    normalise_account,
    parse_amount,
    parse_date,
    parse_datetime_date,
)


def test_message_type_from_root() -> None:
    ns = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"
    assert message_type(f"{{{ns}}}Document") == MessageType(ns, "camt.054", "001.08")
    assert MessageType(ns, "camt.054", "001.08").name == "camt.054.001.08"


@pytest.mark.parametrize(
    "root",
    [
        "Document",
        "{urn:iso:std:iso:20022:tech:xsd:camt.054.001.08}Invoice",
        "{urn:iso:std:iso:20022:tech:xsd:camt.054.001.08.extra}Document",
        "{urn:iso:std:iso:20022:tech:xsd:camt.054}Document",
    ],
)
def test_message_type_of_other_roots_is_none(root: str) -> None:
    assert message_type(root) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", "0"), ("200000", "200000"), ("3.1", "3.1"), ("1234.56789", "1234.56789")],
)
def test_amounts(text: str, expected: str) -> None:
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize(
    "text", ["", "12,30", "1.234,56", "-1", "+1", "1e3", "NaN", "Infinity", ".5", "1.", "1.123456"]
)
def test_bad_amounts(text: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(text)


@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [
        (parse_date, "2024-02-29", date(2024, 2, 29)),
        (parse_datetime_date, "2007-10-18T13:15:00+01:00", date(2007, 10, 18)),
        (parse_datetime_date, "2007-10-18T23:15:00Z", date(2007, 10, 18)),
        (parse_datetime_date, "2007-10-18T23:15:00.5", date(2007, 10, 18)),
    ],
)
def test_dates(parse: Callable[[str], date], text: str, expected: date) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (parse_date, "2023-02-29"),
        (parse_date, "18.10.2007"),
        (parse_date, "20071018"),
        (parse_date, "2007-10-18T10:00:00"),
        (parse_datetime_date, "2007-10-18"),
        (parse_datetime_date, "2007-10-18T25:00:00"),
    ],
)
def test_bad_dates(parse: Callable[[str], date], text: str) -> None:
    with pytest.raises(ValueError):
        parse(text)


def test_account_normalisation() -> None:
    assert normalise_account(" nl91 abna\t0417 1643 00 ") == "NL91ABNA0417164300"
