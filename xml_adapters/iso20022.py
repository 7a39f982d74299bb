"""ISO 20022 helpers: the message type from a root namespace, amounts, dates, account ids."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
_NAMESPACE = re.compile(
    re.escape(NAMESPACE_PREFIX) + r"(?P<family>[a-z]{4}\.\d{3})\.(?P<version>\d{3}\.\d{2})"
)
# ActiveOrHistoricCurrencyAndAmount: non-negative, at most 5 fractional digits.
AMOUNT_PATTERN = r"[0-9]{1,18}(?:\.[0-9]{1,5})?"
_AMOUNT = re.compile(AMOUNT_PATTERN)
_ZONE = r"(?P<zone>Z|[+-][0-9]{2}:[0-9]{2})?"
_XS_DATE = re.compile(r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})" + _ZONE)
# xs:dateTime needs seconds; ISO 20022 exports without them (13:15) are accepted too.
_XS_DATETIME = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?P<fraction>\.[0-9]+)?)?" + _ZONE
)
_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True, slots=True)
class MessageType:
    """An ISO 20022 message definition read from a document's root namespace."""

    namespace: str  # urn:iso:std:iso:20022:tech:xsd:camt.054.001.08
    family: str  # camt.054
    version: str  # 001.08

    @property
    def name(self) -> str:
        """The message definition identifier, e.g. `camt.054.001.08`."""
        return f"{self.family}.{self.version}"


def message_type(root_tag: str) -> MessageType | None:
    """The message type of a `{urn:iso:std:iso:20022:tech:xsd:...}Document` root, else None."""
    if not root_tag.startswith("{"):
        return None
    namespace, _, local = root_tag[1:].partition("}")
    match = _NAMESPACE.fullmatch(namespace)
    if local != "Document" or match is None:
        return None
    return MessageType(namespace, match["family"], match["version"])


def parse_amount(text: str) -> Decimal:
    """A camt amount (`1234.56`: no sign, no grouping, `.` as decimal mark) or ValueError."""
    if not _AMOUNT.fullmatch(text):
        raise ValueError(text)
    return Decimal(text)


def parse_date(text: str) -> date:
    """The calendar date of an ISODate, i.e. any lexical xs:date: `2024-01-31`, with or without
    a zone (`2024-01-31Z`, `2024-01-31+02:00`); ValueError otherwise.

    The date is kept as written: `2017-04-01+02:00` is the first of April where the bank is.
    """
    match = _XS_DATE.fullmatch(text)
    if match is None or not _zone_ok(match["zone"]):
        raise ValueError(text)
    return date.fromisoformat(match["date"])


def parse_datetime_date(text: str) -> date:
    """The calendar date, as written (in the offset given, not UTC), of an ISODateTime: any
    lexical xs:dateTime (`2024-01-31T13:15:00`, fractions of a second, `Z` or `+01:00`, and
    `24:00:00`, the end of the day, which is the next day) or ValueError."""
    match = _XS_DATETIME.fullmatch(text)
    if match is None or not _zone_ok(match["zone"]):
        raise ValueError(text)
    day = date.fromisoformat(match["date"])
    hour, minute, second = int(match["hour"]), int(match["minute"]), match["second"] or "00"
    end_of_day = minute == 0 and int(second) == 0 and not (match["fraction"] or "").strip(".0")
    if hour == 24 and end_of_day:
        return day + timedelta(days=1)
    if hour > 23 or minute > 59 or int(second) > 59:
        raise ValueError(text)
    return day


def _zone_ok(zone: str | None) -> bool:
    """An xs time-zone: absent, `Z`, or +/-hh:mm from -14:00 to +14:00."""
    if zone is None or zone == "Z":
        return True
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    return minutes < 60 and (hours < 14 or (hours == 14 and minutes == 0))


def is_currency(text: str) -> bool:
    """Whether `text` has the shape of an ISO 4217 code."""
    return _CURRENCY.fullmatch(text) is not None


def normalise_account(text: str) -> str:
    """An account identifier without spaces, upper case (`nl91 abna ...` -> `NL91ABNA...`)."""
    return "".join(text.split()).upper()
