"""Value conversions a mapping file can name: text clean-up, decimals, dates, codes."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from xml_adapters.iso20022 import AMOUNT_PATTERN, parse_date, parse_datetime_date

Value = str | Decimal | date
ConverterName = Literal[
    "strip",
    "upper",
    "lower",
    "no_spaces",
    "amount",
    "decimal",
    "integer",
    "currency",
    "date",
    "datetime",
    "time",
]
# Conversions whose result is not text: an AccountEvent's amount and booking_date need them.
DECIMAL_CONVERTERS = frozenset({"amount", "decimal"})
DATE_CONVERTERS = frozenset({"date"})

_AMOUNT_MATCH = re.compile(AMOUNT_PATTERN).fullmatch
_DECIMAL = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")
# ISO 8601 date-time with a zone: 2024-01-31T13:15:00+01:00, ...:00Z, fractions allowed.
_DATETIME_ZONED = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})"
)
_TIME = re.compile(r"(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?")
_SAMPLE_DAY = date(2024, 1, 31)


class ConversionError(ValueError):
    """A value a conversion refuses; `reason` is the sentence shown in the RecordProblem."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Converter = Callable[[Value], Value]


def _text(value: Value) -> str:
    return value if isinstance(value, str) else format_value(value)


def format_value(value: Value) -> str:
    """A typed value as event text: Decimal as written, dates in ISO form."""
    if isinstance(value, str):
        return value
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _amount(value: Value) -> Value:
    if value.__class__ is str:
        if _AMOUNT_MATCH(value):
            return Decimal(value)
        raise ConversionError("the amount is not a decimal number like 1234.56")
    if isinstance(value, Decimal):
        return value
    return _amount(_text(value))


def _decimal(value: Value) -> Value:
    if isinstance(value, Decimal):
        return value
    text = _text(value)
    if not _DECIMAL.fullmatch(text):
        raise ConversionError("not a decimal number like 1234.56 or -12.5")
    return Decimal(text)


def _integer(value: Value) -> Value:
    text = _text(value)
    if not _INTEGER.fullmatch(text):
        raise ConversionError("not a whole number")
    return str(int(text))


def _currency(value: Value) -> Value:
    text = _text(value)
    if len(text) == 3 and text.isascii() and text.isalpha() and text.isupper():
        return text
    raise ConversionError("the currency is not an ISO 4217 code like EUR")


_BAD_DATE = (
    "not a valid date (expected an ISO date like 2024-01-31 or 2024-01-31+01:00, or a "
    "date-time like 2024-01-31T13:15:00.5+01:00)"
)


def _iso_date(value: Value) -> Value:
    if value.__class__ is not str:
        if isinstance(value, date):
            return value
        value = _text(value)
    text: str = value
    try:
        if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.isascii():
            return date.fromisoformat(text)  # the common case, quickly
        return parse_datetime_date(text) if "T" in text else parse_date(text)
    except ValueError:
        pass
    raise ConversionError(_BAD_DATE)


def _formatted_date(formats: Sequence[str]) -> Converter:
    examples = " or ".join(_SAMPLE_DAY.strftime(f) for f in formats)

    def convert(value: Value) -> Value:
        if isinstance(value, date):
            return value
        text = _text(value)
        for fmt in formats:
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        raise ConversionError(f"not a valid date (expected a date like {examples})")

    return convert


def _datetime(value: Value) -> Value:
    text = _text(value)
    if _DATETIME_ZONED.fullmatch(text):
        try:
            parse_datetime_date(text)
        except ValueError:
            pass
        else:
            return text
    raise ConversionError("not a date-time with a zone like 2024-01-31T13:15:00+01:00")


def _time_of_day(value: Value) -> Value:
    """`13:15` from `13:15`, `13:15:00` or a date-time `2024-01-31T13:15:00+01:00` (as written)."""
    text = _text(value)
    clock = text.partition("T")[2] if "T" in text else text
    match = _TIME.match(clock)
    if match is not None and int(match[1]) < 24 and int(match[2]) < 60:
        rest = clock[match.end() :]
        if not rest or rest == "Z" or re.fullmatch(r"[+-]\d{2}:\d{2}", rest):
            return f"{match[1]}:{match[2]}"
    raise ConversionError("not a time of day like 13:15 (or a date-time like 2024-01-31T13:15)")


_SIMPLE: dict[str, Converter] = {
    "strip": lambda v: _text(v).strip(),
    "upper": lambda v: _text(v).upper(),
    "lower": lambda v: _text(v).lower(),
    "no_spaces": lambda v: "".join(_text(v).split()),
    "amount": _amount,
    "decimal": _decimal,
    "integer": _integer,
    "currency": _currency,
    "datetime": _datetime,
    "time": _time_of_day,
}


# The parsing conversions remember their results by input text: parsing costs several dict
# look-ups, and a file repeats the same dates and currencies (and an entry's amount in its
# transaction) over and over. A table holds at most MEMO_LIMIT texts, then starts afresh.
MEMO_LIMIT = 512
_MEMOS: dict[Converter, dict[str, Value]] = {
    convert: {}
    for convert in (_amount, _decimal, _integer, _currency, _iso_date, _datetime, _time_of_day)
}


def memo_for(convert: Converter) -> dict[str, Value] | None:
    """The results of `convert` by input text (shared by every use of it), if it keeps them;
    the generated code reads and fills it (only with str inputs: equal Decimals can differ in
    how they are written)."""
    return _MEMOS.get(convert)


def converter(name: str, *, date_formats: Sequence[str] = ()) -> Converter:
    """The conversion called `name` in a mapping file (`date_formats` only affect `date`)."""
    if name == "date":
        return _formatted_date(tuple(date_formats)) if date_formats else _iso_date
    return _SIMPLE[name]


@dataclass(frozen=True, slots=True)
class CodeMap:
    """`map` (+ `otherwise`) or `one_of`: a code list that translates or just checks codes."""

    table: Mapping[str, str]
    otherwise: str | None  # result for codes not in the table and for no code at all

    def __call__(self, value: Value | None) -> Value | None:
        if value is None:
            return self.otherwise
        found = self.table.get(value if value.__class__ is str else _text(value))
        if found is not None:
            return found
        if self.otherwise is not None:
            return self.otherwise
        raise ConversionError(f"must be {_alternatives(list(self.table))}")


def _alternatives(codes: list[str]) -> str:
    if len(codes) == 1:
        return codes[0]
    return ", ".join(codes[:-1]) + " or " + codes[-1]
